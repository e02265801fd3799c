package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"callrec/recorder/pipeline"
	"callrec/storage/archive"
)

// File is the snapshot's name in the data directory.
const File = "status.json"

// Snapshot is what the daemon reports of itself.
type Snapshot struct {
	Time       time.Time         `json:"time"`
	Version    string            `json:"version"`
	Interfaces []string          `json:"interfaces"`
	Calls      int               `json:"calls"`     // calls in progress
	Recording  int               `json:"recording"` // recordings being written
	Faults     []string          `json:"faults"`
	Disk       Disk              `json:"disk"`
	Metrics    map[string]uint64 `json:"metrics"`
}

// Disk is the data disk's part of the snapshot.
type Disk struct {
	FreeMB    int64   `json:"free_mb"`
	ReserveMB int64   `json:"reserve_mb"`
	Full      bool    `json:"full"`
	MBPerDay  float64 `json:"mb_per_day"` // recorded, over the last 7 days
	DaysLeft  float64 `json:"days_left"`  // until the reserve, at that rate; -1 unknown
}

// Fault names, as the snapshot lists them.
const (
	FaultDiskFull = "disk_full"
	FaultCapture  = "capture_stalled"
)

// Archive is what the snapshot reads of the archive.
type Archive interface {
	Disk(now time.Time) archive.Disk
	State() archive.State
}

// Pipeline is what the snapshot reads of the recording pipeline.
type Pipeline interface {
	Stats() pipeline.Stats
	Alive() time.Time
}

// Collector takes snapshots of a running box.
type Collector struct {
	Version    string
	Interfaces []string
	Archive    Archive
	Pipeline   Pipeline
	// Stalled is how long capture may show no sign of life before it is a
	// fault (default 10 s).
	Stalled time.Duration
	// Attempts, if set, counts unanswered call attempts not kept.
	Attempts interface{ DroppedAttempts() uint64 }
}

// Snapshot is the box's state now.
func (c *Collector) Snapshot(now time.Time) Snapshot {
	s := Snapshot{Time: now.UTC(), Version: c.Version, Interfaces: c.Interfaces, Faults: []string{}}
	d := c.Archive.Disk(now)
	s.Disk = Disk{FreeMB: d.FreeBytes >> 20, ReserveMB: d.ReserveBytes >> 20, Full: d.Full,
		MBPerDay: d.BytesPerDay / (1 << 20), DaysLeft: d.DaysLeft}
	s.Recording = c.Archive.State().Recording
	if d.Full {
		s.Faults = append(s.Faults, FaultDiskFull)
	}
	ps := c.Pipeline.Stats()
	stalled := c.Stalled
	if stalled == 0 {
		stalled = 10 * time.Second
	}
	if now.Sub(c.Pipeline.Alive()) > stalled {
		s.Faults = append(s.Faults, FaultCapture)
	}
	s.Calls = ps.Active
	s.Metrics = map[string]uint64{
		"calls_started": ps.Track.CallsStarted, "calls_ended": ps.Track.CallsEnded, "calls_evicted": ps.Track.CallsEvicted,
		"sip_messages": ps.Track.SIPMessages, "sip_errors": ps.Track.SIPErrors, "rtp_packets": ps.Track.RTPPackets,
		"packets": ps.Capture.Packets, "malformed": ps.Capture.Malformed,
		"kernel_received": ps.Kernel.Received, "kernel_drops": ps.Kernel.Dropped,
		"disk_full": boolUint(d.Full), "calls_evicted_early": ps.Track.EarlyEvicted,
	}
	if c.Attempts != nil {
		s.Metrics["attempts_dropped"] = c.Attempts.DroppedAttempts()
	}
	return s
}

func boolUint(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// Run writes a snapshot to dir every interval until ctx is done.
func (c *Collector) Run(ctx context.Context, dir string, every time.Duration, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := Write(dir, c.Snapshot(time.Now())); err != nil {
			log.Error("status not written", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Write stores a snapshot in dir atomically: a private temporary file,
// then a rename.
func Write(dir string, s Snapshot) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	f, err := os.CreateTemp(dir, ".status-*")
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, File))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("status: %w", err)
	}
	return nil
}

// ErrStale is a snapshot too old to be the running daemon's.
var ErrStale = errors.New("status: the snapshot is stale: the daemon is not running")

// MaxAge is how old a snapshot may be and still be the daemon's.
const MaxAge = 30 * time.Second

// Read returns the snapshot in dir. A snapshot older than MaxAge is
// returned with ErrStale.
func Read(dir string, now time.Time) (Snapshot, []byte, error) {
	var s Snapshot
	b, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil {
		return s, nil, fmt.Errorf("status: %w (is the daemon running?)", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, b, fmt.Errorf("status: %s: %w", File, err)
	}
	if age := now.Sub(s.Time); age > MaxAge {
		return s, b, fmt.Errorf("%w (last written %v ago)", ErrStale, age.Round(time.Second))
	}
	return s, b, nil
}
