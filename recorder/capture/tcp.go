package capture

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"time"
)

// TCP stream reassembly for SIP (RFC 3261 section 18.3: messages on a
// stream are framed by Content-Length). Only streams that carry SIP are
// buffered; WebSocket streams are counted; anything else (TLS on 5061,
// HTTP) is ignored after its first segment. Every buffer is bounded.

type flowKey struct{ src, dst netip.AddrPort }

type flowKind uint8

const (
	flowUnknown flowKind = iota
	flowSIP
	flowWebSocket
	flowOther
)

// maxHeldSegments bounds the out-of-order segments held per stream.
const maxHeldSegments = 64

type segment struct {
	seq  uint32
	data []byte
}

type tcpFlow struct {
	kind   flowKind
	synced bool   // next is known
	next   uint32 // sequence number of the next byte expected
	buf    []byte // in-order bytes not yet framed
	ooo    []segment
	oooLen int
	gap    bool // bytes were lost before what is in buf
	last   time.Time
}

type tcpTable struct {
	cfg       Config
	flows     map[flowKey]*tcpFlow
	lastSweep time.Time
}

func (t *tcpTable) init(cfg Config) {
	t.cfg = cfg
	t.flows = make(map[flowKey]*tcpFlow)
}

func (dec *Decoder) tcpSegment(src, dst netip.Addr, b []byte, flags Flags) {
	if len(b) < 20 {
		dec.stats.Malformed++
		return
	}
	off := int(b[12]>>4) * 4
	if off < 20 || off > len(b) {
		dec.stats.Malformed++
		return
	}
	dec.stats.TCPSegments++
	key := flowKey{netip.AddrPortFrom(src, binary.BigEndian.Uint16(b)), netip.AddrPortFrom(dst, binary.BigEndian.Uint16(b[2:]))}
	seq := binary.BigEndian.Uint32(b[4:])
	tf := b[13]
	syn, fin, rst := tf&0x02 != 0, tf&0x01 != 0, tf&0x04 != 0
	payload := b[off:]
	t := &dec.tcp
	t.sweep(dec.now, &dec.stats)

	f := t.flows[key]
	if f == nil {
		if len(payload) == 0 && !syn {
			return
		}
		if len(t.flows) >= t.cfg.MaxTCPFlows {
			t.evictOldest(&dec.stats)
		}
		f = &tcpFlow{}
		t.flows[key] = f
	}
	f.last = dec.now
	if syn {
		f.next, f.synced = seq+1, true
		f.buf, f.ooo, f.oooLen = f.buf[:0], f.ooo[:0], 0
		seq++
	}
	if len(payload) > 0 {
		dec.tcpData(key, f, seq, payload, flags)
	}
	if fin || rst {
		delete(t.flows, key)
	}
}

func (dec *Decoder) tcpData(key flowKey, f *tcpFlow, seq uint32, payload []byte, flags Flags) {
	switch f.kind {
	case flowWebSocket:
		dec.stats.WebSocket++
		return
	case flowOther:
		return
	}
	if !f.synced {
		f.next, f.synced = seq, true
	}
	diff := int32(seq - f.next)
	if diff < 0 { // retransmission, or overlap with what we have
		if int(-diff) >= len(payload) {
			return
		}
		payload = payload[-diff:]
		diff = 0
	}
	if diff > 0 { // a hole before this segment: hold it until filled
		f.ooo = append(f.ooo, segment{seq, append([]byte(nil), payload...)})
		f.oooLen += len(payload)
		if f.oooLen > dec.cfg.MaxTCPBuffer || len(f.ooo) > maxHeldSegments {
			dec.skipGap(f)
			dec.frame(key, f, flags)
		}
		return
	}
	f.buf = append(f.buf, payload...)
	f.next += uint32(len(payload))
	dec.drainOOO(f)
	dec.frame(key, f, flags)
}

// drainOOO appends held segments that now continue the stream.
func (dec *Decoder) drainOOO(f *tcpFlow) {
	for progress := true; progress && len(f.ooo) > 0; {
		progress = false
		for i := 0; i < len(f.ooo); i++ {
			s := f.ooo[i]
			d := int32(s.seq - f.next)
			if d > 0 {
				continue
			}
			if int(-d) < len(s.data) {
				f.buf = append(f.buf, s.data[-d:]...)
				f.next += uint32(len(s.data) + int(d))
			}
			f.oooLen -= len(s.data)
			f.ooo = append(f.ooo[:i], f.ooo[i+1:]...)
			i--
			progress = true
		}
	}
}

// skipGap gives up on missing bytes: the stream resumes at the earliest
// held segment, and framing resynchronises on the next start line.
func (dec *Decoder) skipGap(f *tcpFlow) {
	if len(f.ooo) == 0 {
		return
	}
	lo := f.ooo[0].seq
	for _, s := range f.ooo[1:] {
		if int32(s.seq-lo) < 0 {
			lo = s.seq
		}
	}
	dec.stats.TCPGaps++
	dec.stats.TCPDropped += uint64(len(f.buf))
	f.buf = f.buf[:0]
	f.next = lo
	f.gap = true
	dec.drainOOO(f)
}

// frame delivers each complete SIP message at the head of the buffer.
// A stream not yet known to be SIP is buffered (up to a bound) until it
// shows a start line, or shows it is something else.
func (dec *Decoder) frame(key flowKey, f *tcpFlow, flags Flags) {
	if f.kind == flowUnknown {
		f.kind = classify(f.buf)
		switch f.kind {
		case flowUnknown:
			return
		case flowWebSocket:
			dec.stats.WebSocket++
			fallthrough
		case flowOther:
			dec.stats.TCPDropped += uint64(len(f.buf))
			f.buf, f.ooo, f.oooLen = nil, nil, 0
			return
		}
	}
	for {
		b := f.buf
		// Keep-alives (RFC 5626 CRLF) and stray bytes before a start line.
		i := sipStart(b)
		if i < 0 {
			if len(b) > dec.cfg.MaxTCPBuffer {
				dec.stats.TCPDropped += uint64(len(b))
				f.buf = f.buf[:0]
			}
			return
		}
		if i > 0 {
			if len(bytes.Trim(b[:i], "\r\n")) > 0 {
				dec.stats.TCPDropped += uint64(i)
			}
			b = b[i:]
		}
		n := messageLength(b)
		if n < 0 {
			if len(b) > dec.cfg.MaxTCPBuffer {
				dec.stats.TCPDropped += uint64(len(b))
				f.buf = f.buf[:0]
			} else {
				f.buf = append(f.buf[:0], b...)
			}
			return
		}
		fl := flags
		if f.gap {
			fl |= TCPGap
			f.gap = false
		}
		dec.stats.TCPMessages++
		dec.deliver(key.src.Addr(), key.dst.Addr(), key.src.Port(), key.dst.Port(), TCP, fl, b[:n])
		f.buf = append(f.buf[:0], b[n:]...)
	}
}

// classifyLimit is how much of an unknown stream is held while waiting for
// a SIP start line (joining mid-stream can mean a long body first).
const classifyLimit = 8 << 10

// classify looks at the start of a stream: SIP, WebSocket, something
// else, or too early to say.
func classify(p []byte) flowKind {
	if sipStart(p) >= 0 {
		return flowSIP
	}
	if bytes.HasPrefix(p, []byte("GET ")) {
		if bytes.Contains(bytes.ToLower(p[:min(len(p), 2048)]), []byte("websocket")) {
			return flowWebSocket
		}
		if bytes.Contains(p, []byte("\r\n\r\n")) {
			return flowOther
		}
	}
	for _, c := range p[:min(len(p), 256)] {
		if c < 0x09 || (c > 0x0d && c < 0x20) || c == 0x7f {
			return flowOther // binary: TLS, or anything but text SIP
		}
	}
	if len(p) > classifyLimit {
		return flowOther
	}
	return flowUnknown
}

// sipStart returns the offset of the first line of b that is a SIP start
// line ("SIP/2.0 200 OK" or "INVITE sip:... SIP/2.0"), or -1.
func sipStart(b []byte) int {
	for off := 0; off < len(b); {
		end := bytes.IndexByte(b[off:], '\n')
		if end < 0 {
			return -1 // the line is not complete yet
		}
		line := bytes.TrimRight(b[off:off+end], "\r")
		if isStartLine(line) {
			return off
		}
		off += end + 1
	}
	return -1
}

var sip20 = []byte("SIP/2.0")

func isStartLine(l []byte) bool {
	if bytes.HasPrefix(l, sip20) {
		return len(l) > 8 && l[7] == ' '
	}
	return len(l) > 12 && bytes.HasSuffix(l, sip20) && l[len(l)-8] == ' ' && bytes.IndexByte(l, ' ') > 0
}

// messageLength returns the length of the SIP message at the start of b
// (headers, blank line, Content-Length bytes of body), or -1 if b does not
// hold all of it yet.
func messageLength(b []byte) int {
	end, sep := bytes.Index(b, []byte("\r\n\r\n")), 4
	if lf := bytes.Index(b, []byte("\n\n")); lf >= 0 && (end < 0 || lf < end) {
		end, sep = lf, 2
	}
	if end < 0 {
		return -1
	}
	n := end + sep + contentLength(b[:end])
	if n > len(b) {
		return -1
	}
	return n
}

// contentLength finds Content-Length (or its compact form "l") in a header
// block; absent or unreadable, it is 0.
func contentLength(h []byte) int {
	for len(h) > 0 {
		i := bytes.IndexByte(h, '\n')
		line := h
		if i >= 0 {
			line, h = h[:i], h[i+1:]
		} else {
			h = nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		name := bytes.TrimSpace(line[:colon])
		if !bytes.EqualFold(name, []byte("content-length")) && !bytes.EqualFold(name, []byte("l")) {
			continue
		}
		n := 0
		for _, c := range bytes.TrimSpace(line[colon+1:]) {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
			if n > 1<<20 {
				return 1 << 20
			}
		}
		return n
	}
	return 0
}

// sweep drops streams idle past the timeout, at most once a second.
func (t *tcpTable) sweep(now time.Time, st *Stats) {
	if now.Sub(t.lastSweep) < time.Second && !now.Before(t.lastSweep) {
		return
	}
	t.lastSweep = now
	for k, f := range t.flows {
		if now.Sub(f.last) > t.cfg.TCPIdleTimeout {
			delete(t.flows, k)
			st.FlowsEvicted++
		}
	}
}

func (t *tcpTable) evictOldest(st *Stats) {
	var oldest flowKey
	var at time.Time
	first := true
	for k, f := range t.flows {
		if first || f.last.Before(at) {
			oldest, at, first = k, f.last, false
		}
	}
	delete(t.flows, oldest)
	st.FlowsEvicted++
}
