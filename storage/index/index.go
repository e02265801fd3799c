package index

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Errors, checked with errors.Is.
var (
	ErrNotFound = errors.New("index: no such call")
	ErrHeld     = errors.New("index: call is under legal hold")
	ErrCorrupt  = errors.New("index: record does not decode")
	ErrExists   = errors.New("index: a call with this id is already stored")
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
)

// HasAudio reports whether a recording in this state has a vault file.
func (s State) HasAudio() bool { return s != StateNone && s != StateShredded }

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
	// Source names the call as the wire showed it (a digest of its first
	// Call-ID, tag and start): a capture ingested twice is known by it.
	Source string `json:"source,omitempty"`
}

// Index is an open index file.
type Index struct {
	db   *bolt.DB // held open; nil in shared mode
	path string
	opts *bolt.Options
}

// Options for Open; a zero field takes the default.
type Options struct {
	Timeout time.Duration // waiting for the file lock (default 1 s)
	NoSync  bool          // skip fsync: for bulk loads in tests and benchmarks only
	// Shared opens the file for each operation and closes it after, so
	// that other processes (the technician's commands while the daemon
	// runs) can use it in between. bbolt allows one process at a time.
	Shared bool
}

// Open opens (creating) the index file.
func Open(path string, o Options) (*Index, error) {
	if o.Timeout == 0 {
		o.Timeout = time.Second
	}
	if o.Shared && o.Timeout < 10*time.Second {
		o.Timeout = 10 * time.Second // another process may hold it for a moment
	}
	ix := &Index{path: path, opts: &bolt.Options{Timeout: o.Timeout, NoSync: o.NoSync}}
	db, err := bolt.Open(path, 0o600, ix.opts)
	if err != nil {
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bCalls, bByTime, bByNumber, bByExt, bHolds, bAudit, bLive, bBySource} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
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

// Close closes the file.
func (ix *Index) Close() error {
	if ix.db == nil {
		return nil
	}
	return ix.db.Close()
}

// with runs fn on the open database, or on the file opened for the call
// in shared mode.
func (ix *Index) with(fn func(*bolt.DB) error) error {
	if ix.db != nil {
		return fn(ix.db)
	}
	db, err := bolt.Open(ix.path, 0o600, ix.opts)
	if err != nil {
		return fmt.Errorf("open %s: %w", ix.path, err)
	}
	err = fn(db)
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

// secondary keys: value ‖ 0 ‖ start ‖ id, so a prefix scan on value gives
// the calls in order of start.
func secKey(value string, start time.Time, id string) []byte {
	k := append([]byte(value), 0)
	k = append(k, timeKey(start)...)
	return append(k, id...)
}

// Put stores calls in one transaction, each replacing an earlier version
// of itself and its index entries.
func (ix *Index) Put(rs ...*Record) error {
	err := ix.update(func(tx *bolt.Tx) error {
		for _, r := range rs {
			if err := put(tx, r); err != nil {
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

// put stores one call, replacing an earlier version and its index entries.
func put(tx *bolt.Tx, r *Record) error {
	if r.ID == "" {
		return errors.New("record without id")
	}
	calls := tx.Bucket(bCalls)
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("call %s: %w", r.ID, err)
	}
	if old := calls.Get([]byte(r.ID)); old != nil {
		if o, err := Decode(old); err == nil {
			unindex(tx, o)
		}
	}
	if err := calls.Put([]byte(r.ID), data); err != nil {
		return fmt.Errorf("call %s: %w", r.ID, err)
	}
	if err := index(tx, r); err != nil {
		return fmt.Errorf("call %s: %w", r.ID, err)
	}
	return nil
}

func index(tx *bolt.Tx, r *Record) error {
	if err := tx.Bucket(bByTime).Put(append(timeKey(r.Start), r.ID...), present); err != nil {
		return err
	}
	for _, n := range r.Numbers {
		if err := tx.Bucket(bByNumber).Put(secKey(n, r.Start, r.ID), present); err != nil {
			return err
		}
	}
	for _, e := range r.Extensions {
		if err := tx.Bucket(bByExt).Put(secKey(e, r.Start, r.ID), present); err != nil {
			return err
		}
	}
	if r.Source != "" {
		if err := tx.Bucket(bBySource).Put([]byte(r.Source), []byte(r.ID)); err != nil {
			return err
		}
	}
	return nil
}

func unindex(tx *bolt.Tx, r *Record) {
	tx.Bucket(bByTime).Delete(append(timeKey(r.Start), r.ID...))
	for _, n := range r.Numbers {
		tx.Bucket(bByNumber).Delete(secKey(n, r.Start, r.ID))
	}
	for _, e := range r.Extensions {
		tx.Bucket(bByExt).Delete(secKey(e, r.Start, r.ID))
	}
	if r.Source != "" {
		tx.Bucket(bBySource).Delete([]byte(r.Source))
	}
}

// Save stores what is known of calls, in one transaction. A call already
// stored keeps its recording, its tombstone and its flags (the recorder's
// one_way, no_media…, which the tracker does not know); only the rest is
// updated.
func (ix *Index) Save(rs ...*Record) error {
	err := ix.update(func(tx *bolt.Tx) error {
		for _, r := range rs {
			if v := tx.Bucket(bCalls).Get([]byte(r.ID)); v != nil {
				if old, err := Decode(v); err == nil {
					r.Recording, r.Purged = old.Recording, old.Purged
					for _, f := range old.Flags {
						if !slices.Contains(r.Flags, f) {
							r.Flags = append(r.Flags, f)
						}
					}
				}
			}
			if err := put(tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("index: save: %w", err)
	}
	return nil
}

// StartRecording stores a call with its new recording. A call already in
// the index (its metadata, stored as the call began) keeps its flags; one
// that already has a recording is refused (ErrExists) and left as it was:
// no recording is ever replaced.
func (ix *Index) StartRecording(r *Record) error {
	err := ix.update(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bCalls).Get([]byte(r.ID)); v != nil {
			old, err := Decode(v)
			if err != nil {
				return fmt.Errorf("call %s: %w", r.ID, err)
			}
			if old.Recording.State != StateNone || !old.Purged.IsZero() {
				return fmt.Errorf("call %s: %w", r.ID, ErrExists)
			}
			for _, f := range old.Flags {
				if !slices.Contains(r.Flags, f) {
					r.Flags = append(r.Flags, f)
				}
			}
		}
		return put(tx, r)
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
		id = string(tx.Bucket(bBySource).Get([]byte(source)))
		return nil
	})
	return id, err
}

// Get returns one call.
func (ix *Index) Get(id string) (*Record, error) {
	var r *Record
	err := ix.view(func(tx *bolt.Tx) error {
		var err error
		r, err = get(tx, id)
		return err
	})
	return r, err
}

func get(tx *bolt.Tx, id string) (*Record, error) {
	v := tx.Bucket(bCalls).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("index: call %s: %w", id, ErrNotFound)
	}
	r, err := Decode(v)
	if err != nil {
		return nil, fmt.Errorf("index: call %s: %w", id, err)
	}
	return r, nil
}

// Decode reads a stored record.
func Decode(v []byte) (*Record, error) {
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
}

// Find returns the calls matching q in order of start.
func (ix *Index) Find(q Query) ([]*Record, error) {
	var out []*Record
	err := ix.view(func(tx *bolt.Tx) error {
		var ids []string
		switch {
		case q.Number != "":
			ids = scan(tx.Bucket(bByNumber), q.Number, q.From, q.To, q.Limit)
		case q.Extension != "":
			ids = scan(tx.Bucket(bByExt), q.Extension, q.From, q.To, q.Limit)
		default:
			c := tx.Bucket(bByTime).Cursor()
			for k, _ := c.Seek(timeKey(q.From)); k != nil; k, _ = c.Next() {
				if !q.To.IsZero() && bytes.Compare(k[:8], timeKey(q.To)) >= 0 {
					break
				}
				ids = append(ids, string(k[8:]))
				if q.Limit > 0 && len(ids) == q.Limit {
					break
				}
			}
		}
		for _, id := range ids {
			r, err := get(tx, id)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index: find: %w", err)
	}
	return out, nil
}

// scan walks a secondary index for one value between two times.
func scan(b *bolt.Bucket, value string, from, to time.Time, limit int) []string {
	prefix := append([]byte(value), 0)
	var ids []string
	c := b.Cursor()
	for k, _ := c.Seek(append(append([]byte{}, prefix...), timeKey(from)...)); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		t := k[len(prefix) : len(prefix)+8]
		if !to.IsZero() && bytes.Compare(t, timeKey(to)) >= 0 {
			break
		}
		ids = append(ids, string(k[len(prefix)+8:]))
		if limit > 0 && len(ids) == limit {
			break
		}
	}
	return ids
}

// Hold is a legal hold on a call.
type Hold struct {
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// SetHold puts a call under legal hold; held calls are never purged or
// deleted.
func (ix *Index) SetHold(id string, h Hold) error {
	return ix.update(func(tx *bolt.Tx) error {
		if _, err := get(tx, id); err != nil {
			return err
		}
		v, _ := json.Marshal(h)
		return tx.Bucket(bHolds).Put([]byte(id), v)
	})
}

// ReleaseHold lifts a legal hold.
func (ix *Index) ReleaseHold(id string) error {
	return ix.update(func(tx *bolt.Tx) error { return tx.Bucket(bHolds).Delete([]byte(id)) })
}

// HoldOf returns a call's hold, or nil when it has none. An error means
// the hold could not be read: callers must then treat the call as held.
func (ix *Index) HoldOf(id string) (*Hold, error) {
	var h *Hold
	err := ix.view(func(tx *bolt.Tx) error {
		var err error
		h, err = holdOf(tx, id)
		return err
	})
	return h, err
}

func holdOf(tx *bolt.Tx, id string) (*Hold, error) {
	v := tx.Bucket(bHolds).Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	h := &Hold{}
	if err := json.Unmarshal(v, h); err != nil {
		return nil, fmt.Errorf("index: hold of %s unreadable: %w", id, err)
	}
	return h, nil
}

// Purge ends a recording at its retention's end, in one transaction: the
// hold is checked, shred destroys the audio, and the record becomes a
// tombstone. A hold, or a hold that cannot be read, stops it (ErrHeld,
// or the read error) before shred is called; so does a failed shred,
// which leaves the record as it was.
func (ix *Index) Purge(id string, at time.Time, shred func() error) error {
	err := ix.update(func(tx *bolt.Tx) error {
		h, err := holdOf(tx, id)
		if err != nil {
			return err
		}
		if h != nil {
			return fmt.Errorf("call %s: %w", id, ErrHeld)
		}
		r, err := get(tx, id)
		if err != nil {
			return err
		}
		if !r.Purged.IsZero() {
			return nil
		}
		if err := shred(); err != nil {
			return err
		}
		r.Purged = at
		r.Recording.State = StateShredded
		return put(tx, r)
	})
	if err != nil {
		return fmt.Errorf("index: purge: %w", err)
	}
	return nil
}

// Check verifies the file's consistency (bbolt's own page checks), that
// every call decodes, and that its time, number and extension keys exist.
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
		return tx.Bucket(bCalls).ForEach(func(k, v []byte) error {
			r, err := Decode(v)
			if err != nil {
				return fmt.Errorf("index: check %s: %w", k, err)
			}
			if tx.Bucket(bByTime).Get(append(timeKey(r.Start), r.ID...)) == nil {
				return fmt.Errorf("index: check %s: no time key", r.ID)
			}
			for _, n := range r.Numbers {
				if tx.Bucket(bByNumber).Get(secKey(n, r.Start, r.ID)) == nil {
					return fmt.Errorf("index: check %s: no key for a number", r.ID)
				}
			}
			for _, e := range r.Extensions {
				if tx.Bucket(bByExt).Get(secKey(e, r.Start, r.ID)) == nil {
					return fmt.Errorf("index: check %s: no key for extension %s", r.ID, e)
				}
			}
			return nil
		})
	})
}
