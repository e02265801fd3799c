package archive

import (
	"context"
	"syscall"
	"time"

	"callrec/storage/index"
)

// freeBytes is the free space on the data disk.
func (a *Archive) freeBytes() (int64, error) {
	free, _, err := a.space()
	return free, err
}

// space is the data disk's free space and size.
func (a *Archive) space() (free, total int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(a.cfg.DataDir, &st); err != nil {
		return 0, 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), int64(st.Blocks) * int64(st.Bsize), nil
}

// CheckDisk raises or clears the disk-full fault and reports it. Nothing
// within retention is ever deleted to make room: new recordings stop, the
// fault is raised, and recording resumes when space comes back. A disk
// whose free space cannot be read counts as full.
func (a *Archive) CheckDisk() bool {
	free, err := a.freeBytes()
	full := err != nil || free < a.cfg.Reserve
	a.mu.Lock()
	changed := full != a.diskFull
	a.diskFull = full
	a.mu.Unlock()
	if changed {
		switch {
		case err != nil:
			a.log.Error("disk unreadable: new recordings stopped", "err", err)
		case full:
			a.log.Error("disk full: new recordings stopped; nothing within retention is deleted", "free_mb", free>>20, "reserve_mb", a.cfg.Reserve>>20)
		default:
			a.log.Info("disk space back above the reserve: recording resumed", "free_mb", free>>20)
		}
	}
	return full
}

// State is what the front panel shows of the archive.
type State struct {
	Recording int  // recordings being written
	DiskFull  bool // new recordings are refused
	// Unwritable: a write to the vault failed in the last minute
	// (recording is impossible, whatever the free space says).
	Unwritable bool
}

// State returns the recordings in progress and the disk-full fault.
func (a *Archive) State() State {
	a.mu.Lock()
	defer a.mu.Unlock()
	failed := a.failedAt.Load()
	return State{Recording: a.open, DiskFull: a.diskFull,
		Unwritable: failed != 0 && a.cfg.Now().Sub(time.Unix(0, failed)) < time.Minute}
}

// Disk is the data disk's state for the status page.
type Disk struct {
	FreeBytes    int64
	TotalBytes   int64
	ReserveBytes int64
	Full         bool
	BytesPerDay  float64 // recorded per day over the last week
	DaysLeft     float64 // until the reserve at that rate; -1 unknown
}

// Disk reports free space and the days left at the last week's rate.
func (a *Archive) Disk(now time.Time) Disk {
	free, total, _ := a.space()
	d := Disk{FreeBytes: free, TotalBytes: total, ReserveBytes: a.cfg.Reserve, Full: a.State().DiskFull, DaysLeft: -1}
	perDay, ok := a.weekRate(now)
	if !ok {
		return d
	}
	d.BytesPerDay = perDay
	if perDay > 0 {
		d.DaysLeft = max(float64(free-a.cfg.Reserve), 0) / perDay
	}
	return d
}

// rateFor is how long the last week's recording rate is kept before it
// is read again: the status page, the panel's checks and the status file
// all ask for it, and reading a week of the index each time is waste.
const rateFor = time.Minute

// weekRate is the bytes recorded per day over the last week, read from
// the index at most once per rateFor.
func (a *Archive) weekRate(now time.Time) (float64, bool) {
	a.mu.Lock()
	if !a.rateAt.IsZero() && now.Sub(a.rateAt) < rateFor && !now.Before(a.rateAt) {
		r := a.rate
		a.mu.Unlock()
		return r, true
	}
	a.mu.Unlock()
	week, err := a.index.Find(index.Query{From: now.Add(-7 * 24 * time.Hour)})
	if err != nil {
		return 0, false
	}
	var bytes int64
	for _, r := range week {
		bytes += r.Recording.Size
	}
	a.mu.Lock()
	a.rate, a.rateAt = float64(bytes)/7, now
	a.mu.Unlock()
	return float64(bytes) / 7, true
}

// WatchDisk checks the free space every interval until ctx is done, so the
// disk-full fault clears (and recording resumes) without waiting for the
// next call.
func (a *Archive) WatchDisk(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		a.CheckDisk()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
