package hal

import (
	"time"

	"golang.org/x/sys/unix"
)

// KernelClock is the Linux kernel's view of the clock's synchronisation
// (adjtimex): what chrony or systemd-timesyncd last told it.
type KernelClock struct{}

// Sync implements Clock.
func (KernelClock) Sync() (bool, time.Duration, error) {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return false, 0, err
	}
	synced := state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0
	return synced, time.Duration(tx.Maxerror) * time.Microsecond, nil
}
