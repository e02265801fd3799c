package console

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzParseNet: whatever is typed after `set network`, the settings are
// DHCP, or a host address with a gateway inside its network and a DNS
// address; never a panic.
func FuzzParseNet(f *testing.F) {
	for _, s := range []string{"dhcp", "static 192.0.2.10/24 192.0.2.1 192.0.2.53", "static 2001:db8::5/64 2001:db8::1 2001:db8::53", "static x y z", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		s, err := parseNet(strings.Fields(typed))
		if err != nil || s.DHCP {
			return
		}
		p, err := netip.ParsePrefix(s.Address)
		gw, gerr := netip.ParseAddr(s.Gateway)
		_, derr := netip.ParseAddr(s.DNS)
		if err != nil || gerr != nil || derr != nil || !p.Contains(gw) {
			t.Fatalf("%q gave %+v", typed, s)
		}
	})
}
