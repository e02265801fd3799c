package capture_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"callrec/recorder/capture"
	ct "callrec/recorder/capture/capturetest"
)

var (
	a4 = netip.MustParseAddrPort("192.0.2.1:5060")
	b4 = netip.MustParseAddrPort("198.51.100.2:5062")
	a6 = netip.MustParseAddrPort("[2001:db8::1]:5060")
	b6 = netip.MustParseAddrPort("[2001:db8::2]:5062")
	t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
)

type got struct {
	src, dst netip.AddrPort
	proto    capture.Proto
	flags    capture.Flags
	payload  string
}

func decodeAll(link layers.LinkType, frames ...[]byte) ([]got, capture.Stats) {
	dec := capture.NewDecoder(capture.Config{})
	var out []got
	for i, f := range frames {
		dec.Decode(link, f, t0.Add(time.Duration(i)*time.Millisecond), func(d *capture.Datagram) {
			out = append(out, got{d.Src, d.Dst, d.Proto, d.Flags, string(d.Payload)})
		})
	}
	return out, dec.Stats()
}

func TestDecapsulation(t *testing.T) {
	payload := []byte("hello over the wire")
	ip4 := ct.IP(a4.Addr(), b4.Addr(), 17, ct.UDP(a4.Port(), b4.Port(), payload))
	ip6 := ct.IP(a6.Addr(), b6.Addr(), 17, ct.UDP(a6.Port(), b6.Port(), payload))
	outer := netip.MustParseAddr("203.0.113.9")
	sll := append([]byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00}, ip4...)
	sll2 := append([]byte{0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0}, ip4...)
	null := append([]byte{2, 0, 0, 0}, ip4...)
	null6 := append([]byte{30, 0, 0, 0}, ip6...)
	// IPv6 with a hop-by-hop and a destination-options header before UDP.
	ext := append([]byte{60, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0}, ct.UDP(a6.Port(), b6.Port(), payload)...)
	ip6ext := ct.IP(a6.Addr(), b6.Addr(), 0, ext)
	pppoe := append([]byte{0x11, 0, 0, 1, 0, 0, 0x00, 0x21}, ip4...)

	tests := []struct {
		name  string
		link  layers.LinkType
		frame []byte
		src   netip.AddrPort
		flags capture.Flags
	}{
		{"ethernet ipv4", layers.LinkTypeEthernet, ct.Ethernet(ip4), a4, 0},
		{"ethernet ipv6", layers.LinkTypeEthernet, ct.Ethernet(ip6), a6, 0},
		{"802.1Q", layers.LinkTypeEthernet, ct.Ethernet(ip4, 100), a4, capture.VLAN},
		{"QinQ", layers.LinkTypeEthernet, ct.Ethernet(ip4, 200, 100), a4, capture.VLAN},
		{"ipv6 extension headers", layers.LinkTypeEthernet, ct.Ethernet(ip6ext), a6, 0},
		{"linux cooked", layers.LinkTypeLinuxSLL, sll, a4, 0},
		{"linux cooked v2", layers.LinkTypeLinuxSLL2, sll2, a4, 0},
		{"raw ip", layers.LinkTypeRaw, ip4, a4, 0},
		{"bsd loopback", layers.LinkTypeNull, null, a4, 0},
		{"bsd loopback ipv6", layers.LinkTypeNull, null6, a6, 0},
		{"ip-in-ip", layers.LinkTypeEthernet, ct.Ethernet(ct.IP(outer, outer, 4, ip4)), a4, capture.Tunnelled},
		{"ipv6-in-ipv4", layers.LinkTypeEthernet, ct.Ethernet(ct.IP(outer, outer, 41, ip6)), a6, capture.Tunnelled},
		{"gre", layers.LinkTypeEthernet, ct.Ethernet(ct.IP(outer, outer, 47, ct.GRE(0x0800, 0, ip4))), a4, capture.Tunnelled},
		{"erspan II", layers.LinkTypeEthernet, ct.Ethernet(ct.IP(outer, outer, 47, ct.GRE(0x88be, 2, ct.Ethernet(ip4, 7)))), a4, capture.Tunnelled | capture.VLAN},
		{"erspan III", layers.LinkTypeEthernet, ct.Ethernet(ct.IP(outer, outer, 47, ct.GRE(0x22eb, 3, ct.Ethernet(ip6)))), a6, capture.Tunnelled},
		{"pppoe", layers.LinkTypeEthernet, append(append(ct.Ethernet(nil)[:12:12], 0x88, 0x64), pppoe...), a4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, st := decodeAll(tt.link, tt.frame)
			if len(out) != 1 {
				t.Fatalf("decoded %d datagrams, want 1 (stats %+v)", len(out), st)
			}
			g := out[0]
			if g.src != tt.src || g.proto != capture.UDP || g.payload != string(payload) || g.flags != tt.flags {
				t.Errorf("got %+v, want src %v, udp, flags %b, payload %q", g, tt.src, tt.flags, payload)
			}
		})
	}
}

func TestFragmentReassembly(t *testing.T) {
	sipMsg := bytes.Repeat([]byte("INVITE sip:x SIP/2.0 padding "), 100) // 2900 bytes
	for _, tc := range []struct {
		name     string
		src, dst netip.AddrPort
	}{{"ipv4", a4, b4}, {"ipv6", a6, b6}} {
		t.Run(tc.name, func(t *testing.T) {
			frags := ct.Fragments(tc.src, tc.dst, sipMsg, 1200, 77)
			if len(frags) != 3 {
				t.Fatalf("%d fragments, want 3", len(frags))
			}
			// Out of order, with a duplicate.
			out, st := decodeAll(layers.LinkTypeEthernet, frags[2], frags[0], frags[0], frags[1])
			if len(out) != 1 || out[0].payload != string(sipMsg) || out[0].flags&capture.Fragmented == 0 {
				t.Fatalf("got %d datagrams (stats %+v), want the whole message flagged as fragmented", len(out), st)
			}
			if st.Fragments != 4 || st.Reassembled != 1 {
				t.Errorf("stats %+v, want 4 fragments and 1 reassembled", st)
			}
		})
	}
}

func TestFragmentTimeout(t *testing.T) {
	frags := ct.Fragments(a4, b4, make([]byte, 3000), 1200, 9)
	dec := capture.NewDecoder(capture.Config{FragTimeout: time.Second})
	n := 0
	h := func(*capture.Datagram) { n++ }
	dec.Decode(layers.LinkTypeEthernet, frags[0], t0, h)
	dec.Decode(layers.LinkTypeEthernet, frags[1], t0.Add(2*time.Second), h)
	dec.Decode(layers.LinkTypeEthernet, frags[2], t0.Add(2*time.Second), h)
	if n != 0 || dec.Stats().FragDropped != 1 {
		t.Fatalf("delivered %d, dropped %d; want the stale set dropped and nothing delivered", n, dec.Stats().FragDropped)
	}
}

func TestFragmentBound(t *testing.T) {
	dec := capture.NewDecoder(capture.Config{MaxFragSets: 16})
	for i := range 1000 {
		f := ct.Fragments(a4, b4, make([]byte, 3000), 1200, uint32(i))[0]
		dec.Decode(layers.LinkTypeEthernet, f, t0, func(*capture.Datagram) {})
	}
	if st := dec.Stats(); st.FragDropped < 1000-16 {
		t.Fatalf("stats %+v: a flood of first fragments must evict the oldest sets", st)
	}
}

func tcpFrame(seq uint32, flags uint8, payload string) []byte {
	return ct.Ethernet(ct.IP(a4.Addr(), b4.Addr(), 6, ct.TCP(a4.Port(), b4.Port(), seq, flags, []byte(payload))))
}

func TestTCPReassembly(t *testing.T) {
	m1 := "INVITE sip:b@x SIP/2.0\r\nCall-ID: 1\r\nContent-Length: 5\r\n\r\nhello"
	m2 := "SIP/2.0 200 OK\r\nCall-ID: 1\r\nl: 0\r\n\r\n"
	m3 := "BYE sip:b@x SIP/2.0\nCall-ID: 1\n\n" // LF only, no Content-Length
	stream := m1 + m2 + "\r\n\r\n" + m3         // with a keep-alive between
	isn := uint32(1000)
	tests := []struct {
		name     string
		segments [][]byte
		want     []string
		gaps     uint64
	}{
		{"in order, several messages in one segment", [][]byte{tcpFrame(isn, ct.SYN, ""), tcpFrame(isn+1, ct.ACK, stream)}, []string{m1, m2, m3}, 0},
		{"one message across segments", [][]byte{tcpFrame(isn+1, ct.ACK, m1[:10]), tcpFrame(isn+11, ct.ACK, m1[10:30]), tcpFrame(isn+31, ct.ACK, m1[30:])}, []string{m1}, 0},
		{"out of order", [][]byte{tcpFrame(isn+1, ct.ACK, m1[:20]), tcpFrame(isn+31, ct.ACK, m1[30:]), tcpFrame(isn+21, ct.ACK, m1[20:30])}, []string{m1}, 0},
		{"retransmission and overlap", [][]byte{tcpFrame(isn+1, ct.ACK, m1[:20]), tcpFrame(isn+1, ct.ACK, m1[:20]), tcpFrame(isn+11, ct.ACK, m1[10:])}, []string{m1}, 0},
		{"joined mid-stream", [][]byte{tcpFrame(isn, ct.ACK, "tail of an earlier message\r\n"+m2)}, []string{m2}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, st := decodeAll(layers.LinkTypeEthernet, tt.segments...)
			var msgs []string
			for _, g := range out {
				msgs = append(msgs, g.payload)
			}
			if len(msgs) != len(tt.want) {
				t.Fatalf("got %d messages %q, want %d (stats %+v)", len(msgs), msgs, len(tt.want), st)
			}
			for i := range msgs {
				if msgs[i] != tt.want[i] {
					t.Errorf("message %d = %q, want %q", i, msgs[i], tt.want[i])
				}
			}
			if st.TCPGaps != tt.gaps {
				t.Errorf("gaps %d, want %d", st.TCPGaps, tt.gaps)
			}
		})
	}
}

// TestTCPGap checks a lost segment is skipped once the held data exceeds
// the bound, and the next message is delivered flagged.
func TestTCPGap(t *testing.T) {
	m := "OPTIONS sip:b@x SIP/2.0\r\nCall-ID: 2\r\nContent-Length: 0\r\n\r\n"
	dec := capture.NewDecoder(capture.Config{MaxTCPBuffer: 200})
	var msgs []got
	h := func(d *capture.Datagram) { msgs = append(msgs, got{flags: d.Flags, payload: string(d.Payload)}) }
	seq := uint32(1)
	dec.Decode(layers.LinkTypeEthernet, tcpFrame(seq, ct.ACK, m), t0, h)
	seq += uint32(len(m))
	seq += 500 // a lost segment
	for range 5 {
		dec.Decode(layers.LinkTypeEthernet, tcpFrame(seq, ct.ACK, m), t0, h)
		seq += uint32(len(m))
	}
	if len(msgs) < 2 || msgs[1].flags&capture.TCPGap == 0 || dec.Stats().TCPGaps != 1 {
		t.Fatalf("got %d messages, stats %+v; want delivery to resume after the gap, flagged", len(msgs), dec.Stats())
	}
}

func TestNonSIPStreamIgnored(t *testing.T) {
	tls := string([]byte{0x16, 0x03, 0x01, 0x02, 0x00}) + "binary handshake"
	out, st := decodeAll(layers.LinkTypeEthernet, tcpFrame(1, ct.ACK, tls), tcpFrame(uint32(1+len(tls)), ct.ACK, tls))
	if len(out) != 0 || st.TCPSegments != 2 {
		t.Fatalf("got %d datagrams, stats %+v; want TLS ignored", len(out), st)
	}
}

func TestSCTPData(t *testing.T) {
	msg := []byte("OPTIONS sip:x SIP/2.0\r\n\r\n")
	chunk := make([]byte, 16)
	chunk[0] = 0
	binary.BigEndian.PutUint16(chunk[2:], uint16(16+len(msg)))
	chunk = append(chunk, msg...)
	for len(chunk)%4 != 0 {
		chunk = append(chunk, 0)
	}
	hdr := make([]byte, 12)
	binary.BigEndian.PutUint16(hdr, 5060)
	binary.BigEndian.PutUint16(hdr[2:], 5060)
	out, _ := decodeAll(layers.LinkTypeEthernet, ct.Ethernet(ct.IP(a4.Addr(), b4.Addr(), 132, append(hdr, chunk...))))
	if len(out) != 1 || out[0].proto != capture.SCTP || out[0].payload != string(msg) {
		t.Fatalf("got %+v, want one SCTP datagram with the message", out)
	}
}

func TestMalformed(t *testing.T) {
	ip4 := ct.IP(a4.Addr(), b4.Addr(), 17, ct.UDP(1, 2, []byte("x")))
	for _, f := range [][]byte{nil, {1, 2, 3}, ct.Ethernet(ip4[:10]), ct.Ethernet(append([]byte{0x4f}, ip4[1:]...))} {
		out, st := decodeAll(layers.LinkTypeEthernet, f)
		if len(out) != 0 || st.Malformed+st.NotIP == 0 {
			t.Errorf("frame %x: got %v, stats %+v; want it counted as malformed", f, out, st)
		}
	}
}
