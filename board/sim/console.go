package sim

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/creack/pty"
	"golang.org/x/term"

	"callrec/hal"
)

// Console is the simulated board's serial console: a pty, whose other
// end (its path is logged) a technician opens with `screen PATH` or
// `picocom PATH`, as on the box's serial port.
type Console struct {
	*os.File          // the pty's master: the console reads and writes it
	slave    *os.File // held open, so the master reads while nobody is attached
	Path     string
}

// OpenConsole makes the pty. Its terminal end is raw from the start:
// what the console writes must not come back to it as typing.
func OpenConsole(log *slog.Logger) (*Console, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("sim: console pty: %w", err)
	}
	if _, err := term.MakeRaw(int(slave.Fd())); err != nil {
		master.Close()
		slave.Close()
		return nil, fmt.Errorf("sim: console pty: %w", err)
	}
	// The master, non-blocking and in Go's poller, so that closing it
	// ends a read in progress (the daemon stopping).
	fd, err := syscall.Dup(int(master.Fd()))
	master.Close()
	if err == nil {
		err = syscall.SetNonblock(fd, true)
	}
	if err != nil {
		slave.Close()
		return nil, fmt.Errorf("sim: console pty: %w", err)
	}
	log.Info("serial console", "pty", slave.Name())
	return &Console{File: os.NewFile(uintptr(fd), "/dev/ptmx"), slave: slave, Path: slave.Name()}, nil
}

// Close closes both ends.
func (c *Console) Close() error {
	c.slave.Close()
	return c.File.Close()
}

// Network is the simulated board's management port: settings kept in
// memory and logged, so that a test (or a demo) changes no real network.
type Network struct {
	mu  sync.Mutex
	now hal.NetSettings
	log *slog.Logger
}

// NewNetwork starts on DHCP.
func NewNetwork(log *slog.Logger) *Network {
	return &Network{now: hal.NetSettings{DHCP: true}, log: log}
}

// Show implements hal.Network.
func (n *Network) Show() (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return describe("eth0 (simulated)", n.now), nil
}

// Set implements hal.Network.
func (n *Network) Set(s hal.NetSettings) (func() error, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	old := n.now
	n.now = s
	n.log.Info("network settings applied (simulated)", "settings", describe("eth0", s))
	return func() error {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.now = old
		n.log.Info("network settings reverted (simulated)", "settings", describe("eth0", old))
		return nil
	}, nil
}

func describe(iface string, s hal.NetSettings) string {
	if s.DHCP {
		return iface + ": DHCP"
	}
	return strings.Join([]string{iface + ": static " + s.Address, "gateway " + s.Gateway, "DNS " + s.DNS}, ", ")
}
