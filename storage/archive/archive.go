package archive

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"callrec/storage/index"
	"callrec/storage/vault"
)

// Config says where the archive lives; a zero field takes the default.
type Config struct {
	DataDir   string        // recordings/, index.db, daemon.lock
	KeyFile   string        // the key-encryption keys, ideally on another disk
	Reserve   int64         // bytes kept free: new recordings are refused below it
	Retention time.Duration // how long recordings are kept (the purge's cut-off)
	// Format knows the recordings' MP3 framing: the tag frame of an
	// export, and the length of a recovered recording. Without one, exports
	// are the bare stream and recovered recordings have no duration.
	Format Format
	Now    func() time.Time // the clock (default time.Now)
	// CreateKey lets Open make the key-encryption key when there is no key
	// file and the data directory is empty (the daemon's first start).
	CreateKey bool
}

// Format is what the archive needs to know of the MP3 streams it stores
// without parsing them; recorder/mp3 knows (firmware/recording wires it).
type Format interface {
	// InfoFrame makes the tag frame that leads an exported MP3: its
	// length and gapless trim, from the index's facts and the stream's
	// length.
	InfoFrame(r index.Recording, streamBytes int64) ([]byte, error)
	// Samples is the audio a stream of this length holds, per channel: the
	// length of a recording recovered after a crash.
	Samples(r index.Recording, streamBytes int64) int64
	// SampleRate is the recordings' sample rate.
	SampleRate() int
}

// Archive is an open data directory.
type Archive struct {
	cfg   Config
	log   *slog.Logger
	keys  *vault.Keyring
	vault *vault.Vault
	index *index.Index
	lock  *os.File // the daemon lock, when this process holds it
	klock *os.File // the key file's lock, with it

	// The disk worker (worker.go).
	wmu       sync.RWMutex // senders hold it shared while queueing; Run takes it to stop
	ops       chan op      // nil when no worker runs: operations run inline
	runMu     sync.Mutex   // one operation at a time, queued or inline
	dirty     map[*Writer]bool
	pending   []*index.Record     // records to save in the next batch (the worker's)
	early     map[string][]string // flags of calls finished before their record was saved (the worker's)
	metaDirty map[string]bool     // recorded calls whose metadata the next sync writes (the worker's)

	mu        sync.Mutex
	diskFull  bool              // the reserve was reached: new recordings are refused
	open      int               // recordings being written
	lastPurge time.Time         // when the retention purge last ran whole
	rate      float64           // bytes recorded per day over the last week (weekRate's)
	rateAt    time.Time         // when rate was read
	checked   map[string]string // recordings whose hash matched: id → file id/hash
	devicePub ed25519.PublicKey // the device key's public half, once read
	beat      atomic.Int64      // the disk worker's last round, unix nanoseconds
	failedAt  atomic.Int64      // the last failed write to the vault, unix nanoseconds
}

// Open opens (creating) the data directory, its vault and its index,
// shared with other processes: tools run beside the daemon. It creates
// the key-encryption key when the key file does not exist.
func Open(cfg Config, log *slog.Logger) (*Archive, error) {
	a, err := openVault(cfg, log)
	if err != nil {
		return nil, err
	}
	ikey, err := indexKey(cfg.DataDir, a.keys)
	if err != nil {
		return nil, err
	}
	if a.index, err = openIndex(cfg.DataDir, "index.db", ikey); err != nil {
		return nil, err
	}
	return a, nil
}

// openVault opens the archive's keys (checked against the data
// directory's binding) and its vault; the index is the caller's.
func openVault(cfg Config, log *slog.Logger) (*Archive, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := finishReset(cfg.DataDir, log); err != nil {
		return nil, fmt.Errorf("archive: finishing a factory reset: %w", err)
	}
	keys, err := loadKeys(cfg, log)
	if err != nil {
		return nil, err
	}
	v, err := vault.New(filepath.Join(cfg.DataDir, "recordings"), keys, log)
	if err != nil {
		return nil, err
	}
	v.SetClock(cfg.Now)
	return &Archive{cfg: cfg, log: log, keys: keys, vault: v, dirty: map[*Writer]bool{}, early: map[string][]string{}, metaDirty: map[string]bool{}}, nil
}

// openIndex opens an index file of the data directory, shared with other
// processes; its audit head is audit.head.
func openIndex(dataDir, name string, key []byte) (*index.Index, error) {
	return index.Open(filepath.Join(dataDir, name), index.Options{Key: key, Shared: true, HeadFile: filepath.Join(dataDir, "audit.head")})
}

// Close releases the daemon lock, if held, and the index. Stop Run first.
func (a *Archive) Close() error {
	if a.lock != nil {
		a.lock.Close()
		a.klock.Close()
		a.lock, a.klock = nil, nil
	}
	if a.index == nil {
		return nil
	}
	return a.index.Close()
}

// Index is the archive's index, for what is not yet an operation here.
func (a *Archive) Index() *index.Index { return a.index }

// Lock takes the data directory's daemon lock and the key file's lock,
// held until Close: one recording process per data directory, and per
// key. It fails at once with ErrLocked if another process holds either.
func (a *Archive) Lock() error {
	if a.lock != nil {
		return nil
	}
	if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(a.cfg.DataDir, "daemon.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("%w: %s", ErrLocked, a.cfg.DataDir)
	}
	kf, err := lockKeyFile(a.cfg.KeyFile)
	if err != nil {
		f.Close()
		return err
	}
	a.lock, a.klock = f, kf
	return nil
}

// Running reports whether a process holds the daemon lock of a data
// directory: the daemon (or a command that needs it stopped, such as a
// key rotation, while it works). A lock file that cannot be read is an
// error, never "not running".
func Running(dataDir string) (bool, error) {
	f, err := os.Open(filepath.Join(dataDir, "daemon.lock"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("archive: %w (run as the daemon's user)", err)
	}
	defer f.Close()
	switch err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); {
	case err == nil:
		return false, nil
	case errors.Is(err, syscall.EWOULDBLOCK):
		return true, nil
	default:
		return false, fmt.Errorf("archive: daemon lock: %w", err)
	}
}

// Recover closes the recordings a crash or power cut left open, and notes
// in the index what survived of each: its size, hash, and the length of
// audio. Only the process holding the lock may recover, or it would close
// the daemon's recordings under it.
func (a *Archive) Recover() ([]string, error) {
	if a.lock == nil {
		return nil, fmt.Errorf("archive: recover: %w", errNotLocked)
	}
	fixed, err := a.vault.Recover()
	if err != nil {
		return nil, err
	}
	for _, id := range fixed {
		a.do(func() { a.finishRecording(id, nil, nil, index.StateRecovered) })
		a.log.Warn("recording recovered after an unclean stop", "call_id", id)
	}
	return fixed, nil
}

var errNotLocked = fmt.Errorf("the daemon lock is not held")
