package capturetest

import (
	"encoding/binary"
	"net/netip"
)

var (
	macA = []byte{0x02, 0, 0, 0, 0, 1}
	macB = []byte{0x02, 0, 0, 0, 0, 2}
)

// Ethernet wraps an IP packet in an Ethernet frame, with 802.1Q tags for
// each VLAN id given (outermost first; two give QinQ).
func Ethernet(ip []byte, vlans ...uint16) []byte {
	f := append([]byte{}, macB...)
	f = append(f, macA...)
	for i, v := range vlans {
		tpid := uint16(0x8100)
		if i == 0 && len(vlans) > 1 {
			tpid = 0x88a8
		}
		f = binary.BigEndian.AppendUint16(f, tpid)
		f = binary.BigEndian.AppendUint16(f, v)
	}
	f = binary.BigEndian.AppendUint16(f, etherType(ip))
	return append(f, ip...)
}

func etherType(ip []byte) uint16 {
	if len(ip) > 0 && ip[0]>>4 == 6 {
		return 0x86dd
	}
	return 0x0800
}

// IP builds an IPv4 or IPv6 packet (by the addresses' family) around a
// transport payload of protocol proto.
func IP(src, dst netip.Addr, proto uint8, payload []byte) []byte {
	if src.Is4() {
		return ipv4(src, dst, proto, 1, 0, false, payload)
	}
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6], h[7] = proto, 64
	s, d := src.As16(), dst.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return append(h, payload...)
}

func ipv4(src, dst netip.Addr, proto uint8, id uint16, offset int, more bool, payload []byte) []byte {
	h := make([]byte, 20)
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(h[4:], id)
	frag := uint16(offset / 8)
	if more {
		frag |= 0x2000
	}
	binary.BigEndian.PutUint16(h[6:], frag)
	h[8], h[9] = 64, proto
	s, d := src.As4(), dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	return append(h, payload...)
}

// UDP builds a UDP header and payload (checksum zero: not checked).
func UDP(src, dst uint16, payload []byte) []byte {
	h := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(h, src)
	binary.BigEndian.PutUint16(h[2:], dst)
	binary.BigEndian.PutUint16(h[4:], uint16(8+len(payload)))
	return append(h, payload...)
}

// TCP flags.
const (
	FIN = 0x01
	SYN = 0x02
	ACK = 0x10
	PSH = 0x08
)

// TCP builds a TCP header and payload.
func TCP(src, dst uint16, seq uint32, flags uint8, payload []byte) []byte {
	h := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(h, src)
	binary.BigEndian.PutUint16(h[2:], dst)
	binary.BigEndian.PutUint32(h[4:], seq)
	h[12] = 5 << 4
	h[13] = flags
	binary.BigEndian.PutUint16(h[14:], 65535)
	return append(h, payload...)
}

// UDPFrame is an Ethernet frame carrying one UDP datagram.
func UDPFrame(src, dst netip.AddrPort, payload []byte) []byte {
	return Ethernet(IP(src.Addr(), dst.Addr(), 17, UDP(src.Port(), dst.Port(), payload)))
}

// Fragments splits a UDP datagram into IP fragments of at most mtu bytes
// of payload each (a multiple of 8), as frames. The datagram is IPv4 or
// IPv6 by the addresses' family.
func Fragments(src, dst netip.AddrPort, payload []byte, mtu int, id uint32) [][]byte {
	udp := UDP(src.Port(), dst.Port(), payload)
	mtu &^= 7
	var out [][]byte
	for off := 0; off < len(udp); off += mtu {
		end := min(off+mtu, len(udp))
		more := end < len(udp)
		if src.Addr().Is4() {
			out = append(out, Ethernet(ipv4(src.Addr(), dst.Addr(), 17, uint16(id), off, more, udp[off:end])))
			continue
		}
		fh := make([]byte, 8)
		fh[0] = 17
		field := uint16(off)
		if more {
			field |= 1
		}
		binary.BigEndian.PutUint16(fh[2:], field)
		binary.BigEndian.PutUint32(fh[4:], id)
		out = append(out, Ethernet(IP(src.Addr(), dst.Addr(), 44, append(fh, udp[off:end]...))))
	}
	return out
}

// GRE wraps an inner packet in a GRE header with the given protocol type
// and, for ERSPAN, its header: kind 2 (type II, 8 bytes, with a GRE
// sequence number) or 3 (type III, 12 bytes); 0 for plain GRE.
func GRE(proto uint16, erspan int, inner []byte) []byte {
	h := []byte{0, 0}
	if erspan != 0 {
		h[0] = 0x10 // sequence number present
	}
	h = binary.BigEndian.AppendUint16(h, proto)
	if erspan != 0 {
		h = append(h, 0, 0, 0, 1)
	}
	switch erspan {
	case 2:
		h = append(h, 0x10, 0x01, 0, 0, 0, 0, 0, 0)
	case 3:
		h = append(h, 0x20, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	}
	return append(h, inner...)
}
