package capture

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Proto is the transport protocol of a Datagram.
type Proto uint8

// Transport protocols, by their IP protocol numbers.
const (
	TCP  Proto = 6
	UDP  Proto = 17
	SCTP Proto = 132
)

func (p Proto) String() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	case SCTP:
		return "sctp"
	}
	return "unknown"
}

// Flags say how a Datagram reached us.
type Flags uint8

const (
	Fragmented Flags = 1 << iota // reassembled from IP fragments
	Tunnelled                    // unwrapped from GRE, ERSPAN or IP-in-IP
	VLAN                         // carried an 802.1Q tag
	TCPGap                       // a TCP stream lost bytes before this message
)

// Datagram is one transport payload: a UDP datagram, a SIP message
// reassembled from a TCP stream, or an SCTP data chunk.
type Datagram struct {
	Time     time.Time
	Src, Dst netip.AddrPort
	Proto    Proto
	Flags    Flags
	Payload  []byte // valid only during the handler call
}

// Handler receives each Datagram; it must not keep d or its Payload.
type Handler func(d *Datagram)

// Stats counts what the decoder has seen. Counters only grow.
type Stats struct {
	Packets      uint64 // link-layer frames given to Decode
	Malformed    uint64 // frames cut short or with impossible headers
	NotIP        uint64 // frames carrying neither IPv4 nor IPv6
	Tunnelled    uint64 // frames unwrapped from GRE, ERSPAN or IP-in-IP
	Fragments    uint64 // IP fragments seen
	Reassembled  uint64 // datagrams rebuilt from fragments
	FragDropped  uint64 // fragment sets given up (timeout, overlap, limits)
	TCPSegments  uint64
	TCPMessages  uint64 // SIP messages framed from TCP streams
	TCPGaps      uint64 // holes in TCP streams skipped over
	TCPDropped   uint64 // bytes dropped from over-long or non-SIP buffers
	SCTPChunks   uint64 // SCTP DATA chunks delivered
	WebSocket    uint64 // segments of SIP-over-WebSocket streams (counted, not decoded)
	OtherProto   uint64 // IP payloads of other protocols (ICMP, ESP…)
	FlowsEvicted uint64 // TCP or fragment state evicted by the bounds
}

// Config bounds the decoder's state; a zero field takes the default.
type Config struct {
	MaxFragSets    int           // IP datagrams being reassembled at once (default 4096)
	FragTimeout    time.Duration // default 30 s
	MaxTCPFlows    int           // TCP streams followed at once (default 4096)
	MaxTCPBuffer   int           // bytes buffered per stream (default 256 KiB)
	TCPIdleTimeout time.Duration // default 5 min
}

func (c *Config) setDefaults() {
	if c.MaxFragSets == 0 {
		c.MaxFragSets = 4096
	}
	if c.FragTimeout == 0 {
		c.FragTimeout = 30 * time.Second
	}
	if c.MaxTCPFlows == 0 {
		c.MaxTCPFlows = 4096
	}
	if c.MaxTCPBuffer == 0 {
		c.MaxTCPBuffer = 256 << 10
	}
	if c.TCPIdleTimeout == 0 {
		c.TCPIdleTimeout = 5 * time.Minute
	}
}

// Decoder unwraps frames into Datagrams. It is not safe for concurrent use.
type Decoder struct {
	cfg   Config
	stats Stats
	frag  fragTable
	tcp   tcpTable
	d     Datagram // reused for every delivery
	h     Handler
	now   time.Time
}

// NewDecoder returns a decoder with the given bounds.
func NewDecoder(cfg Config) *Decoder {
	cfg.setDefaults()
	dec := &Decoder{cfg: cfg}
	dec.frag.init(cfg)
	dec.tcp.init(cfg)
	return dec
}

// Stats returns the counters so far.
func (dec *Decoder) Stats() Stats { return dec.stats }

// Decode unwraps one frame of the given link type and calls h for each
// payload found in it (none, one, or several for TCP and SCTP).
func (dec *Decoder) Decode(link layers.LinkType, frame []byte, ts time.Time, h Handler) {
	dec.stats.Packets++
	dec.h, dec.now = h, ts
	dec.frag.expire(ts, &dec.stats)
	switch link {
	case layers.LinkTypeEthernet:
		dec.ethernet(frame, 0)
	case layers.LinkTypeLinuxSLL: // 16-byte header, protocol at 14
		if len(frame) < 16 {
			dec.stats.Malformed++
			return
		}
		dec.ethertype(binary.BigEndian.Uint16(frame[14:]), frame[16:], 0)
	case layers.LinkTypeLinuxSLL2: // 20-byte header, protocol at 0
		if len(frame) < 20 {
			dec.stats.Malformed++
			return
		}
		dec.ethertype(binary.BigEndian.Uint16(frame[0:]), frame[20:], 0)
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, 12, 14:
		dec.ip(frame, 0)
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		// BSD loopback: a 4-byte address family, in the capturing host's
		// order for NULL and big-endian for LOOP. IPv4 is 2; IPv6 is 24,
		// 28 or 30 depending on the BSD.
		if len(frame) < 4 {
			dec.stats.Malformed++
			return
		}
		fam := binary.LittleEndian.Uint32(frame)
		if fam > 0xffff {
			fam = binary.BigEndian.Uint32(frame)
		}
		switch fam {
		case 2, 24, 28, 30:
			dec.ip(frame[4:], 0)
		default:
			dec.stats.NotIP++
		}
	default:
		dec.stats.NotIP++
	}
}

func (dec *Decoder) ethernet(b []byte, flags Flags) {
	if len(b) < 14 {
		dec.stats.Malformed++
		return
	}
	dec.ethertype(binary.BigEndian.Uint16(b[12:]), b[14:], flags)
}

// ethertype follows VLAN tags (802.1Q, 802.1ad QinQ) to an IP header.
func (dec *Decoder) ethertype(et uint16, b []byte, flags Flags) {
	for et == 0x8100 || et == 0x88a8 || et == 0x9100 {
		if len(b) < 4 {
			dec.stats.Malformed++
			return
		}
		flags |= VLAN
		et, b = binary.BigEndian.Uint16(b[2:]), b[4:]
	}
	switch et {
	case 0x0800, 0x86dd:
		dec.ip(b, flags)
	case 0x8864: // PPPoE session (RFC 2516): 6-byte header, then PPP protocol
		if len(b) < 8 {
			dec.stats.Malformed++
			return
		}
		switch binary.BigEndian.Uint16(b[6:]) {
		case 0x0021, 0x0057: // IPv4, IPv6
			dec.ip(b[8:], flags)
		default:
			dec.stats.NotIP++
		}
	case 0x8847, 0x8848: // MPLS: labels until bottom-of-stack, then IP
		for {
			if len(b) < 4 {
				dec.stats.Malformed++
				return
			}
			bottom := b[2]&1 != 0
			b = b[4:]
			if bottom {
				break
			}
		}
		dec.ip(b, flags)
	default:
		dec.stats.NotIP++
	}
}

// ip dispatches on the version nibble.
func (dec *Decoder) ip(b []byte, flags Flags) {
	if len(b) == 0 {
		dec.stats.Malformed++
		return
	}
	switch b[0] >> 4 {
	case 4:
		dec.ipv4(b, flags)
	case 6:
		dec.ipv6(b, flags)
	default:
		dec.stats.NotIP++
	}
}

func (dec *Decoder) ipv4(b []byte, flags Flags) {
	if len(b) < 20 {
		dec.stats.Malformed++
		return
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:]))
	if ihl < 20 || total < ihl || len(b) < ihl {
		dec.stats.Malformed++
		return
	}
	if total < len(b) {
		b = b[:total] // Ethernet padding
	}
	// A frame cut short by the capture's snap length keeps what it has.
	src := netip.AddrFrom4([4]byte(b[12:16]))
	dst := netip.AddrFrom4([4]byte(b[16:20]))
	proto := b[9]
	fragField := binary.BigEndian.Uint16(b[6:])
	more, offset := fragField&0x2000 != 0, int(fragField&0x1fff)*8
	payload := b[ihl:]
	if more || offset != 0 {
		dec.stats.Fragments++
		key := fragKey{src: src, dst: dst, id: uint32(binary.BigEndian.Uint16(b[4:])), proto: proto}
		whole, ok := dec.frag.add(key, offset, more, payload, dec.now, &dec.stats)
		if !ok {
			return
		}
		dec.stats.Reassembled++
		dec.transport(proto, src, dst, whole, flags|Fragmented)
		return
	}
	dec.transport(proto, src, dst, payload, flags)
}

func (dec *Decoder) ipv6(b []byte, flags Flags) {
	if len(b) < 40 {
		dec.stats.Malformed++
		return
	}
	plen := int(binary.BigEndian.Uint16(b[4:]))
	if 40+plen < len(b) {
		b = b[:40+plen]
	}
	src := netip.AddrFrom16([16]byte(b[8:24]))
	dst := netip.AddrFrom16([16]byte(b[24:40]))
	next, p := b[6], b[40:]
	// Extension headers (RFC 8200 section 4).
ext:
	for {
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(p) < 8 {
				dec.stats.Malformed++
				return
			}
			n := 8 + int(p[1])*8
			if len(p) < n {
				dec.stats.Malformed++
				return
			}
			next, p = p[0], p[n:]
			continue
		case 51: // authentication header: length in 4-octet units, minus 2
			if len(p) < 8 {
				dec.stats.Malformed++
				return
			}
			n := (int(p[1]) + 2) * 4
			if len(p) < n {
				dec.stats.Malformed++
				return
			}
			next, p = p[0], p[n:]
			continue
		case 44: // fragment
			if len(p) < 8 {
				dec.stats.Malformed++
				return
			}
			dec.stats.Fragments++
			field := binary.BigEndian.Uint16(p[2:])
			offset, more := int(field&0xfff8), field&1 != 0
			key := fragKey{src: src, dst: dst, id: binary.BigEndian.Uint32(p[4:]), proto: p[0], v6: true}
			whole, ok := dec.frag.add(key, offset, more, p[8:], dec.now, &dec.stats)
			if !ok {
				return
			}
			dec.stats.Reassembled++
			dec.transport(p[0], src, dst, whole, flags|Fragmented)
			return
		default:
			break ext
		}
	}
	dec.transport(next, src, dst, p, flags)
}

// transport handles the IP payload: UDP, TCP, SCTP, or a tunnel.
func (dec *Decoder) transport(proto uint8, src, dst netip.Addr, b []byte, flags Flags) {
	switch proto {
	case 17:
		if len(b) < 8 {
			dec.stats.Malformed++
			return
		}
		if n := int(binary.BigEndian.Uint16(b[4:])); n >= 8 && n < len(b) {
			b = b[:n]
		}
		dec.deliver(src, dst, binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:]), UDP, flags, b[8:])
	case 6:
		dec.tcpSegment(src, dst, b, flags)
	case 132:
		dec.sctp(src, dst, b, flags)
	case 4, 41: // IP-in-IP, IPv6-in-IP
		dec.stats.Tunnelled++
		dec.ip(b, flags|Tunnelled)
	case 47:
		dec.gre(b, flags|Tunnelled)
	default:
		dec.stats.OtherProto++
	}
}

func (dec *Decoder) deliver(src, dst netip.Addr, sport, dport uint16, proto Proto, flags Flags, payload []byte) {
	d := &dec.d
	d.Time = dec.now
	d.Src = netip.AddrPortFrom(src, sport)
	d.Dst = netip.AddrPortFrom(dst, dport)
	d.Proto, d.Flags, d.Payload = proto, flags, payload
	dec.h(d)
}

// gre unwraps GRE (RFC 2784/2890) and the ERSPAN types it carries.
func (dec *Decoder) gre(b []byte, flags Flags) {
	if len(b) < 4 {
		dec.stats.Malformed++
		return
	}
	dec.stats.Tunnelled++
	fl := b[0]
	proto := binary.BigEndian.Uint16(b[2:])
	n := 4
	if fl&0x80 != 0 { // checksum present
		n += 4
	}
	if fl&0x20 != 0 { // key present
		n += 4
	}
	seq := fl&0x10 != 0
	if seq {
		n += 4
	}
	if len(b) < n {
		dec.stats.Malformed++
		return
	}
	b = b[n:]
	switch proto {
	case 0x0800, 0x86dd:
		dec.ip(b, flags)
	case 0x6558: // transparent Ethernet bridging
		dec.ethernet(b, flags)
	case 0x88be: // ERSPAN type II (8-byte header); type I has no sequence number and no header
		if seq {
			if len(b) < 8 {
				dec.stats.Malformed++
				return
			}
			b = b[8:]
		}
		dec.ethernet(b, flags)
	case 0x22eb: // ERSPAN type III: 12-byte header, then an 8-byte platform subheader if O is set
		if len(b) < 12 {
			dec.stats.Malformed++
			return
		}
		h := 12
		if b[11]&0x01 != 0 {
			h += 8
		}
		if len(b) < h {
			dec.stats.Malformed++
			return
		}
		dec.ethernet(b[h:], flags)
	default:
		dec.stats.NotIP++
	}
}

// sctp delivers the user data of each DATA chunk (RFC 9260 section 3.3.1);
// SIP over SCTP carries one message per chunk.
func (dec *Decoder) sctp(src, dst netip.Addr, b []byte, flags Flags) {
	if len(b) < 12 {
		dec.stats.Malformed++
		return
	}
	sport, dport := binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
	for c := b[12:]; len(c) >= 4; {
		typ, n := c[0], int(binary.BigEndian.Uint16(c[2:]))
		if n < 4 || n > len(c) {
			dec.stats.Malformed++
			return
		}
		if typ == 0 && n > 16 {
			dec.stats.SCTPChunks++
			dec.deliver(src, dst, sport, dport, SCTP, flags, c[16:n])
		}
		n = (n + 3) &^ 3
		if n > len(c) {
			return
		}
		c = c[n:]
	}
}

// Add returns the sum of two sets of counters: the totals of several
// decoders, one per capture interface.
func (s Stats) Add(o Stats) Stats {
	s.Packets += o.Packets
	s.Malformed += o.Malformed
	s.NotIP += o.NotIP
	s.Tunnelled += o.Tunnelled
	s.Fragments += o.Fragments
	s.Reassembled += o.Reassembled
	s.FragDropped += o.FragDropped
	s.TCPSegments += o.TCPSegments
	s.TCPMessages += o.TCPMessages
	s.TCPGaps += o.TCPGaps
	s.TCPDropped += o.TCPDropped
	s.SCTPChunks += o.SCTPChunks
	s.WebSocket += o.WebSocket
	s.OtherProto += o.OtherProto
	s.FlowsEvicted += o.FlowsEvicted
	return s
}
