package hal

import (
	"context"
	"io"
	"time"
)

// LED is one front-panel light.
type LED interface {
	Set(on bool) error
}

// Button is a front-panel push button.
type Button interface {
	// Wait blocks until the button is pressed or ctx is done.
	Wait(ctx context.Context) error
}

// Watchdog resets the box unless it is fed in time.
type Watchdog interface {
	Feed() error
}

// Serial is the technician's console port.
type Serial interface {
	io.ReadWriteCloser
}

// Clock reports whether the system clock is synchronised (NTP), and its
// maximum error: recordings are evidence, and their times must hold.
type Clock interface {
	Sync() (synced bool, maxError time.Duration, err error)
}

// Network is the box's own network settings (its management port).
type Network interface {
	Show() (string, error)
	// Set applies new settings at once and returns what puts the old ones
	// back.
	Set(s NetSettings) (revert func() error, err error)
}

// NetSettings are an interface's addressing: DHCP, or a static address.
type NetSettings struct {
	DHCP    bool
	Address string // ADDR/PREFIX
	Gateway string
	DNS     string
}
