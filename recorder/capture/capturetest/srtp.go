package capturetest

import (
	"encoding/base64"
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/pion/srtp/v3"
)

// SDES is an SRTP key for a synthetic call: the a=crypto value to put in
// the SDP, and the context that encrypts with it.
type SDES struct {
	Line string
	ctx  *srtp.Context
}

// NewSDES makes a key of the given suite from a seed (tests want the same
// key each run).
func NewSDES(tag int, suite string, profile srtp.ProtectionProfile, seed byte) (*SDES, error) {
	kl, _ := profile.KeyLen()
	sl, _ := profile.SaltLen()
	key := make([]byte, kl+sl)
	for i := range key {
		key[i] = seed + byte(i*31)
	}
	ctx, err := srtp.CreateContext(key[:kl], key[kl:], profile)
	if err != nil {
		return nil, err
	}
	return &SDES{Line: fmt.Sprintf("%d %s inline:%s", tag, suite, base64.StdEncoding.EncodeToString(key)), ctx: ctx}, nil
}

// Protect encrypts the RTP packets of frames in place (UDP frames whose
// payload is RTP, as Stream makes them).
func (k *SDES) Protect(frames []Frame) error {
	for i, f := range frames {
		pkt := gopacket.NewPacket(f.Data, layers.LayerTypeEthernet, gopacket.Default)
		ip, _ := pkt.NetworkLayer().(*layers.IPv4)
		udp, _ := pkt.TransportLayer().(*layers.UDP)
		if ip == nil || udp == nil {
			return fmt.Errorf("capturetest: frame %d is not UDP over IPv4", i)
		}
		enc, err := k.ctx.EncryptRTP(nil, udp.Payload, nil)
		if err != nil {
			return err
		}
		src, _ := netip.AddrFromSlice(ip.SrcIP)
		dst, _ := netip.AddrFromSlice(ip.DstIP)
		frames[i].Data = UDPFrame(netip.AddrPortFrom(src, uint16(udp.SrcPort)), netip.AddrPortFrom(dst, uint16(udp.DstPort)), enc)
	}
	return nil
}
