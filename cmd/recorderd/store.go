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

	// The disk worker: the recording path's vault and index writes, in order.
	startWorker sync.Once
	ops         chan func()
	workerDone  chan struct{}
	dirty       map[*vaultWriter]bool // the worker's: written, not yet synced
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
		s.finishRecording(id, nil, nil, "recovered")
		log.Warn("recording recovered after an unclean stop", "call_id", id)
	}
	return s, nil
}

// Close finishes the queued disk work and closes the index.
func (s *store) Close() error {
	s.drain()
	return s.index.Close()
}

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

// callRecord copies what the tracker knows of a call into an index
// record, on the capture goroutine: the worker must not read the call,
// which the tracker goes on changing.
func callRecord(c *track.Call) *index.Record {
	r := &index.Record{ID: c.ID, ConversationID: c.ConversationID, SIPCallIDs: slices.Clone(c.SIPCallIDs)}
	r.Start, r.Answered, r.End = c.Start.Time, c.Answered.Time, c.End.Time
	r.EndReason, r.Direction = c.EndReason, string(c.Direction)
	r.From = index.Party{Raw: c.From.Raw, E164: c.From.E164, Extension: c.From.Extension, Name: c.From.Name}
	r.To = index.Party{Raw: c.To.Raw, E164: c.To.E164, Extension: c.To.Extension, Name: c.To.Name}
	r.Numbers, r.Flags = slices.Clone(c.Numbers), slices.Clone(c.Flags)
	for _, e := range []string{c.From.Extension, c.To.Extension} {
		if e != "" {
			r.Extensions = append(r.Extensions, e)
		}
	}
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

// putCall stores a call's record, keeping what the index already knows
// of its recording, and the flags the recorder gave it (one_way, …),
// which the tracker does not know. It runs on the disk worker.
func (s *store) putCall(r *index.Record) {
	if old, err := s.index.Get(r.ID); err == nil {
		r.Recording, r.Purged = old.Recording, old.Purged
		for _, f := range old.Flags {
			if !slices.Contains(r.Flags, f) {
				r.Flags = append(r.Flags, f)
			}
		}
	}
	if err := s.index.Put(r); err != nil {
		s.log.Error("index not updated", "call_id", r.ID, "err", err)
	}
}

// recordingPath wires the tracker and the recorder to the store: calls
// go to the index as the tracker sees them, recordings to the vault.
// onFinish, if set, also sees each finished recording.
func (s *store) recordingPath(cfg config.Config, log *slog.Logger, onFinish func(mix.Info)) (*mix.Recorder, track.Config) {
	rec := mix.New(mix.Config{Mono: cfg.Storage.Mono, Bitrate: cfg.Storage.Bitrate, OnFinish: func(i mix.Info) {
		if i.Err != nil && !errors.Is(i.Err, errDiskFull) {
			log.Error("recording incomplete", "call_id", i.Call.ID, "err", i.Err)
		}
		s.noteFinish(i)
		if onFinish != nil {
			onFinish(i)
		}
	}}, s, log)
	tc := trackConfig(cfg.Calls)
	tc.OnEvent = func(e track.Event) {
		s.callEvent(e)
		rec.Event(e)
	}
	tc.OnRTP = rec.RTP
	return rec, tc
}

// callEvent keeps the index in step with the tracker.
func (s *store) callEvent(e track.Event) {
	if e.Kind != track.CallStarted && e.Kind != track.CallEnded && e.Kind != track.Transferred {
		return
	}
	r := callRecord(e.Call)
	s.do(func() { s.putCall(r) })
}

// do queues a disk operation for the worker, in order: the capture
// goroutine never waits for the disk (a sync can take tens of
// milliseconds on flash), only for room in the queue.
func (s *store) do(op func()) {
	s.startWorker.Do(func() {
		s.ops = make(chan func(), 16384)
		s.dirty = make(map[*vaultWriter]bool)
		s.workerDone = make(chan struct{})
		go s.work()
	})
	s.ops <- op
}

// syncEvery is how often the worker makes written chunks durable: with a
// chunk's worth buffered, a power cut loses under a second of audio.
const syncEvery = 250 * time.Millisecond

// work runs the queued disk operations, and syncs the recordings with
// unsynced chunks together every syncEvery (group commit: one sync per
// file per interval, not one per chunk, on the disk's single queue).
func (s *store) work() {
	defer close(s.workerDone)
	tick := time.NewTicker(syncEvery)
	defer tick.Stop()
	for {
		select {
		case op, ok := <-s.ops:
			if !ok {
				return
			}
			op()
		case <-tick.C:
			for vw := range s.dirty {
				if err := vw.w.Sync(); err != nil {
					vw.fail(err)
				}
				delete(s.dirty, vw)
			}
		}
	}
}

// drain waits for the queued disk operations to finish and stops the worker.
func (s *store) drain() {
	if s.ops != nil {
		close(s.ops)
		<-s.workerDone
		s.ops = nil
	}
}

// Create starts a call's recording in the vault (mix.Sink). Only the
// disk-space check is done at once; the file and its index entry are made
// by the disk worker, and an error there fails the recording's next write.
func (s *store) Create(c *track.Call) (io.WriteCloser, error) {
	if s.checkDisk() {
		return nil, errDiskFull
	}
	r := callRecord(c)
	r.Recording = index.Recording{File: c.ID + ".crv", State: "recording", Bitrate: s.bitrate, Channels: 2 - boolInt(s.mono)}
	vw := &vaultWriter{s: s, id: c.ID, h: sha256.New()}
	s.do(func() {
		w, err := s.vault.Create(r.ID)
		if err == nil {
			if err = s.index.Put(r); err != nil {
				w.Close()
			}
		}
		if err != nil {
			vw.fail(err)
			return
		}
		w.GroupSync()
		vw.w = w
	})
	s.mu.Lock()
	s.open++
	open, full := s.open, s.diskFull
	s.mu.Unlock()
	if s.onChange != nil {
		s.onChange(open, full)
	}
	return vw, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// vaultWriter hashes the MP3 as it goes to the vault. Its writes are done
// by the disk worker; w and h belong to the worker.
type vaultWriter struct {
	s  *store
	id string
	w  *vault.Writer // nil until created, or if creating failed
	h  hash.Hash

	pending []byte // the capture goroutine's: frames not yet a whole chunk

	mu  sync.Mutex
	err error // the first failure, returned to the recorder by the next call
}

func (v *vaultWriter) fail(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.err == nil {
		v.err = err
	}
}

func (v *vaultWriter) failed() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.err
}

// Write gathers the encoder's frames into whole vault chunks and queues
// each chunk once: the vault can make nothing shorter durable or readable,
// so the capture goroutine hands over one buffer per chunk, not per frame.
func (v *vaultWriter) Write(p []byte) (int, error) {
	if err := v.failed(); err != nil {
		return 0, err
	}
	if v.pending == nil {
		v.pending = make([]byte, 0, vault.ChunkSize)
	}
	for rest := p; len(rest) > 0; {
		k := min(vault.ChunkSize-len(v.pending), len(rest))
		v.pending, rest = append(v.pending, rest[:k]...), rest[k:]
		if len(v.pending) == vault.ChunkSize {
			v.handOff()
		}
	}
	return len(p), nil
}

// handOff queues the pending bytes for the worker.
func (v *vaultWriter) handOff() {
	b := v.pending
	v.pending = nil
	if len(b) == 0 {
		return
	}
	v.s.do(func() {
		if v.w == nil || v.failed() != nil {
			return
		}
		v.h.Write(b)
		if _, err := v.w.Write(b); err != nil {
			v.fail(err)
		}
		v.s.dirty[v] = true
	})
}

func (v *vaultWriter) Close() error {
	v.handOff()
	v.s.do(func() {
		state := index.StateFailed
		delete(v.s.dirty, v)
		if v.w != nil {
			if err := v.w.Close(); err != nil {
				v.fail(err)
			} else if v.failed() == nil {
				state = "complete"
			}
			v.s.finishRecording(v.id, v.w, v.h, state)
		}
		v.s.mu.Lock()
		v.s.open--
		open, full := v.s.open, v.s.diskFull
		v.s.mu.Unlock()
		if v.s.onChange != nil {
			v.s.onChange(open, full)
		}
	})
	return v.failed()
}

// finishRecording notes a closed recording's size, hash and state.
// w is the closed writer, or nil for a recording recovered after a crash,
// which is read back and hashed.
func (s *store) finishRecording(id string, w *vault.Writer, h hash.Hash, state index.State) {
	r, err := s.index.Get(id)
	if err != nil {
		r = &index.Record{ID: id, Start: time.Now()}
	}
	if w != nil {
		r.Recording.Size = w.Size()
	} else if rd, err := s.vault.Open(id); err == nil { // recovered: hash what survived
		r.Recording.Size = rd.Size()
		h = sha256.New()
		io.Copy(h, io.NewSectionReader(rd, 0, rd.Size()))
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
	id, d, flags := i.Call.ID, i.Duration, slices.Clone(i.Flags)
	s.do(func() { s.putFinish(id, d, flags) })
}

func (s *store) putFinish(id string, d time.Duration, flags []string) {
	r, err := s.index.Get(id)
	if err != nil {
		return // not recorded (disk full, or never answered)
	}
	r.Recording.Duration = d.Milliseconds()
	for _, f := range flags {
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
