package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"callrec/storage/index"
)

// status is what the daemon reports of itself, written to
// DATA/status.json every few seconds for `recorderd status` (and, later,
// the web page and the console).
type status struct {
	Time       time.Time `json:"time"`
	Version    string    `json:"version"`
	Interfaces []string  `json:"interfaces"`
	Recording  int       `json:"recording"` // recordings in progress
	Faults     []string  `json:"faults"`
	Disk       struct {
		FreeMB    int64   `json:"free_mb"`
		ReserveMB int64   `json:"reserve_mb"`
		Full      bool    `json:"full"`
		MBPerDay  float64 `json:"mb_per_day"` // recorded, over the last 7 days
		DaysLeft  float64 `json:"days_left"`  // until the reserve, at that rate; -1 unknown
	} `json:"disk"`
	Metrics map[string]uint64 `json:"metrics"`
}

// writeStatus writes the status file atomically.
func writeStatus(dir string, s *status) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "status.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "status.json"))
}

// diskStatus fills in the disk part: free space, and the days left at the
// rate of the last week's recordings.
func (st *store) diskStatus(s *status, now time.Time) {
	free, _ := st.freeBytes()
	s.Disk.FreeMB, s.Disk.ReserveMB = free>>20, st.reserve>>20
	st.mu.Lock()
	s.Disk.Full, s.Recording = st.diskFull, st.open
	st.mu.Unlock()
	s.Disk.DaysLeft = -1
	week, err := st.index.Find(index.Query{From: now.Add(-7 * 24 * time.Hour)})
	if err != nil {
		return
	}
	var bytes int64
	for _, r := range week {
		bytes += r.Recording.Size
	}
	s.Disk.MBPerDay = float64(bytes) / (1 << 20) / 7
	if bytes > 0 {
		s.Disk.DaysLeft = max(float64(free-st.reserve), 0) / (float64(bytes) / 7)
	}
}

// runStatus prints the daemon's status file.
func runStatus(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("status", stderr)
	load := storageFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(cfg.Storage.DataDir, "status.json"))
	if err != nil {
		return fmt.Errorf("status: %w (is the daemon running?)", err)
	}
	var s status
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("status: %w", err)
	}
	stdout.Write(b)
	fmt.Fprintln(stdout)
	if age := time.Since(s.Time); age > 30*time.Second {
		return fmt.Errorf("status: last written %v ago: the daemon is not running", age.Round(time.Second))
	}
	return nil
}
