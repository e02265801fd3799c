package vault

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Vault is a directory of encrypted recordings.
type Vault struct {
	dir  string
	keys *Keyring
	log  *slog.Logger
	now  func() time.Time

	mu      sync.Mutex
	writing map[string]bool // recordings open for writing: readable, not yet final
}

// New opens (creating) a vault directory.
func New(dir string, keys *Keyring, log *slog.Logger) (*Vault, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Vault{dir: dir, keys: keys, log: log, now: time.Now, writing: map[string]bool{}}, nil
}

var validID = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

func (v *Vault) path(id string) (string, error) {
	if !validID.MatchString(id) || strings.HasPrefix(id, ".") {
		return "", fmt.Errorf("vault: %q is not a recording id", id)
	}
	return filepath.Join(v.dir, id+".crv"), nil
}

// SetClock sets the clock that dates new recordings (time.Now by
// default): tests date recordings in the past.
func (v *Vault) SetClock(now func() time.Time) { v.now = now }

// Writer writes one recording: every full chunk is sealed, written and
// synced at once; Close seals the last (final) chunk.
type Writer struct {
	v     *Vault
	id    string
	f     *os.File
	c     *chunker
	buf   []byte
	out   []byte
	index uint64
	size  int64
	err   error

	groupSync bool // the caller syncs with Sync (see GroupSync)
	unsynced  bool // chunks written since the last sync
	fileID    [16]byte
}

// FileID is the file's own random id, from its header (hex): the index
// keeps it, so a file swapped in from another recording is known.
func (w *Writer) FileID() string { return hex.EncodeToString(w.fileID[:]) }

// GroupSync hands syncing to the caller: chunks are written as they fill
// but not synced until Sync (or Close). A caller with many recordings open
// syncs them together, at an interval shorter than the audio it may lose
// at a power cut, instead of once per chunk each.
func (w *Writer) GroupSync() { w.groupSync = true }

// Sync makes the chunks written so far durable.
func (w *Writer) Sync() error {
	if w.err != nil || !w.unsynced {
		return w.err
	}
	if err := w.f.Sync(); err != nil {
		w.err = fmt.Errorf("vault: write %s: %w", w.id, err)
		return w.err
	}
	w.unsynced = false
	return nil
}

// Create starts a new recording; it fails if one with this id exists.
func (v *Vault) Create(id string) (*Writer, error) {
	p, err := v.path(id)
	if err != nil {
		return nil, err
	}
	h, raw, dek, err := newHeader(v.keys.Current, v.now())
	if err != nil {
		return nil, fmt.Errorf("vault: create %s: %w", id, err)
	}
	c, err := newChunker(dek, h, raw)
	clear(dek)
	if err != nil {
		return nil, fmt.Errorf("vault: create %s: %w", id, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("vault: create %s: %w", id, ErrExists)
		}
		return nil, fmt.Errorf("vault: create %s: %w", id, err)
	}
	// The writer holds a lock on its file until Close: another process
	// (an export beside the daemon) knows a file without its final chunk
	// is being written, not cut short (InUse).
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		_, err = f.Write(raw)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = syncDir(v.dir)
	}
	if err != nil {
		f.Close()
		os.Remove(p)
		return nil, fmt.Errorf("vault: create %s: %w", id, err)
	}
	v.mu.Lock()
	v.writing[id] = true
	v.mu.Unlock()
	return &Writer{v: v, id: id, f: f, c: c, fileID: h.fileID, buf: make([]byte, 0, ChunkSize), out: make([]byte, 0, sealedSize)}, nil
}

// Write adds plaintext; it never holds more than one chunk unwritten.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := 0
	for len(p) > 0 {
		k := min(ChunkSize-len(w.buf), len(p))
		w.buf = append(w.buf, p[:k]...)
		p, n = p[k:], n+k
		if len(w.buf) == ChunkSize {
			if err := w.flush(false); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (w *Writer) flush(final bool) error {
	w.out = w.c.sealChunk(w.out[:0], w.buf, w.index, final)
	if _, err := w.f.Write(w.out); err != nil {
		w.err = fmt.Errorf("vault: write %s: %w", w.id, err)
		return w.err
	}
	w.unsynced = true
	if !w.groupSync || final {
		if err := w.Sync(); err != nil {
			return err
		}
	}
	w.size += int64(len(w.buf))
	w.index++
	w.buf = w.buf[:0]
	return nil
}

// Close seals the final chunk and closes the file.
func (w *Writer) Close() error {
	defer func() {
		w.v.mu.Lock()
		delete(w.v.writing, w.id)
		w.v.mu.Unlock()
	}()
	if w.err == nil {
		w.flush(true)
	} else {
		w.sealUp()
	}
	if err := w.f.Close(); err != nil && w.err == nil {
		w.err = fmt.Errorf("vault: close %s: %w", w.id, err)
	}
	return w.err
}

// Abandon closes the file as a crash would, without the final chunk and
// releasing the writer's lock: for tests of recovery.
func (w *Writer) Abandon() error {
	w.v.mu.Lock()
	delete(w.v.writing, w.id)
	w.v.mu.Unlock()
	return w.f.Close()
}

// sealUp closes a recording whose writing failed (the disk filled): a
// torn last write is cut off and an empty final chunk written where it
// began, so what was written before the failure is a whole recording,
// readable and exportable at once. Cutting the torn write frees more
// than the final chunk needs. If even that fails, the file is left for
// recovery at the next start.
func (w *Writer) sealUp() {
	end := int64(headerSize) + int64(w.index)*sealedSize
	if err := w.f.Truncate(end); err != nil {
		return
	}
	final := w.c.sealChunk(nil, nil, w.index, true)
	if _, err := w.f.WriteAt(final, end); err != nil {
		w.f.Truncate(end)
		return
	}
	w.f.Sync()
}

// Size is the plaintext written so far to complete chunks.
func (w *Writer) Size() int64 { return w.size }

// Reader reads a recording at random: only the chunks a read touches are
// decrypted. A recording still being written can be read up to its last
// complete chunk.
type Reader struct {
	id       string
	f        *os.File
	c        *chunker
	chunks   int64 // complete chunks on disk
	lastLen  int   // plaintext length of the last chunk
	complete bool  // the final chunk is there
	plain    []byte
	cached   int64 // index of the chunk in plain, -1 none
	sealed   []byte
	created  time.Time
	fileID   [16]byte
}

// FileID is the file's own id, from its header (hex); see Writer.FileID.
// It is authenticated once a chunk has decrypted (Complete, or Size > 0).
func (r *Reader) FileID() string { return hex.EncodeToString(r.fileID[:]) }

// OpenPartial opens a recording that another process (the daemon) is
// still writing: its complete chunks so far, authenticated; a truncated
// file reads the same way, so use it only for recordings known to be in
// progress.
func (v *Vault) OpenPartial(id string) (*Reader, error) {
	p, err := v.path(id)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("vault: open %s: %w", id, err)
	}
	r, err := v.reader(id, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// Open opens a recording for reading and checks its structure: the data
// key unwraps, and the last chunk authenticates (final for a recording not
// being written).
func (v *Vault) Open(id string) (*Reader, error) {
	r, err := v.OpenPartial(id)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	writing := v.writing[id]
	v.mu.Unlock()
	if !r.complete && !writing && !v.InUse(id) {
		r.Close()
		return nil, fmt.Errorf("vault: %s: %w: it has no final chunk and nothing is writing it (the daemon closes a recording cut short by a power cut when it next starts; otherwise the file was cut)", id, ErrTruncated)
	}
	return r, nil
}

func (v *Vault) reader(id string, f *os.File) (*Reader, error) {
	raw := make([]byte, headerSize)
	if _, err := io.ReadFull(f, raw); err != nil {
		return nil, fmt.Errorf("vault: %s: %w", id, ErrNotVault)
	}
	h, err := parseHeader(raw)
	if err != nil {
		return nil, fmt.Errorf("vault: %s: %w", id, err)
	}
	dek, err := h.unwrap(v.keys)
	if err != nil {
		return nil, fmt.Errorf("vault: %s: %w", id, err)
	}
	c, err := newChunker(dek, h, raw)
	clear(dek)
	if err != nil {
		return nil, fmt.Errorf("vault: %s: %w", id, err)
	}
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("vault: %s: %w", id, err)
	}
	r := &Reader{id: id, f: f, c: c, cached: -1, created: time.Unix(0, h.created), fileID: h.fileID,
		plain: make([]byte, 0, ChunkSize), sealed: make([]byte, sealedSize)}
	data := st.Size() - headerSize
	full, rem := data/sealedSize, data%sealedSize
	switch {
	case rem >= tagSize:
		// A short last chunk: the final one, or a torn write.
		if _, err := r.chunk(full, int(rem), true); err == nil {
			r.chunks, r.lastLen, r.complete = full+1, int(rem)-tagSize, true
			return r, nil
		}
		fallthrough
	case rem > 0:
		// A torn write after a power cut: the complete chunks before it
		// stay readable.
		r.chunks = full
	default:
		r.chunks = full
	}
	if r.chunks == 0 {
		return r, nil
	}
	// Is the last complete chunk the final one?
	if _, err := r.chunk(r.chunks-1, sealedSize, true); err == nil {
		r.complete, r.lastLen = true, ChunkSize
		return r, nil
	}
	if _, err := r.chunk(r.chunks-1, sealedSize, false); err != nil {
		return nil, fmt.Errorf("vault: %s: chunk %d: %w", id, r.chunks-1, ErrTampered)
	}
	r.lastLen = ChunkSize
	return r, nil
}

// chunk decrypts chunk i (of the given sealed length) into r.plain.
func (r *Reader) chunk(i int64, sealedLen int, final bool) ([]byte, error) {
	s := r.sealed[:sealedLen]
	if _, err := r.f.ReadAt(s, headerSize+i*sealedSize); err != nil {
		return nil, err
	}
	p, err := r.c.openChunk(r.plain[:0], s, uint64(i), final)
	if err != nil {
		r.cached = -1
		return nil, err
	}
	r.plain, r.cached = p, i
	return p, nil
}

// Size is the recording's plaintext length (so far, while it is written).
func (r *Reader) Size() int64 {
	if r.chunks == 0 {
		return 0
	}
	return (r.chunks-1)*ChunkSize + int64(r.lastLen)
}

// Complete reports whether the recording was closed properly.
func (r *Reader) Complete() bool { return r.complete }

// Created is when the recording was started.
func (r *Reader) Created() time.Time { return r.created }

// ReadAt implements io.ReaderAt, decrypting only the chunks it touches.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	size := r.Size()
	if off < 0 {
		return 0, fmt.Errorf("vault: %s: negative offset", r.id)
	}
	n := 0
	for len(p) > 0 && off < size {
		i := off / ChunkSize
		if r.cached != i {
			sealedLen, final := sealedSize, false
			if i == r.chunks-1 {
				sealedLen, final = r.lastLen+tagSize, r.complete
			}
			if _, err := r.chunk(i, sealedLen, final); err != nil {
				return n, fmt.Errorf("vault: %s: chunk %d: %w", r.id, i, ErrTampered)
			}
		}
		k := copy(p, r.plain[off-i*ChunkSize:])
		p, off, n = p[k:], off+int64(k), n+k
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }

// InUse reports whether a process (this one or another: the daemon) is
// writing the recording now: its writer holds the file's lock.
func (v *Vault) InUse(id string) bool {
	v.mu.Lock()
	writing := v.writing[id]
	v.mu.Unlock()
	if writing {
		return true
	}
	p, err := v.path(id)
	if err != nil {
		return false
	}
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	return false
}

// Created returns when a recording was started, from its header, which
// is authenticated (a chunk it is bound into decrypts) before it is
// believed. Retention keys on this, never on the index's metadata.
func (v *Vault) Created(id string) (time.Time, error) {
	r, err := v.OpenPartial(id)
	if err != nil {
		return time.Time{}, err
	}
	defer r.Close()
	if r.chunks == 0 {
		return time.Time{}, fmt.Errorf("vault: %s: %w (no chunk authenticates the header)", id, ErrTruncated)
	}
	return r.created, nil
}

// List returns the ids of the recordings in the vault, sorted.
func (v *Vault) List() ([]string, error) {
	entries, err := os.ReadDir(v.dir)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".crv"); ok && e.Type().IsRegular() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// Recover closes recordings a crash left open: a torn last write is cut
// off and a final chunk appended, so every complete chunk stays readable.
// It returns the ids it repaired. Run it at start, before recording.
func (v *Vault) Recover() ([]string, error) {
	ids, err := v.List()
	if err != nil {
		return nil, err
	}
	var fixed []string
	for _, id := range ids {
		if v.InUse(id) {
			continue
		}
		ok, err := v.recover(id)
		if err != nil {
			v.log.Error("recording not recovered", "file", id, "err", err)
			continue
		}
		if ok {
			fixed = append(fixed, id)
		}
	}
	return fixed, nil
}

func (v *Vault) recover(id string) (bool, error) {
	p, _ := v.path(id)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return false, err
	}
	defer f.Close()
	r, err := v.reader(id, f)
	if err != nil {
		return false, err
	}
	if r.complete {
		return false, nil
	}
	end := headerSize + r.chunks*sealedSize
	if err := f.Truncate(end); err != nil {
		return false, err
	}
	final := r.c.sealChunk(nil, nil, uint64(r.chunks), true)
	if _, err := f.WriteAt(final, end); err != nil {
		return false, err
	}
	return true, f.Sync()
}

// Shred destroys a recording: its wrapped data key is overwritten and
// synced first, so the audio is unreadable even if the file's blocks
// survive, then the file is removed.
func (v *Vault) Shred(id string) error {
	p, err := v.path(id)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("vault: shred %s: %w", id, err)
	}
	zero := make([]byte, headerSize-wrapOffset)
	_, err = f.WriteAt(zero, wrapOffset)
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if err != nil {
		return fmt.Errorf("vault: shred %s: %w", id, err)
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("vault: shred %s: %w", id, err)
	}
	// Its metadata's key came from the data key, gone now: the file is
	// noise, removed for tidiness.
	if err := v.removeMeta(id); err != nil {
		return fmt.Errorf("vault: shred %s: %w", id, err)
	}
	return syncDir(v.dir)
}

// Rewrap re-wraps every recording's data key under the keyring's current
// key, touching only the headers; no audio is re-encrypted. Recordings
// being written are skipped (they already use the current key).
func (v *Vault) Rewrap() (int, error) {
	ids, err := v.List()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		p, _ := v.path(id)
		if err := v.rewrap(id, p); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (v *Vault) rewrap(id, p string) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("vault: rewrap %s: %w", id, err)
	}
	defer f.Close()
	raw := make([]byte, headerSize)
	if _, err := io.ReadFull(f, raw); err != nil {
		return fmt.Errorf("vault: rewrap %s: %w", id, ErrNotVault)
	}
	h, err := parseHeader(raw)
	if err != nil {
		return fmt.Errorf("vault: rewrap %s: %w", id, err)
	}
	if h.keyID == v.keys.Current.ID {
		return nil
	}
	dek, err := h.unwrap(v.keys)
	if err != nil {
		return fmt.Errorf("vault: rewrap %s: %w", id, err)
	}
	defer clear(dek)
	if err := h.wrap(v.keys.Current, dek); err != nil {
		return fmt.Errorf("vault: rewrap %s: %w", id, err)
	}
	if _, err := f.WriteAt(h.wrapPart(), wrapOffset); err != nil {
		return fmt.Errorf("vault: rewrap %s: %w", id, err)
	}
	return f.Sync()
}

// ShredDir destroys every recording in a vault directory without its
// keys, as Shred does each (a factory reset finishing after a restart):
// each wrapped data key is overwritten and synced, then the file and its
// metadata are removed. It returns how many it destroyed.
func ShredDir(dir string) (int, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.crv"))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range files {
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return n, fmt.Errorf("vault: shred %s: %w", p, err)
		}
		_, err = f.WriteAt(make([]byte, headerSize-wrapOffset), wrapOffset)
		if err == nil {
			err = f.Sync()
		}
		f.Close()
		if err == nil {
			err = os.Remove(p)
		}
		if err != nil {
			return n, fmt.Errorf("vault: shred %s: %w", p, err)
		}
		n++
	}
	metas, _ := filepath.Glob(filepath.Join(dir, "*.meta"))
	for _, m := range metas {
		os.Remove(m)
	}
	return n, syncDir(dir)
}
