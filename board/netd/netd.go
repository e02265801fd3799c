// Package netd sets a real box's management port through
// systemd-networkd: one .network file, written atomically, then
// `networkctl reload`; the old file is kept to put back.
package netd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"

	"callrec/hal"
)

// Networkd is one interface's settings under systemd-networkd.
type Networkd struct {
	Dir   string // /etc/systemd/network
	Iface string // eth0
	// Reload makes networkd apply the files (default: networkctl reload,
	// then reconfigure the interface).
	Reload func() error
}

func (n *Networkd) file() string { return filepath.Join(n.Dir, "10-callrec-"+n.Iface+".network") }

func (n *Networkd) reload() error {
	if n.Reload != nil {
		return n.Reload()
	}
	if out, err := exec.Command("networkctl", "reload").CombinedOutput(); err != nil {
		return fmt.Errorf("networkctl reload: %v: %s", err, out)
	}
	if out, err := exec.Command("networkctl", "reconfigure", n.Iface).CombinedOutput(); err != nil {
		return fmt.Errorf("networkctl reconfigure: %v: %s", err, out)
	}
	return nil
}

// Render is the .network file of settings.
func Render(iface string, s hal.NetSettings) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by callrec (set network on the serial console).\n[Match]\nName=%s\n\n[Network]\n", iface)
	if s.DHCP {
		b.WriteString("DHCP=yes\n")
	} else {
		fmt.Fprintf(&b, "Address=%s\nGateway=%s\nDNS=%s\n", s.Address, s.Gateway, s.DNS)
	}
	return b.String()
}

// Show implements hal.Network: the file in force and the addresses the
// kernel has.
func (n *Networkd) Show() (string, error) {
	cfg, err := os.ReadFile(n.file())
	if errors.Is(err, fs.ErrNotExist) {
		cfg = []byte("(no callrec settings: the system's own)\n")
	} else if err != nil {
		return "", err
	}
	addrs, _ := exec.Command("ip", "-brief", "address", "show", "dev", n.Iface).CombinedOutput()
	return fmt.Sprintf("%s\nnow: %s", strings.TrimSpace(string(cfg)), strings.TrimSpace(string(addrs))), nil
}

// Set implements hal.Network.
func (n *Networkd) Set(s hal.NetSettings) (func() error, error) {
	old, err := os.ReadFile(n.file())
	had := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := renameio.WriteFile(n.file(), []byte(Render(n.Iface, s)), 0o644); err != nil {
		return nil, err
	}
	revert := func() error {
		var err error
		if had {
			err = renameio.WriteFile(n.file(), old, 0o644)
		} else {
			err = os.Remove(n.file())
		}
		if err != nil {
			return err
		}
		return n.reload()
	}
	if err := n.reload(); err != nil {
		revert()
		return nil, err
	}
	return revert, nil
}
