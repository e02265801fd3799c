package index

import (
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterr "go.etcd.io/bbolt/errors"
)

// Errors, checked with errors.Is.
var (
	ErrNotFound = errors.New("index: no such call")
	ErrHeld     = errors.New("index: call is under legal hold")
	ErrCorrupt  = errors.New("index: record does not decode")
	ErrExists   = errors.New("index: a call with this id is already stored")
	ErrNoHold   = errors.New("index: no such hold on the call")
	// ErrNoKey: the index key is missing or not KeySize bytes.
	ErrNoKey = errors.New("index: no index key")
	// ErrOldFormat: the file was written by an earlier version, with
	// plain values; rebuild it from the vault.
	ErrOldFormat = errors.New("index: the file is of an older format (plain values): rebuild it with `recorderd index rebuild`")
	// ErrWrongKey: the file was sealed under another index key.
	ErrWrongKey = errors.New("index: the index key does not open this file (another box's index, or its key file was replaced): rebuild it with `recorderd index rebuild`")
	// ErrDamaged: bbolt cannot read the file.
	ErrDamaged = errors.New("index: the file is damaged: rebuild it with `recorderd index rebuild`")
)

// present is the value of a secondary-index key.
var present = []byte{1}

var (
	bCalls    = []byte("calls")
	bByTime   = []byte("by_time")
	bByNumber = []byte("by_number")
	bByExt    = []byte("by_extension")
	bHolds    = []byte("holds")
	bAudit    = []byte("audit")
	bLive     = []byte("live")
	bBySource = []byte("by_source")
	bMeta     = []byte("meta")
)

// Party is one end of a call.
type Party struct {
	Raw       string `json:"raw"`
	E164      string `json:"e164,omitempty"`
	Extension string `json:"extension,omitempty"`
	Name      string `json:"name,omitempty"`
}

// State is where a call's audio is in its life.
type State string

// The states of a recording.
const (
	StateNone      State = ""          // never answered, or refused (disk full)
	StateRecording State = "recording" // being written now
	StateComplete  State = "complete"  // closed properly
	StateRecovered State = "recovered" // closed after a crash: audio up to the last synced chunk
	StateFailed    State = "failed"    // the disk failed while writing; what was written is readable
	StateShredded  State = "shredded"  // crypto-shredded at the end of its retention
	StateOptedOut  State = "opted_out" // a party asked, during the call, not to be recorded: the audio was crypto-shredded
	StateErased    State = "erased"    // crypto-shredded inside its retention by an erasure case (an objection upheld)
)

// HasAudio reports whether a recording in this state has a vault file.
func (s State) HasAudio() bool {
	return s != StateNone && s != StateShredded && s != StateOptedOut && s != StateErased
}

// Recording is the state of a call's audio in the vault.
type Recording struct {
	File     string `json:"file,omitempty"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256,omitempty"`
	State    State  `json:"state"`
	Duration int64  `json:"duration_ms"`
	Samples  int64  `json:"samples,omitempty"` // audio samples per channel encoded: the exact length, for the exported file's gapless trim
	Bitrate  int    `json:"bitrate,omitempty"` // kbit/s
	Channels int    `json:"channels,omitempty"`
	// FileID is the vault file's own id, from its authenticated header: a
	// file swapped in from another recording does not match it.
	FileID string `json:"file_id,omitempty"`
}

// Leg is one SIP dialog of a call.
type Leg struct {
	CallID string `json:"call_id"`
	Caller string `json:"caller_signalling,omitempty"`
	Callee string `json:"callee_signalling,omitempty"`
}

// Record is one call in the index.
type Record struct {
	ID             string    `json:"id"`
	ConversationID string    `json:"conversation_id"`
	SIPCallIDs     []string  `json:"sip_call_ids"`
	Start          time.Time `json:"start"`
	Answered       time.Time `json:"answered,omitzero"`
	End            time.Time `json:"end,omitzero"`
	EndReason      string    `json:"end_reason,omitempty"`
	Direction      string    `json:"direction"`
	From           Party     `json:"from"`
	To             Party     `json:"to"`
	Numbers        []string  `json:"numbers"`    // every E.164 number in any leg
	Extensions     []string  `json:"extensions"` // every internal extension
	Legs           []Leg     `json:"legs,omitempty"`
	Codecs         []string  `json:"codecs,omitempty"`
	Flags          []string  `json:"flags"`
	Recording      Recording `json:"recording"`
	Purged         time.Time `json:"purged,omitzero"`     // a tombstone: the audio was shredded at retention's end
	Continues      string    `json:"continues,omitempty"` // the call this one continues after the recorder restarted
	// OptOut says when, by whom and by which trigger the call was opted
	// out of recording (nil if it was not).
	OptOut *OptOut `json:"opt_out,omitempty"`
	// Source names the call as the wire showed it (a digest of its first
	// Call-ID, tag and start): a capture ingested twice is known by it.
	Source string `json:"source,omitempty"`
}

// OptOut is a request, during a call, not to record it.
type OptOut struct {
	At      time.Time `json:"at"`
	By      string    `json:"by"`      // who asked (a user, an extension, "caller")
	Trigger string    `json:"trigger"` // dtmf, phone-key, web, panel, command, do-not-record
	Mode    string    `json:"mode"`    // discard: the audio was shredded; stop: kept up to the request
}

// FlagOptedOut marks a call opted out of recording.
const FlagOptedOut = "opted_out"

// Index is an open index file.
type Index struct {
	db   *bolt.DB // held open; nil in shared mode
	path string
	head string // the audit log's head, outside the file
	opts *bolt.Options
	keys *keyring
	amu  sync.Mutex // audit entries and the head, in order, in this process
}

// Options for Open; a zero field takes the default.
type Options struct {
	// Key is the index key (KeySize random bytes): it seals every value
	// and hashes every lookup key. The archive keeps it wrapped under the
	// key-encryption key. Required.
	Key     []byte
	Timeout time.Duration // waiting for the file lock (default 1 s)
	NoSync  bool          // skip fsync: for bulk loads in tests and benchmarks only
	// Shared opens the file for each operation and closes it after, so
	// that other processes (the technician's commands while the daemon
	// runs) can use it in between. bbolt allows one process at a time.
	Shared bool
	// HeadFile is where the audit log's authenticated head is kept, outside
	// the index file (default: audit.head beside it).
	HeadFile string
}

// The meta bucket says the file's format, and proves the key opens it.
var (
	mFormat = []byte("format")
	mCheck  = []byte("check")
	format  = []byte("2") // 1: plain JSON values and plain lookup keys
)

// Open opens (creating) the index file. A file of an older format (plain
// values) is ErrOldFormat, a file another key sealed ErrWrongKey, and a
// damaged file ErrDamaged: each names the way out (`recorderd index
// rebuild`).
func Open(path string, o Options) (*Index, error) {
	keys, err := newKeyring(o.Key)
	if err != nil {
		return nil, err
	}
	if o.Timeout == 0 {
		o.Timeout = time.Second
	}
	if o.Shared && o.Timeout < 10*time.Second {
		o.Timeout = 10 * time.Second // another process may hold it for a moment
	}
	if o.HeadFile == "" {
		o.HeadFile = filepath.Join(filepath.Dir(path), "audit.head")
	}
	ix := &Index{path: path, head: o.HeadFile, keys: keys, opts: &bolt.Options{Timeout: o.Timeout, NoSync: o.NoSync}}
	db, err := openDB(path, ix.opts)
	if err != nil {
		return nil, err
	}
	err = safely(func() error {
		return db.Update(func(tx *bolt.Tx) error { return ix.setUp(tx) })
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	if o.Shared {
		if err := db.Close(); err != nil {
			return nil, fmt.Errorf("index: open %s: %w", path, err)
		}
		return ix, nil
	}
	ix.db = db
	return ix, nil
}

// openDB opens the bbolt file; a file bbolt cannot read is ErrDamaged.
func openDB(path string, opts *bolt.Options) (*bolt.DB, error) {
	var db *bolt.DB
	err := safely(func() error {
		var err error
		db, err = bolt.Open(path, 0o600, opts)
		return err
	})
	switch {
	case errors.Is(err, bolterr.ErrTimeout):
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	case errors.Is(err, bolterr.ErrInvalid), errors.Is(err, bolterr.ErrChecksum), errors.Is(err, bolterr.ErrVersionMismatch), errors.Is(err, ErrDamaged):
		return nil, fmt.Errorf("index: open %s: %w: %v", path, ErrDamaged, err)
	case err != nil:
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	return db, nil
}

// safely runs fn, turning a panic (bbolt's answer to a damaged page, or a
// fault reading the map of a truncated file) into
// ErrDamaged: a damaged file is an error the technician can act on, not a
// crash.
func safely(fn func() error) (err error) {
	// A truncated file faults on its memory map: a panic here, not a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrDamaged, p)
		}
	}()
	return fn()
}

// setUp makes the buckets of a new file, or checks an existing one's
// format and key.
func (ix *Index) setUp(tx *bolt.Tx) error {
	check := mac(ix.keys.check, []byte("callrec index"))
	meta := tx.Bucket(bMeta)
	if meta == nil {
		if c := tx.Bucket(bCalls); c != nil {
			if k, _ := c.Cursor().First(); k != nil {
				return ErrOldFormat
			}
		}
		if a := tx.Bucket(bAudit); a != nil {
			if k, _ := a.Cursor().First(); k != nil {
				return ErrOldFormat
			}
		}
		var err error
		if meta, err = tx.CreateBucket(bMeta); err != nil {
			return err
		}
		if err := meta.Put(mFormat, format); err != nil {
			return err
		}
		if err := meta.Put(mCheck, check); err != nil {
			return err
		}
	}
	switch f := meta.Get(mFormat); {
	case len(f) == 1 && f[0] > format[0] && f[0] <= '9':
		return fmt.Errorf("%w: format %s is a newer version's: run that version", ErrDamaged, f)
	case !bytes.Equal(f, format):
		return fmt.Errorf("%w: its format marker does not read", ErrDamaged)
	case !hmac.Equal(meta.Get(mCheck), check):
		return ErrWrongKey
	}
	for _, b := range [][]byte{bCalls, bByTime, bByNumber, bByExt, bHolds, bAudit, bLive, bBySource, bUsers, bTokens, bSettings, bNotes, bRequests} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	for _, k := range docKinds {
		if _, err := tx.CreateBucketIfNotExists([]byte(k)); err != nil {
			return err
		}
	}
	return nil
}

// File is the index file's path.
func (ix *Index) File() string { return ix.path }

// Close closes the file.
func (ix *Index) Close() error {
	if ix.db == nil {
		return nil
	}
	return ix.db.Close()
}

// with runs fn on the open database, or on the file opened for the call
// in shared mode. A panic in bbolt (a damaged page) is ErrDamaged.
func (ix *Index) with(fn func(*bolt.DB) error) error {
	if ix.db != nil {
		return safely(func() error { return fn(ix.db) })
	}
	db, err := openDB(ix.path, ix.opts)
	if err != nil {
		return err
	}
	err = safely(func() error { return fn(db) })
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

func (ix *Index) view(fn func(*bolt.Tx) error) error {
	return ix.with(func(db *bolt.DB) error { return db.View(fn) })
}

func (ix *Index) update(fn func(*bolt.Tx) error) error {
	return ix.with(func(db *bolt.DB) error { return db.Update(fn) })
}

// timeKey orders times as bytes; the zero time (an open end) sorts first.
func timeKey(t time.Time) []byte {
	var n int64
	if !t.IsZero() && t.Year() >= 1970 && t.Year() < 2262 {
		n = t.UnixNano()
	}
	return binary.BigEndian.AppendUint64(nil, uint64(n))
}

// secKey is a secondary key: the value's keyed hash ‖ start ‖ id, so a
// prefix scan on the hash gives the calls in order of start.
func (ix *Index) secKey(what, value string, start time.Time, id string) []byte {
	k := ix.keys.lookupKey(what, value)
	k = append(k, timeKey(start)...)
	return append(k, id...)
}

// Put stores calls in one transaction, each replacing an earlier version
// of itself and its index entries.
func (ix *Index) Put(rs ...*Record) error {
	err := ix.update(func(tx *bolt.Tx) error {
		for _, r := range rs {
			if err := ix.put(tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("index: put: %w", err)
	}
	return nil
}

// put stores one call, replacing an earlier version and its index
// entries. An earlier version that does not open is kept out of the way
// (its lookup keys cannot be found to remove): Check reports the strays.
func (ix *Index) put(tx *bolt.Tx, r *Record) error {
	if r.ID == "" {
		return errors.New("record without id")
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("call %s: %w", r.ID, err)
	}
	if o, err := ix.get(tx, r.ID); err == nil {
		ix.unindex(tx, o)
	}
	if err := tx.Bucket(bCalls).Put([]byte(r.ID), ix.keys.seal(bCalls, []byte(r.ID), data)); err != nil {
		return fmt.Errorf("call %s: %w", r.ID, err)
	}
	if err := ix.index(tx, r); err != nil {
		return fmt.Errorf("call %s: %w", r.ID, err)
	}
	return nil
}

func (ix *Index) index(tx *bolt.Tx, r *Record) error {
	if err := tx.Bucket(bByTime).Put(append(timeKey(r.Start), r.ID...), present); err != nil {
		return err
	}
	for _, n := range r.Numbers {
		if err := tx.Bucket(bByNumber).Put(ix.secKey("number", n, r.Start, r.ID), present); err != nil {
			return err
		}
	}
	for _, e := range r.Extensions {
		if err := tx.Bucket(bByExt).Put(ix.secKey("extension", e, r.Start, r.ID), present); err != nil {
			return err
		}
	}
	if r.Source != "" {
		if err := tx.Bucket(bBySource).Put(ix.keys.lookupKey("source", r.Source), []byte(r.ID)); err != nil {
			return err
		}
	}
	return nil
}

func (ix *Index) unindex(tx *bolt.Tx, r *Record) {
	tx.Bucket(bByTime).Delete(append(timeKey(r.Start), r.ID...))
	for _, n := range r.Numbers {
		tx.Bucket(bByNumber).Delete(ix.secKey("number", n, r.Start, r.ID))
	}
	for _, e := range r.Extensions {
		tx.Bucket(bByExt).Delete(ix.secKey("extension", e, r.Start, r.ID))
	}
	if r.Source != "" {
		tx.Bucket(bBySource).Delete(ix.keys.lookupKey("source", r.Source))
	}
}

// Save stores what is known of calls, in one transaction. A call already
// stored keeps its recording, its tombstone and its flags (the recorder's
// one_way, no_media…, which the tracker does not know); only the rest is
// updated. A stored record that does not read is never overwritten: that
// call is left out, the others saved, and the error names it.
func (ix *Index) Save(rs ...*Record) error {
	var skipped []error
	err := ix.update(func(tx *bolt.Tx) error {
		skipped = skipped[:0]
		for _, r := range rs {
			if old, err := ix.get(tx, r.ID); err == nil {
				r.Recording, r.Purged = old.Recording, old.Purged
				if r.OptOut == nil {
					r.OptOut = old.OptOut
				}
				for _, f := range old.Flags {
					if !slices.Contains(r.Flags, f) {
						r.Flags = append(r.Flags, f)
					}
				}
			} else if !errors.Is(err, ErrNotFound) {
				skipped = append(skipped, err)
				continue
			}
			if err := ix.put(tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("index: save: %w", err)
	}
	if len(skipped) > 0 {
		return fmt.Errorf("index: save: %d calls left as they were: %w", len(skipped), errors.Join(skipped...))
	}
	return nil
}

// StartRecording stores a call with its new recording. A call already in
// the index (its metadata, stored as the call began) keeps its flags; one
// that already has a recording is refused (ErrExists) and left as it was:
// no recording is ever replaced.
func (ix *Index) StartRecording(r *Record) error {
	err := ix.update(func(tx *bolt.Tx) error {
		old, err := ix.get(tx, r.ID)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return err
		case old.Recording.State != StateNone || !old.Purged.IsZero():
			return fmt.Errorf("call %s: %w", r.ID, ErrExists)
		default:
			for _, f := range old.Flags {
				if !slices.Contains(r.Flags, f) {
					r.Flags = append(r.Flags, f)
				}
			}
		}
		return ix.put(tx, r)
	})
	if err != nil {
		return fmt.Errorf("index: start recording: %w", err)
	}
	return nil
}

// BySource returns the id of the call recorded from the wire's call
// source (see Record.Source), or "" when there is none.
func (ix *Index) BySource(source string) (string, error) {
	var id string
	err := ix.view(func(tx *bolt.Tx) error {
		id = string(tx.Bucket(bBySource).Get(ix.keys.lookupKey("source", source)))
		return nil
	})
	return id, err
}

// Get returns one call.
func (ix *Index) Get(id string) (*Record, error) {
	var r *Record
	err := ix.view(func(tx *bolt.Tx) error {
		var err error
		r, err = ix.get(tx, id)
		return err
	})
	return r, err
}

func (ix *Index) get(tx *bolt.Tx, id string) (*Record, error) {
	v := tx.Bucket(bCalls).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("index: call %s: %w", id, ErrNotFound)
	}
	plain, err := ix.keys.open(bCalls, []byte(id), v)
	if err != nil {
		return nil, fmt.Errorf("index: call %s: %w", id, err)
	}
	r, err := decode(plain)
	if err != nil {
		return nil, fmt.Errorf("index: call %s: %w", id, err)
	}
	if r.ID != id {
		return nil, fmt.Errorf("index: call %s: %w: the record is call %s's", id, ErrCorrupt, r.ID)
	}
	return r, nil
}

// decode reads a record's JSON.
func decode(v []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if r.ID == "" {
		return nil, fmt.Errorf("%w: no id", ErrCorrupt)
	}
	return &r, nil
}

// Query selects calls; zero times are open ends, a zero Limit is no limit.
type Query struct {
	Number    string // E.164 number seen in any leg
	Extension string
	From, To  time.Time
	Limit     int
	// Newest walks from the latest start back, rather than from the
	// earliest on.
	Newest bool
	// Match, if set, keeps only the calls it accepts (filters no lookup
	// key serves: direction, duration, flags…).
	Match func(*Record) bool
	// MaxScan, if set, stops the walk after that many calls were read
	// and tested by Match: a filter without a lookup key over 2 million
	// calls answers in bounded time, and says it stopped (Found.Cut).
	MaxScan int
}

// Found is what Search found.
type Found struct {
	Records []*Record
	Scanned int  // calls read
	Cut     bool // MaxScan was reached before the range was walked whole
}

// Find returns the calls matching q in order of start (or latest first,
// with q.Newest).
func (ix *Index) Find(q Query) ([]*Record, error) {
	f, err := ix.Search(q)
	return f.Records, err
}

// Search is Find that also says how far it looked.
func (ix *Index) Search(q Query) (Found, error) {
	var f Found
	err := ix.view(func(tx *bolt.Tx) error {
		f = Found{}
		var b *bolt.Bucket
		var prefix []byte
		switch {
		case q.Number != "":
			b, prefix = tx.Bucket(bByNumber), ix.keys.lookupKey("number", q.Number)
		case q.Extension != "":
			b, prefix = tx.Bucket(bByExt), ix.keys.lookupKey("extension", q.Extension)
		default:
			b = tx.Bucket(bByTime)
		}
		var walkErr error
		walk(b, prefix, q.From, q.To, q.Newest, func(id string) bool {
			if q.MaxScan > 0 && f.Scanned >= q.MaxScan {
				f.Cut = true
				return false
			}
			f.Scanned++
			r, err := ix.get(tx, id)
			if err != nil {
				walkErr = err
				return false
			}
			if q.Match != nil && !q.Match(r) {
				return true
			}
			f.Records = append(f.Records, r)
			return q.Limit <= 0 || len(f.Records) < q.Limit
		})
		return walkErr
	})
	if err != nil {
		return Found{}, fmt.Errorf("index: find: %w", err)
	}
	return f, nil
}

// walk visits the ids under prefix (a value's keyed hash, or none for the
// time bucket) with a start in [from, to), earliest first or latest
// first, until each returns false.
func walk(b *bolt.Bucket, prefix []byte, from, to time.Time, newest bool, each func(id string) bool) {
	lo := append(slices.Clip(prefix), timeKey(from)...)
	var hi []byte // the first key past the range
	if !to.IsZero() {
		hi = append(slices.Clip(prefix), timeKey(to)...)
	}
	c := b.Cursor()
	id := func(k []byte) (string, bool) {
		if len(k) < len(prefix)+8 || !bytes.HasPrefix(k, prefix) {
			return "", false
		}
		return string(k[len(prefix)+8:]), true
	}
	if !newest {
		for k, _ := c.Seek(lo); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if hi != nil && bytes.Compare(k, hi) >= 0 {
				return
			}
			if i, ok := id(k); ok && !each(i) {
				return
			}
		}
		return
	}
	var k []byte
	switch {
	case hi != nil:
		k, _ = c.Seek(hi)
	case len(prefix) > 0:
		if end := prefixEnd(prefix); end != nil {
			k, _ = c.Seek(end)
		}
	}
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		if bytes.Compare(k, lo) < 0 {
			return
		}
		if i, ok := id(k); ok && !each(i) {
			return
		}
	}
}

// prefixEnd is the first key after every key with the prefix (nil if
// there is none: the prefix is all 0xff).
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Purge ends a recording at its retention's end, in one transaction: the
// holds are checked, shred destroys the audio, and the record becomes a
// tombstone. A hold, or holds that cannot be read, stop it (ErrHeld, or
// the read error) before shred is called; so does a failed shred, which
// leaves the record as it was.
func (ix *Index) Purge(id string, at time.Time, shred func() error) error {
	err := ix.end(id, shred, func(r *Record) bool {
		if !r.Purged.IsZero() {
			return false
		}
		r.Purged = at
		r.Recording.State = StateShredded
		return true
	})
	if err != nil {
		return fmt.Errorf("index: purge: %w", err)
	}
	return nil
}

// Erase ends a recording inside its retention, as an erasure case asks
// (an objection upheld), with Purge's guarantees: a held call, or one
// whose holds cannot be read, is refused before shred is called. The
// record stays, its audio state erased. It returns the record as it was.
func (ix *Index) Erase(id string, shred func() error) (*Record, error) {
	var before *Record
	err := ix.end(id, shred, func(r *Record) bool {
		c := *r
		c.Flags = slices.Clone(r.Flags)
		before = &c
		if !r.Recording.State.HasAudio() {
			return false
		}
		r.Recording = Recording{State: StateErased, Duration: r.Recording.Duration, SHA256: r.Recording.SHA256}
		r.Flags = append(slices.DeleteFunc(r.Flags, func(f string) bool { return f == FlagErased }), FlagErased)
		return true
	})
	if err != nil {
		return before, fmt.Errorf("index: erase: %w", err)
	}
	return before, nil
}

// FlagErased marks a call whose recording an erasure case destroyed.
const FlagErased = "erased"

// end shreds a call's audio and changes its record in one transaction,
// unless it is held (or its holds cannot be read); change says whether
// there is anything to do.
func (ix *Index) end(id string, shred func() error, change func(*Record) bool) error {
	return ix.update(func(tx *bolt.Tx) error {
		hs, err := ix.holds(tx, id)
		if err != nil {
			return err
		}
		if len(hs) > 0 {
			return fmt.Errorf("call %s: %w", id, ErrHeld)
		}
		r, err := ix.get(tx, id)
		if err != nil {
			return err
		}
		if !change(r) {
			return nil
		}
		if err := shred(); err != nil {
			return err
		}
		return ix.put(tx, r)
	})
}

// Check verifies the file's consistency (bbolt's own page checks), that
// every call opens and decodes, and that its time, number and extension
// keys exist.
func (ix *Index) Check() error {
	return ix.view(func(tx *bolt.Tx) error {
		var first error
		for err := range tx.Check() { // drained whole: Check's goroutine ends with the channel
			if first == nil {
				first = fmt.Errorf("index: check: %w", err)
			}
		}
		if first != nil {
			return first
		}
		return tx.Bucket(bCalls).ForEach(func(k, _ []byte) error {
			r, err := ix.get(tx, string(k))
			if err != nil {
				return fmt.Errorf("index: check: %w", err)
			}
			if tx.Bucket(bByTime).Get(append(timeKey(r.Start), r.ID...)) == nil {
				return fmt.Errorf("index: check %s: no time key", r.ID)
			}
			for _, n := range r.Numbers {
				if tx.Bucket(bByNumber).Get(ix.secKey("number", n, r.Start, r.ID)) == nil {
					return fmt.Errorf("index: check %s: no key for a number", r.ID)
				}
			}
			for _, e := range r.Extensions {
				if tx.Bucket(bByExt).Get(ix.secKey("extension", e, r.Start, r.ID)) == nil {
					return fmt.Errorf("index: check %s: no key for an extension", r.ID)
				}
			}
			return nil
		})
	})
}
