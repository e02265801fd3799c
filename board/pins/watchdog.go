package pins

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"callrec/hal"
)

// Watchdog is the kernel's watchdog device (/dev/watchdog). Opening it
// arms it: from then on the board reboots unless it is fed within its
// timeout. A clean stop disarms it with the magic close ('V').
type Watchdog struct {
	f         *os.File
	cardReset bool
}

var _ hal.Watchdog = (*Watchdog)(nil)

// OpenWatchdog arms the watchdog at path with timeout (0 keeps the
// device's), and reads whether the last reboot was its doing.
func OpenWatchdog(path string, timeout time.Duration) (*Watchdog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("pins: watchdog: %w", err)
	}
	w := &Watchdog{f: f}
	fd := int(f.Fd())
	if status, err := unix.IoctlGetInt(fd, unix.WDIOC_GETBOOTSTATUS); err == nil {
		w.cardReset = status&unix.WDIOF_CARDRESET != 0
	}
	if timeout > 0 {
		secs := int(timeout.Seconds())
		if err := unix.IoctlSetPointerInt(fd, unix.WDIOC_SETTIMEOUT, secs); err != nil && !errors.Is(err, unix.ENOTTY) {
			f.Close()
			return nil, fmt.Errorf("pins: watchdog timeout: %w", err)
		}
	}
	return w, nil
}

// Feed implements hal.Watchdog.
func (w *Watchdog) Feed() error {
	if _, err := w.f.Write([]byte{0}); err != nil {
		return fmt.Errorf("pins: watchdog: %w", err)
	}
	return nil
}

// CardReset says whether the watchdog caused the last reboot.
func (w *Watchdog) CardReset() bool { return w.cardReset }

// Close disarms the watchdog (a clean stop) and closes it.
func (w *Watchdog) Close() error {
	_, err := w.f.Write([]byte("V"))
	return errors.Join(err, w.f.Close())
}
