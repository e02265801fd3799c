package status

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"callrec/recorder/pipeline"
	"callrec/recorder/track"
	"callrec/storage/archive"
	"callrec/storage/index"
)

type fakeArchive struct {
	disk  archive.Disk
	state archive.State
}

func (f fakeArchive) Disk(time.Time) archive.Disk { return f.disk }
func (f fakeArchive) State() archive.State        { return f.state }
func (f fakeArchive) AuditHead() (index.Head, error) {
	return index.Head{Seq: 12, Hash: "ab12"}, nil
}

type fakePipeline struct {
	stats pipeline.Stats
	alive time.Time
}

func (f fakePipeline) Stats() pipeline.Stats { return f.stats }
func (f fakePipeline) Alive() time.Time      { return f.alive }

var now = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func TestSnapshot(t *testing.T) {
	c := &Collector{Version: "v1", Interfaces: []string{"eth1"},
		Archive:  fakeArchive{archive.Disk{FreeBytes: 3 << 30, ReserveBytes: 1 << 30, Full: true, BytesPerDay: 1 << 20, DaysLeft: 2048}, archive.State{Recording: 4, DiskFull: true}},
		Pipeline: fakePipeline{pipeline.Stats{Track: track.Stats{CallsStarted: 7, RTPPackets: 100}, Active: 5}, now.Add(-time.Minute)}}
	s := c.Snapshot(now)
	if s.Disk.FreeMB != 3072 || s.Disk.ReserveMB != 1024 || s.Disk.MBPerDay != 1 || s.Disk.DaysLeft != 2048 || s.Recording != 4 || s.Calls != 5 {
		t.Errorf("Snapshot = %+v", s)
	}
	if !slices.Equal(s.Faults, []string{FaultDiskFull, FaultCapture}) {
		t.Errorf("faults %v, want disk full and stalled capture", s.Faults)
	}
	if s.Audit == nil || s.Audit.Seq != 12 {
		t.Errorf("audit head %+v, want entry 12", s.Audit)
	}
	if s.Metrics["calls_started"] != 7 || s.Metrics["rtp_packets"] != 100 || s.Metrics["disk_full"] != 1 {
		t.Errorf("metrics %v", s.Metrics)
	}
}

// TestWriteRead replays part of defect 15: `status` said the daemon was
// not running while it was. Whether it runs now comes from its lock; the
// snapshot's age says only whether it is stuck.
func TestWriteRead(t *testing.T) {
	dir := t.TempDir()
	s := Snapshot{Time: now, Version: "v1", Faults: []string{}}
	if err := Write(dir, s); err != nil {
		t.Fatal(err)
	}
	// No daemon: the last snapshot, and ErrNotRunning.
	got, raw, err := Read(dir, now.Add(time.Second))
	if !errors.Is(err, ErrNotRunning) || got.Version != "v1" || len(raw) == 0 {
		t.Fatalf("Read without a daemon = %+v, %v; want the snapshot and ErrNotRunning", got, err)
	}
	// The daemon holds its lock.
	lock, _ := os.OpenFile(filepath.Join(dir, "daemon.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if got, _, err := Read(dir, now.Add(time.Second)); err != nil || got.Version != "v1" {
		t.Fatalf("Read with the daemon running = %+v, %v", got, err)
	}
	if _, _, err := Read(dir, now.Add(time.Hour)); !errors.Is(err, ErrStale) {
		t.Errorf("Read of an old snapshot of a running daemon = %v, want ErrStale", err)
	}
	if _, _, err := Read(t.TempDir(), now); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Read of an empty directory = %v, want ErrNotRunning", err)
	}
	os.Remove(filepath.Join(dir, "daemon.lock"))
	// Write leaves no temporary file, and the snapshot is private.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files in the directory, want only %s", len(entries), File)
	}
	if st, _ := os.Stat(filepath.Join(dir, File)); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
}

// TestWriteIgnoresPlantedTemp: a symlink planted where the old code put
// its temporary file is neither followed nor overwritten.
func TestWriteIgnoresPlantedTemp(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("keep me"), 0o644)
	os.Symlink(victim, filepath.Join(dir, "status.json.tmp"))
	if err := Write(dir, Snapshot{Time: now}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me" {
		t.Errorf("the symlink's target was overwritten: %q", b)
	}
}

func TestRunWritesUntilDone(t *testing.T) {
	dir := t.TempDir()
	c := &Collector{Archive: fakeArchive{}, Pipeline: fakePipeline{alive: time.Now()}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := c.Run(ctx, dir, 5*time.Millisecond, nil); err != nil {
		t.Fatal(err)
	}
	if s, _, err := Read(dir, time.Now()); !errors.Is(err, ErrNotRunning) || s.Time.IsZero() {
		t.Errorf("after Run (no daemon lock held): %+v, %v", s, err)
	}
}
