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

	"callrec/firmware/panel"
	"callrec/recorder/pipeline"
	"callrec/storage/archive"
	"callrec/storage/index"

	"github.com/google/renameio/v2"
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
	// Audit is the audit log's head: its last entry's number and keyed
	// hash. Noted down outside the box now and then, it proves a later
	// rollback of the log.
	Audit *index.Head `json:"audit_head,omitempty"`
	// Web is the SHA-256 fingerprint of the web page's certificate, to
	// check against the one the browser shows.
	Web string `json:"web_certificate_sha256,omitempty"`
	// LEDs are the front panel's lights as they show now, and Warnings
	// what lights the amber fault LED.
	LEDs     *panel.Lights `json:"leds,omitempty"`
	Warnings []string      `json:"warnings"`
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
	AuditHead() (index.Head, error)
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
	// Web, if set, is the web certificate's fingerprint.
	Web func() string
	// Lights, if set, are the panel's LEDs; Warnings the panel's warnings.
	Lights   func() panel.Lights
	Warnings func() []string
}

// Snapshot is the box's state now.
func (c *Collector) Snapshot(now time.Time) Snapshot {
	s := Snapshot{Time: now.UTC(), Version: c.Version, Interfaces: c.Interfaces, Faults: []string{}}
	d := c.Archive.Disk(now)
	s.Disk = Disk{FreeMB: d.FreeBytes >> 20, ReserveMB: d.ReserveBytes >> 20, Full: d.Full,
		MBPerDay: d.BytesPerDay / (1 << 20), DaysLeft: d.DaysLeft}
	s.Recording = c.Archive.State().Recording
	if h, err := c.Archive.AuditHead(); err == nil {
		s.Audit = &h
	}
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
	if c.Web != nil {
		s.Web = c.Web()
	}
	if c.Lights != nil {
		l := c.Lights()
		s.LEDs = &l
	}
	s.Warnings = []string{}
	if c.Warnings != nil {
		s.Warnings = append(s.Warnings, c.Warnings()...)
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

// Write stores a snapshot in dir atomically, mode 0600: renameio's
// temporary file, made afresh, synced, then renamed.
func Write(dir string, s Snapshot) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	f, err := renameio.NewPendingFile(filepath.Join(dir, File), renameio.WithTempDir(dir), renameio.WithStaticPermissions(0o600))
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	defer f.Cleanup()
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.CloseAtomicallyReplace()
	}
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	return nil
}

// Errors of Read, checked with errors.Is.
var (
	// ErrNotRunning: no process holds the daemon lock.
	ErrNotRunning = errors.New("status: the daemon is not running")
	// ErrStale: the daemon holds its lock but has not written its status
	// for longer than MaxAge: it may be stuck.
	ErrStale = errors.New("status: the daemon is running but its status is stale: it may be stuck")
)

// MaxAge is how old a snapshot may be and still be the daemon's.
const MaxAge = 30 * time.Second

// Read returns the snapshot in dir, and says whether the daemon runs:
// that comes from its lock (archive.Running), not from the snapshot's
// age. A snapshot is returned with ErrNotRunning when the daemon is not
// running (the last one it wrote, if any), and with ErrStale when it is
// but the snapshot is older than MaxAge.
func Read(dir string, now time.Time) (Snapshot, []byte, error) {
	var s Snapshot
	running, err := archive.Running(dir)
	if err != nil {
		return s, nil, fmt.Errorf("status: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, File))
	switch {
	case err != nil && !running:
		return s, nil, ErrNotRunning
	case err != nil:
		return s, nil, fmt.Errorf("status: the daemon is running but its status does not read (starting?): %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, b, fmt.Errorf("status: %s: %w", File, err)
	}
	age := now.Sub(s.Time).Round(time.Second)
	switch {
	case !running:
		return s, b, fmt.Errorf("%w (its last status, %v old, follows)", ErrNotRunning, age)
	case age > MaxAge:
		return s, b, fmt.Errorf("%w (last written %v ago)", ErrStale, age)
	}
	return s, b, nil
}
