package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"callrec/firmware/config"
	"callrec/recorder/mix"
	"callrec/recorder/track"
	"callrec/storage/index"
	"callrec/storage/vault"
)

// errDiskFull is why a recording was not started.
var errDiskFull = errors.New("disk full: free space is below the reserve")

// store is where recordings go: audio in the vault, metadata in the index.
// It is the recorder's Sink.
type store struct {
	vault   *vault.Vault
	index   *index.Index
	keys    *vault.Keyring
	log     *slog.Logger
	dir     string
	reserve int64 // bytes
	bitrate int
	mono    bool

	mu       sync.Mutex
	diskFull bool // the reserve was reached: new recordings are refused
	open     int  // recordings being written
	onChange func(recording int, diskFull bool)
}

// openStore opens the vault and index, creating the key on first start.
// With recover (the daemon at start, alone on the data), it also closes
// the recordings a crash left open; tools running beside the daemon must
// not, or they would close the daemon's recordings under it.
func openStore(cfg config.Storage, log *slog.Logger, recover bool) (*store, error) {
	keys, created, err := vault.LoadOrCreateKeys(cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	if created {
		log.Warn("created a new key-encryption key: back it up with 'recorderd keys export-recovery'", "file", cfg.KeyFile)
	}
	v, err := vault.New(filepath.Join(cfg.DataDir, "recordings"), keys, log)
	if err != nil {
		return nil, err
	}
	ix, err := index.Open(filepath.Join(cfg.DataDir, "index.db"), index.Options{Shared: true})
	if err != nil {
		return nil, err
	}
	s := &store{vault: v, index: ix, keys: keys, log: log, dir: cfg.DataDir, reserve: cfg.ReserveMB << 20, bitrate: cfg.Bitrate, mono: cfg.Mono}
	if s.bitrate == 0 {
		s.bitrate = 48
		if s.mono {
			s.bitrate = 32
		}
	}
	if !recover {
		return s, nil
	}
	fixed, err := v.Recover()
	if err != nil {
		ix.Close()
		return nil, err
	}
	for _, id := range fixed {
		s.finishRecording(id, nil, "recovered")
		log.Warn("recording recovered after an unclean stop", "call_id", id)
	}
	return s, nil
}

func (s *store) Close() error { return s.index.Close() }

// lockDaemon takes the data directory's daemon lock, held while the
// daemon runs; it fails at once if another process holds it.
func lockDaemon(dataDir string) (*os.File, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dataDir, "daemon.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("the daemon is running on %s (stop it first)", dataDir)
	}
	return f, nil
}

// freeBytes is the free space on the data disk.
func (s *store) freeBytes() (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(s.dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// checkDisk raises or clears the disk-full fault.
func (s *store) checkDisk() bool {
	free, err := s.freeBytes()
	full := err == nil && free < s.reserve
	s.mu.Lock()
	changed := full != s.diskFull
	s.diskFull = full
	open := s.open
	s.mu.Unlock()
	if changed {
		if full {
			s.log.Error("disk full: new recordings stopped; nothing within retention is deleted", "free_mb", free>>20, "reserve_mb", s.reserve>>20)
		} else {
			s.log.Info("disk space back above the reserve: recording resumed", "free_mb", free>>20)
		}
		if s.onChange != nil {
			s.onChange(open, full)
		}
	}
	return full
}

// record maps a tracked call to its index record, keeping what the index
// already knows of its recording.
func (s *store) record(c *track.Call) *index.Record {
	r, err := s.index.Get(c.ID)
	if err != nil {
		r = &index.Record{ID: c.ID}
	}
	r.ConversationID, r.SIPCallIDs = c.ConversationID, c.SIPCallIDs
	r.Start, r.Answered, r.End = c.Start.Time, c.Answered.Time, c.End.Time
	r.EndReason, r.Direction = c.EndReason, string(c.Direction)
	r.From = index.Party{Raw: c.From.Raw, E164: c.From.E164, Extension: c.From.Extension, Name: c.From.Name}
	r.To = index.Party{Raw: c.To.Raw, E164: c.To.E164, Extension: c.To.Extension, Name: c.To.Name}
	r.Numbers, r.Flags = c.Numbers, c.Flags
	r.Extensions = r.Extensions[:0]
	for _, e := range []string{c.From.Extension, c.To.Extension} {
		if e != "" {
			r.Extensions = append(r.Extensions, e)
		}
	}
	r.Codecs, r.Legs = r.Codecs[:0], r.Legs[:0]
	for _, l := range c.Legs {
		leg := index.Leg{CallID: l.CallID}
		if l.Caller.IsValid() {
			leg.Caller, leg.Callee = l.Caller.String(), l.Callee.String()
		}
		r.Legs = append(r.Legs, leg)
		for _, m := range l.Media {
			r.Codecs = append(r.Codecs, m.Codecs...)
		}
	}
	return r
}

// callEvent keeps the index in step with the tracker.
func (s *store) callEvent(e track.Event) {
	if e.Kind != track.CallStarted && e.Kind != track.CallEnded && e.Kind != track.Transferred {
		return
	}
	if err := s.index.Put(s.record(e.Call)); err != nil {
		s.log.Error("index not updated", "call_id", e.Call.ID, "err", err)
	}
}

// Create starts a call's recording in the vault (mix.Sink).
func (s *store) Create(c *track.Call) (io.WriteCloser, error) {
	if s.checkDisk() {
		return nil, errDiskFull
	}
	w, err := s.vault.Create(c.ID)
	if err != nil {
		return nil, err
	}
	r := s.record(c)
	r.Recording = index.Recording{File: c.ID + ".crv", State: "recording", Bitrate: s.bitrate, Channels: 2 - boolInt(s.mono)}
	if err := s.index.Put(r); err != nil {
		w.Close()
		return nil, err
	}
	s.mu.Lock()
	s.open++
	open, full := s.open, s.diskFull
	s.mu.Unlock()
	if s.onChange != nil {
		s.onChange(open, full)
	}
	return &vaultWriter{s: s, id: c.ID, w: w, h: sha256.New()}, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// vaultWriter hashes the MP3 as it goes to the vault.
type vaultWriter struct {
	s  *store
	id string
	w  *vault.Writer
	h  hash.Hash
}

func (v *vaultWriter) Write(p []byte) (int, error) {
	v.h.Write(p)
	return v.w.Write(p)
}

func (v *vaultWriter) Close() error {
	err := v.w.Close()
	state := "complete"
	if err != nil {
		state = "failed"
	}
	v.s.finishRecording(v.id, v.h, state)
	v.s.mu.Lock()
	v.s.open--
	open, full := v.s.open, v.s.diskFull
	v.s.mu.Unlock()
	if v.s.onChange != nil {
		v.s.onChange(open, full)
	}
	return err
}

// finishRecording notes a closed recording's size, hash and state.
func (s *store) finishRecording(id string, h hash.Hash, state string) {
	r, err := s.index.Get(id)
	if err != nil {
		r = &index.Record{ID: id, Start: time.Now()}
	}
	if rd, err := s.vault.Open(id); err == nil {
		r.Recording.Size = rd.Size()
		if h == nil { // recovered: hash what survived
			h = sha256.New()
			io.Copy(h, io.NewSectionReader(rd, 0, rd.Size()))
		}
		rd.Close()
	}
	r.Recording.File, r.Recording.State = id+".crv", state
	if h != nil {
		r.Recording.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	if err := s.index.Put(r); err != nil {
		s.log.Error("index not updated", "call_id", id, "err", err)
	}
}

// noteFinish records what the recorder says of a finished recording: its
// duration and its flags (one_way, no_media, …).
func (s *store) noteFinish(i mix.Info) {
	r, err := s.index.Get(i.Call.ID)
	if err != nil {
		return // not recorded (disk full, or never answered)
	}
	r.Recording.Duration = i.Duration.Milliseconds()
	for _, f := range i.Flags {
		if !slices.Contains(r.Flags, f) {
			r.Flags = append(r.Flags, f)
		}
	}
	if err := s.index.Put(r); err != nil {
		s.log.Error("index not updated", "call_id", r.ID, "err", err)
	}
}

// audit writes an audit entry, logging (not failing) if it cannot.
func (s *store) audit(who, action, target, why string) error {
	if _, err := s.index.Audit(index.Entry{Who: who, Action: action, Target: target, Why: why}); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}
