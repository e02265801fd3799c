package netd

import (
	"os"
	"strings"
	"testing"

	"callrec/hal"
)

func TestSetAndRevert(t *testing.T) {
	dir := t.TempDir()
	reloads := 0
	n := &Networkd{Dir: dir, Iface: "eth0", Reload: func() error { reloads++; return nil }}
	revert, err := n.Set(hal.NetSettings{Address: "192.0.2.10/24", Gateway: "192.0.2.1", DNS: "192.0.2.53"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(n.file())
	if !strings.Contains(string(b), "Address=192.0.2.10/24") || !strings.Contains(string(b), "Name=eth0") {
		t.Errorf("the file:\n%s", b)
	}
	if err := revert(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(n.file()); !os.IsNotExist(err) {
		t.Error("the revert left the file (there was none before)")
	}
	if reloads != 2 {
		t.Errorf("%d reloads, want 2", reloads)
	}
	if got := Render("eth0", hal.NetSettings{DHCP: true}); !strings.Contains(got, "DHCP=yes") {
		t.Errorf("DHCP:\n%s", got)
	}
}
