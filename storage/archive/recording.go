package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"slices"
	"sync"
	"time"

	"callrec/storage/index"
	"callrec/storage/vault"
)

// SaveCall stores what is known of a call (on the disk worker). It never
// changes what the index holds of the call's recording, nor drops a flag
// already there (the recorder's one_way, no_media… are not the tracker's).
// Records are saved in batches, one index transaction for all those
// queued since the last (see exec).
func (a *Archive) SaveCall(r *index.Record) { a.queue(op{save: r}) }

func mergeFlags(into, more []string) []string {
	for _, f := range more {
		if !slices.Contains(into, f) {
			into = append(into, f)
		}
	}
	return into
}

// maxEarlyFlags bounds the calls whose flags wait for their record.
const maxEarlyFlags = 4096

// Finished is what the recorder says of a recording it has closed.
type Finished struct {
	Duration time.Duration
	Samples  int64    // per channel, as encoded
	Flags    []string // one_way:left, no_media, …
}

// Finish notes what the recorder says of a finished recording (on the
// disk worker, after the recording's own writes).
func (a *Archive) Finish(id string, f Finished) {
	f.Flags = slices.Clone(f.Flags)
	a.do(func() {
		r, err := a.index.Get(id)
		if errors.Is(err, index.ErrNotFound) {
			// Not recorded (the disk was full) and not saved yet: the
			// flags go with the call's record when it comes.
			if len(a.early) < maxEarlyFlags {
				a.early[id] = mergeFlags(a.early[id], f.Flags)
			}
			return
		}
		if err != nil {
			a.log.Error("index not updated", "call_id", id, "err", err)
			return
		}
		r.Recording.Duration = f.Duration.Milliseconds()
		r.Recording.Samples = f.Samples
		r.Flags = mergeFlags(r.Flags, f.Flags)
		if err := a.index.Put(r); err != nil {
			a.log.Error("index not updated", "call_id", id, "err", err)
			return
		}
		a.metaDirty[id] = true
	})
}

// Create starts a call's recording: r is the call's record, with the
// recording's format (bitrate, channels) set. Only the free-space check is
// done at once; the file and its index entry are made by the disk worker,
// and a failure there fails the recording's next write.
func (a *Archive) Create(r *index.Record) (*Writer, error) {
	if a.CheckDisk() {
		return nil, ErrDiskFull
	}
	r.Recording.File, r.Recording.State = r.ID+".crv", index.StateRecording
	w := &Writer{a: a, id: r.ID, h: sha256.New()}
	a.do(func() {
		vw, err := a.vault.Create(r.ID) // refuses an id already in the vault
		if err == nil {
			r.Recording.FileID = vw.FileID()
			if err = a.index.StartRecording(r); err != nil { // refuses one already recorded
				vw.Close()
			}
		}
		if err != nil {
			w.fail(err)
			return
		}
		a.metaDirty[r.ID] = true
		vw.GroupSync()
		w.w = vw
	})
	a.mu.Lock()
	a.open++
	a.mu.Unlock()
	return w, nil
}

// Writer is one recording being written. It hashes the MP3 on its way to
// the vault; its writes are done by the disk worker.
type Writer struct {
	a  *Archive
	id string
	w  *vault.Writer // the worker's: nil until created, or if creating failed
	h  hash.Hash     // the worker's

	pending []byte // the writer's goroutine's: bytes not yet a whole chunk

	mu  sync.Mutex
	err error // the first failure, returned by the next Write or Close
}

var _ io.WriteCloser = (*Writer)(nil)

func (w *Writer) fail(err error) {
	w.a.failedAt.Store(w.a.cfg.Now().UnixNano())
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

func (w *Writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Write gathers the encoder's frames into whole vault chunks and queues
// each chunk once: the vault can make nothing shorter durable or
// readable, so the worker gets one buffer per chunk, not one per frame.
func (w *Writer) Write(p []byte) (int, error) {
	if err := w.failed(); err != nil {
		return 0, err
	}
	if w.pending == nil {
		w.pending = make([]byte, 0, vault.ChunkSize)
	}
	for rest := p; len(rest) > 0; {
		k := min(vault.ChunkSize-len(w.pending), len(rest))
		w.pending, rest = append(w.pending, rest[:k]...), rest[k:]
		if len(w.pending) == vault.ChunkSize {
			w.handOff()
		}
	}
	return len(p), nil
}

// handOff queues the pending bytes for the worker.
func (w *Writer) handOff() {
	b := w.pending
	w.pending = nil
	if len(b) == 0 {
		return
	}
	w.a.do(func() {
		if w.w == nil || w.failed() != nil {
			return
		}
		if _, err := w.w.Write(b); err != nil {
			w.fail(err)
			return
		}
		w.h.Write(b)
		w.a.dirty[w] = true
	})
}

// Close queues the recording's last bytes and its closing: the final
// chunk, and its size, hash and state in the index. It returns the
// failures known so far; a failure while closing is recorded in the index
// as state "failed".
func (w *Writer) Close() error {
	w.handOff()
	w.a.do(func() {
		delete(w.a.dirty, w)
		if w.w != nil {
			state := index.StateFailed
			if err := w.w.Close(); err != nil {
				w.fail(err)
			} else if w.failed() == nil {
				state = index.StateComplete
			}
			if state == index.StateFailed {
				// The vault sealed up what was written whole before the
				// failure: its length and hash are read back.
				w.a.finishRecording(w.id, nil, nil, state)
			} else {
				w.a.finishRecording(w.id, w.w, w.h, state)
			}
		}
		w.a.mu.Lock()
		w.a.open--
		w.a.mu.Unlock()
	})
	return w.failed()
}

// finishRecording notes a closed recording's size, hash and state. w is
// the closed writer, or nil for a recording recovered after a crash or
// cut short by a failure, which is read back: its hash, and the length
// (and, after a crash, the end) of what survived. It runs on the disk
// worker.
func (a *Archive) finishRecording(id string, w *vault.Writer, h hash.Hash, state index.State) {
	r, err := a.index.Get(id)
	if err != nil {
		r = &index.Record{ID: id, Start: a.cfg.Now()}
	}
	if w != nil {
		r.Recording.Size = w.Size()
	} else if sum, size, err := a.hashRecording(id, true); err == nil {
		r.Recording.Size = size
		r.Recording.SHA256 = sum
		a.recoveredLength(r, state == index.StateRecovered)
	} else {
		a.log.Error("recovered recording unreadable", "call_id", id, "err", err)
	}
	r.Recording.File, r.Recording.State = id+".crv", state
	if h != nil {
		r.Recording.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	if err := a.index.Put(r); err != nil {
		a.log.Error("index not updated", "call_id", id, "err", err)
		return
	}
	a.metaDirty[id] = true
}

// recoveredLength takes a recovered recording's duration from its stream,
// and, if the call never ended (crashed), ends it there.
func (a *Archive) recoveredLength(r *index.Record, crashed bool) {
	if a.cfg.Format == nil {
		return
	}
	n := a.cfg.Format.Samples(r.Recording, r.Recording.Size)
	d := time.Duration(n) * time.Second / time.Duration(a.cfg.Format.SampleRate())
	r.Recording.Samples, r.Recording.Duration = n, d.Milliseconds()
	if r.End.IsZero() && crashed {
		origin := r.Start
		if !r.Answered.IsZero() {
			origin = r.Answered
		}
		r.End, r.EndReason = origin.Add(d), "recovered"
	}
}

// hashRecording reads a recording back whole: its SHA-256 and length.
// partial opens one still being written, up to its last complete chunk.
func (a *Archive) hashRecording(id string, partial bool) (string, int64, error) {
	open := a.vault.Open
	if partial {
		open = a.vault.OpenPartial
	}
	rd, err := open(id)
	if err != nil {
		return "", 0, err
	}
	defer rd.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.NewSectionReader(rd, 0, rd.Size()))
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// SaveLive keeps the state of a call in progress (on the disk worker), so
// that after a restart the recorder can follow it again.
func (a *Archive) SaveLive(id string, state []byte) {
	a.do(func() {
		if err := a.index.PutLive(id, state); err != nil {
			a.log.Error("live call state not kept", "call_id", id, "err", err)
		}
	})
}

// DropLive forgets calls no longer in progress (on the disk worker).
func (a *Archive) DropLive(ids ...string) {
	a.do(func() {
		if err := a.index.DeleteLive(ids...); err != nil {
			a.log.Error("live call state not dropped", "err", err)
		}
	})
}

// Live returns the state of each call that was in progress when the
// recorder last stopped, by id.
func (a *Archive) Live() (map[string][]byte, error) { return a.index.Live() }
