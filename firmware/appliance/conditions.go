package appliance

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"callrec/hal"
	"callrec/storage/archive"
)

// conditions are the slower checks behind the panel's warnings, made every
// few seconds rather than at each of the panel's ticks: the disk, the
// clock, and whether the mirror port has gone silent.
type conditions struct {
	mu       sync.Mutex
	diskLow  bool     // below twice the reserve, or under 30 days left at the recent rate
	warnings []string // clock_unsynchronised, mirror_silent, disk_over_85
}

// Warnings and their names in the status.
const (
	warnClock  = "clock_unsynchronised"
	warnMirror = "mirror_silent"
	warnDisk   = "disk_over_85_percent"
)

// mirrorSilence is how long the mirror port may carry nothing, in working
// hours, before it is a warning.
const mirrorSilence = 5 * time.Minute

// workingHours: Monday to Friday, 08:00 to 18:00 local time, when a
// practice's line is never silent for long.
func workingHours(t time.Time) bool {
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday && t.Hour() >= 8 && t.Hour() < 18
}

func (c *conditions) get() (diskLow bool, warnings []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.diskLow, append([]string(nil), c.warnings...)
}

// run checks every interval until ctx is done. packets is the capture's
// packet counter.
func (c *conditions) run(ctx context.Context, every time.Duration, a *archive.Archive, clock hal.Clock, packets func() uint64, log *slog.Logger) error {
	t := time.NewTicker(every)
	defer t.Stop()
	lastCount, lastChange := packets(), time.Now()
	wasSynced := true
	for {
		now := time.Now()
		var warn []string
		d := a.Disk(now)
		low := d.FreeBytes < 2*d.ReserveBytes || (d.DaysLeft >= 0 && d.DaysLeft < 30)
		if d.TotalBytes > 0 && float64(d.TotalBytes-d.FreeBytes) > 0.85*float64(d.TotalBytes) {
			warn = append(warn, warnDisk)
		}
		if clock != nil {
			synced, _, err := clock.Sync()
			if err != nil || !synced {
				warn = append(warn, warnClock)
				if wasSynced {
					log.Warn("the clock is not synchronised: recordings' times may be wrong", "err", err)
				}
			}
			wasSynced = err == nil && synced
		}
		if n := packets(); n != lastCount {
			lastCount, lastChange = n, now
		} else if now.Sub(lastChange) >= mirrorSilence && workingHours(now) {
			warn = append(warn, warnMirror)
		}
		c.mu.Lock()
		c.diskLow, c.warnings = low, warn
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
