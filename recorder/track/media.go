package track

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"time"

	"callrec/recorder/capture"
	"callrec/recorder/sip"
)

// side is one end of a leg.
type side uint8

const (
	callerSide side = 1
	calleeSide side = 2
)

func other(s side) side { return 3 - s }

// mediaRef says which stream an address belongs to and which side
// receives there.
type mediaRef struct {
	stream   *Stream
	receiver side
}

// mediaOffer is one audio m= line of an SDP body, or a video marker.
type mediaOffer = sip.Media

// sdp applies the SDP in m, if any, as what side s offers or answers, on
// the leg of m's Call-ID.
func (t *Tracker) sdp(c *Call, m *message, s side) {
	t.sdpLeg(c.legFor(m), m, s)
}

func (t *Tracker) sdpLeg(l *Leg, m *message, s side) {
	if media := t.parseSDP(l.call, m); media != nil {
		t.applySDP(l, s, media)
	}
}

// parseSDP returns the m= lines of a message's SDP, or nil without one.
func (t *Tracker) parseSDP(c *Call, m *message) []mediaOffer {
	body := m.SDP()
	if body == nil {
		return nil
	}
	s, err := sip.ParseSDP(body)
	if err != nil {
		t.stats.SDPErrors++
		c.flag("sdp_error")
		return nil
	}
	if s.HasVideo() {
		c.Video = true
	}
	if len(s.Media) == 0 {
		return nil
	}
	return s.Media
}

// applySDP sets where side s receives each audio stream. Audio lines are
// matched to streams in order; video and other media are not recorded.
func (t *Tracker) applySDP(l *Leg, s side, media []mediaOffer) {
	c := l.call
	n := 0
	for _, md := range media {
		if md.Type != "audio" {
			continue
		}
		if n == len(l.Media) {
			l.Media = append(l.Media, &Stream{Index: n, leg: l, pts: map[uint8]string{}, Codecs: []string{}})
		}
		st := l.Media[n]
		n++
		wasHeld := st.Held
		addr := md.Addr
		dir := md.Direction
		if addr.Port() == 0 {
			dir = sip.Inactive // a refused or removed stream
		}
		if addr.Addr().IsUnspecified() {
			dir = sip.Inactive // old-style hold: c=0.0.0.0 (RFC 2543)
		}
		changed := false
		if s == callerSide {
			changed = st.CallerAddr != addr
			t.unmap(st.CallerAddr, st)
			st.CallerAddr, st.callerDir = addr, dir
		} else {
			changed = st.CalleeAddr != addr
			t.unmap(st.CalleeAddr, st)
			st.CalleeAddr, st.calleeDir = addr, dir
		}
		if addr.Port() != 0 && !addr.Addr().IsUnspecified() {
			t.media[addr] = mediaRef{stream: st, receiver: s}
		}
		for i, cd := range md.Codecs {
			st.pts[cd.PT] = cd.Name
			if st.rates == nil {
				st.rates = map[uint8]sip.Codec{}
			}
			st.rates[cd.PT] = cd
			if !containsStr(st.Codecs, cd.Name) {
				st.Codecs = append(st.Codecs, cd.Name)
			}
			if i == 0 && s == calleeSide && st.answerCodec != cd.Name {
				// The answer's first codec is what flows; a change of it
				// (a re-INVITE to another codec) is a media change.
				changed = changed || st.answerCodec != ""
				st.answerCodec = cd.Name
			}
		}
		if len(md.Crypto) > 0 {
			st.Crypto = true
			st.keys[s-1] = md.Crypto
			c.flag("srtp")
		}
		// Hold is a change of direction after the call was answered (RFC
		// 6337 section 5.3); a stream one-way from the start (an
		// announcement) is not on hold.
		if st.answered {
			st.Held = st.callerDir != sip.SendRecv || st.calleeDir != sip.SendRecv
		} else if c.state == stateConfirmed && st.CallerAddr.IsValid() && st.CalleeAddr.IsValid() {
			st.answered = true
		}
		switch {
		case st.Held && !wasHeld:
			c.flag("hold")
			t.emit(Event{Kind: Held, Time: t.now, Call: c, Stream: st})
		case !st.Held && wasHeld:
			t.emit(Event{Kind: Resumed, Time: t.now, Call: c, Stream: st})
		}
		if changed {
			t.emit(Event{Kind: MediaChanged, Time: t.now, Call: c, Stream: st})
		}
	}
}

// addr is where side s of the stream receives.
func (st *Stream) addr(s side) netip.AddrPort {
	if s == callerSide {
		return st.CallerAddr
	}
	return st.CalleeAddr
}

func (t *Tracker) unmap(a netip.AddrPort, st *Stream) {
	if r, ok := t.media[a]; ok && r.stream == st {
		delete(t.media, a)
	}
}

func containsStr(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// rtp counts a UDP datagram that is not SIP: RTP of a known stream, RTCP,
// or a candidate for an unannounced stream.
func (t *Tracker) rtp(d *capture.Datagram) {
	p := d.Payload
	if len(p) < 12 || p[0]>>6 != 2 {
		t.stats.NotRTP++
		return
	}
	if p[1] >= 200 && p[1] <= 204 { // RTCP SR, RR, SDES, BYE, APP (RFC 3550)
		t.stats.RTCPPackets++
		return
	}
	ref, ok := t.media[d.Dst]
	toward := ref.receiver
	if ok {
		// Where one address serves several calls at once (a media server,
		// an echo), the sender's address tells them apart: prefer the
		// stream whose other side is the sender.
		if peer := ref.stream.addr(other(ref.receiver)); peer.IsValid() && peer != d.Src {
			if r2, ok2 := t.media[d.Src]; ok2 && r2.stream.addr(other(r2.receiver)) == d.Dst {
				ref, toward = r2, other(r2.receiver)
			}
		}
	} else if ref, ok = t.media[d.Src]; ok {
		// Symmetric RTP: a side sends from where it receives.
		toward = other(ref.receiver)
	}
	if !ok {
		t.candidate(d)
		return
	}
	st := ref.stream
	c := st.leg.call
	if c.state == stateEnded {
		t.stats.RTPLate++
		return
	}
	t.stats.RTPPackets++
	c.lastActivity = t.now
	if toward == calleeSide {
		st.CallerToCallee++
	} else {
		st.CalleeToCaller++
	}
	pt := p[1] & 0x7f
	st.seenPT[pt>>6] |= 1 << (pt & 63)
	if st.pts[pt] == "TELEPHONE-EVENT" {
		t.telephoneEvent(st, p)
		return
	}
	if t.cfg.OnRTP != nil {
		t.cfg.OnRTP(st, toward == calleeSide, d)
	}
}

// telephoneEvent reports a DTMF digit from an RFC 4733 packet once, at
// the first packet of the event (section 2.5.1.2: one timestamp per event).
func (t *Tracker) telephoneEvent(st *Stream, p []byte) {
	off := 12 + 4*int(p[0]&0x0f)
	if p[0]&0x10 != 0 { // header extension
		if len(p) < off+4 {
			return
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(p[off+2:]))
	}
	if len(p) < off+4 {
		return
	}
	ts := binary.BigEndian.Uint32(p[4:])
	if st.dtmfAny && ts == st.lastDTMF {
		return
	}
	event := p[off]
	const digits = "0123456789*#ABCD"
	if int(event) >= len(digits) {
		return // flash and tones are not digits
	}
	st.lastDTMF, st.dtmfAny = ts, true
	t.emit(Event{Kind: DTMF, Time: t.now, Call: st.leg.call, Stream: st, Digit: string(digits[event]), Detail: "rfc4733"})
}

// supported are the codecs the audio pipeline decodes.
var supported = map[string]bool{
	"PCMU": true, "PCMA": true, "G722": true, "OPUS": true, "L16": true,
	"TELEPHONE-EVENT": true, "CN": true,
}

// unsupportedCodecs flags audio codecs seen on the wire that the pipeline
// cannot decode; that side of the recording will be silent.
func (c *Call) unsupportedCodecs() {
	for _, l := range c.Legs {
		for _, st := range l.Media {
			for pt := 0; pt < 128; pt++ {
				if st.seenPT[pt>>6]&(1<<(pt&63)) == 0 {
					continue
				}
				name, ok := st.pts[uint8(pt)]
				if !ok {
					if sc, found := sip.StaticCodec(uint8(pt)); found {
						name = sc.Name
					} else {
						name = "PT" + itoa(pt)
					}
				}
				if !supported[name] {
					c.flag("unsupported_codec:" + strings.ToLower(name))
				}
			}
		}
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// flowPair is one direction of a UDP flow: source, destination.
type flowPair struct{ src, dst netip.AddrPort }

// candidate is a UDP flow that looks like RTP but that no SDP announced.
type candidate struct {
	ssrc  uint32
	seq   uint16
	good  int // packets continuing the sequence
	first time.Time
	last  time.Time
	src   netip.AddrPort // the first packet's sender: the "caller"
}

// candidateThreshold is how many in-sequence packets make a flow RTP.
const candidateThreshold = 4

// candidate watches unannounced RTP-like flows; one that keeps a sequence
// becomes an unsignalled call, so no audio is ever silently lost.
func (t *Tracker) candidate(d *capture.Datagram) {
	p := d.Payload
	pt := p[1] & 0x7f
	if (pt > 34 && pt < 96) || d.Src.Port() < 1024 || d.Dst.Port() < 1024 {
		t.stats.NotRTP++
		return
	}
	key := flowPair{d.Src, d.Dst}
	f := t.flows[key]
	ssrc, seq := binary.BigEndian.Uint32(p[8:]), binary.BigEndian.Uint16(p[2:])
	if f == nil {
		if len(t.flows) >= t.cfg.MaxCandidates {
			t.dropOldestCandidate()
		}
		t.stats.Candidates++
		t.flows[key] = &candidate{ssrc: ssrc, seq: seq, first: t.now, last: t.now, src: d.Src}
		t.order = append(t.order, key)
		return
	}
	f.last = t.now
	if ssrc == f.ssrc && seq-f.seq >= 1 && seq-f.seq <= 3 {
		f.good++
	}
	f.ssrc, f.seq = ssrc, seq
	if f.good < candidateThreshold {
		return
	}
	delete(t.flows, key)
	back := t.flows[flowPair{d.Dst, d.Src}]
	delete(t.flows, flowPair{d.Dst, d.Src})
	t.unsignalled(f, back, d)
}

// unsignalled makes a call for an unannounced RTP flow; back is the
// candidate of the reverse direction, if it was being watched too.
func (t *Tracker) unsignalled(f, back *candidate, d *capture.Datagram) {
	t.stats.CallsStarted++
	callee := d.Dst
	if d.Dst == f.src {
		callee = d.Src
	}
	c := &Call{
		ID:         callHash("rtp:"+f.src.String()+"-"+callee.String(), f.first),
		Start:      Time{f.first},
		Direction:  Unknown,
		Flags:      []string{"unsignalled", "capture_integrity"},
		Numbers:    []string{},
		SIPCallIDs: []string{},
		state:      stateConfirmed,
	}
	c.ConversationID = c.ID
	c.Answered = c.Start
	c.lastActivity = t.now
	l := &Leg{call: c, Caller: f.src, Callee: callee, early: map[string][]mediaOffer{}}
	st := &Stream{leg: l, pts: map[uint8]string{}, CallerAddr: f.src, CalleeAddr: callee, Codecs: []string{}}
	pt := d.Payload[1] & 0x7f
	if sc, ok := sip.StaticCodec(pt); ok {
		st.pts[pt] = sc.Name
		st.Codecs = append(st.Codecs, sc.Name)
	}
	// The packets that proved the flow count too.
	st.CallerToCallee = uint64(f.good + 1)
	if back != nil {
		st.CalleeToCaller = uint64(back.good + 1)
		if back.first.Before(f.first) {
			c.Start, c.Answered = Time{back.first}, Time{back.first}
		}
	}
	l.Media = []*Stream{st}
	c.Legs = []*Leg{l}
	t.media[f.src] = mediaRef{stream: st, receiver: callerSide}
	t.media[callee] = mediaRef{stream: st, receiver: calleeSide}
	t.admit(c)
	t.emit(Event{Kind: CallStarted, Time: t.now, Call: c})
	t.emit(Event{Kind: MediaChanged, Time: t.now, Call: c, Stream: st})
}

// dropOldestCandidate forgets the earliest candidate still watched: O(1)
// amortised, so a flood of junk flows costs no more per packet than one.
func (t *Tracker) dropOldestCandidate() {
	for len(t.order) > 0 {
		k := t.order[0]
		t.order = t.order[1:]
		if _, ok := t.flows[k]; ok {
			delete(t.flows, k)
			t.stats.DroppedFlows++
			return
		}
	}
}

// expireCandidates forgets flows that went quiet before proving themselves.
func (t *Tracker) expireCandidates() {
	for k, f := range t.flows {
		if t.now.Sub(f.last) > 5*time.Second {
			delete(t.flows, k)
		}
	}
	// Forget the arrival order of flows no longer watched.
	if len(t.order) > 2*len(t.flows)+64 {
		keep := t.order[:0]
		for _, k := range t.order {
			if _, ok := t.flows[k]; ok {
				keep = append(keep, k)
			}
		}
		t.order = append([]flowPair(nil), keep...)
	}
}
