package index

import (
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/renameio/v2"
	bolt "go.etcd.io/bbolt"
)

// ErrAuditBroken is returned by VerifyAudit when the chain does not hold.
var ErrAuditBroken = errors.New("index: audit log chain broken")

// Entry is one line of the audit log: who did what, to what, when, why.
type Entry struct {
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"`
	Who    string    `json:"who"`
	Action string    `json:"action"` // play, export, delete, purge, hold, release, key-rotate, key-export, config, …
	Target string    `json:"target,omitempty"`
	Why    string    `json:"why,omitempty"`
	Prev   string    `json:"prev"` // the previous entry's Hash (hex); "" for the first
	Hash   string    `json:"hash"` // HMAC-SHA256 of this entry with Hash empty, under the chain key
}

// The chain is keyed (HMAC under a key derived from the index key, which
// the key-encryption key protects): whoever can edit the file but has no
// key cannot rebuild the chain after removing or changing an entry. The
// last entry's number and hash (the head) are also kept outside the index
// file, authenticated the same way, so that cutting entries off the end,
// or putting back an older copy of the file, shows too. The daemon logs
// the head daily and the status page shows it, so a record kept outside
// the box can prove a rollback of both.
func (ix *Index) digest(e Entry) string {
	e.Hash = ""
	b, _ := json.Marshal(e)
	return hex.EncodeToString(mac(ix.keys.chain, b))
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// Audit appends an entry to the log, chained to the one before, and moves
// the head on. Entries are never changed or removed. An error means the
// entry, or the head, may not be stored: callers refuse the access.
func (ix *Index) Audit(e Entry) (Entry, error) {
	ix.amu.Lock()
	defer ix.amu.Unlock()
	// In shared mode the file stays open (and locked against other
	// processes) until the head is written, so heads are written in order.
	err := ix.with(func(db *bolt.DB) error {
		err := db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bAudit)
			e.Seq, e.Prev = 1, ""
			if k, v := b.Cursor().Last(); k != nil {
				last, err := ix.entry(k, v)
				if err != nil {
					return err
				}
				e.Seq, e.Prev = last.Seq+1, last.Hash
			}
			if e.Time.IsZero() {
				e.Time = time.Now().UTC()
			}
			e.Hash = ix.digest(e)
			v, err := json.Marshal(e)
			if err != nil {
				return err
			}
			k := seqKey(e.Seq)
			return b.Put(k, ix.keys.seal(bAudit, k, v))
		})
		if err != nil {
			return err
		}
		return ix.writeHead(Head{Seq: e.Seq, Hash: e.Hash})
	})
	if err != nil {
		return Entry{}, fmt.Errorf("index: audit %s: %w", e.Action, err)
	}
	return e, nil
}

func (ix *Index) entry(k, v []byte) (Entry, error) {
	var e Entry
	plain, err := ix.keys.open(bAudit, k, v)
	if err != nil {
		return e, fmt.Errorf("%w: entry %x: %v", ErrAuditBroken, k, err)
	}
	if err := json.Unmarshal(plain, &e); err != nil {
		return e, fmt.Errorf("%w: entry %x: %v", ErrAuditBroken, k, err)
	}
	return e, nil
}

// AuditLog returns the entries in order.
func (ix *Index) AuditLog() ([]Entry, error) {
	var out []Entry
	err := ix.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bAudit).ForEach(func(k, v []byte) error {
			e, err := ix.entry(k, v)
			if err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

// VerifyAudit checks the whole chain (consecutive numbers, each entry's
// keyed hash, each entry's link to the one before) and the head: the log
// must reach it, and hold at its place the entry it names. The head may
// trail the log (an entry committed just before a power cut); the next
// entry brings it level. It returns how many entries it checked.
func (ix *Index) VerifyAudit() (int, error) {
	log, err := ix.AuditLog()
	if err != nil {
		return 0, err
	}
	prev := ""
	for i, e := range log {
		switch {
		case e.Seq != uint64(i+1):
			return i, fmt.Errorf("%w: entry %d is numbered %d (one removed?)", ErrAuditBroken, i+1, e.Seq)
		case e.Prev != prev:
			return i, fmt.Errorf("%w: entry %d does not follow entry %d", ErrAuditBroken, e.Seq, e.Seq-1)
		case !hmac.Equal([]byte(ix.digest(e)), []byte(e.Hash)):
			return i, fmt.Errorf("%w: entry %d was altered", ErrAuditBroken, e.Seq)
		}
		prev = e.Hash
	}
	h, err := ix.AuditHead()
	switch {
	case errors.Is(err, fs.ErrNotExist) && len(log) == 0:
		return 0, nil
	case errors.Is(err, fs.ErrNotExist):
		return len(log), fmt.Errorf("%w: the head file %s is missing (deleted, or the index comes from elsewhere)", ErrAuditBroken, ix.head)
	case err != nil:
		return len(log), err
	case h.Seq > uint64(len(log)):
		return len(log), fmt.Errorf("%w: the log ends at entry %d but its head records entry %d: %d entries were removed from its end", ErrAuditBroken, len(log), h.Seq, h.Seq-uint64(len(log)))
	case h.Seq > 0 && log[h.Seq-1].Hash != h.Hash:
		return len(log), fmt.Errorf("%w: entry %d is not the one the head records (the log was rolled back or replaced)", ErrAuditBroken, h.Seq)
	}
	return len(log), nil
}

// Head is the audit log's last entry, as the head file records it.
type Head struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

func (ix *Index) headMAC(h Head) string {
	return hex.EncodeToString(mac(ix.keys.chain, []byte("head"), []byte{0}, seqKey(h.Seq), []byte(h.Hash)))
}

// AuditHead reads the head file and authenticates it. A missing file is
// fs.ErrNotExist (a new box: no entry yet).
func (ix *Index) AuditHead() (Head, error) {
	b, err := os.ReadFile(ix.head)
	if err != nil {
		return Head{}, fmt.Errorf("index: audit head: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) != 4 || f[0] != "callrec-audit-head" {
		return Head{}, fmt.Errorf("%w: the head file %s is not one", ErrAuditBroken, ix.head)
	}
	seq, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return Head{}, fmt.Errorf("%w: the head file %s is not one", ErrAuditBroken, ix.head)
	}
	h := Head{Seq: seq, Hash: f[2]}
	if !hmac.Equal([]byte(ix.headMAC(h)), []byte(f[3])) {
		return Head{}, fmt.Errorf("%w: the head file %s does not authenticate", ErrAuditBroken, ix.head)
	}
	return h, nil
}

// writeHead replaces the head file atomically, mode 0600, through a
// temporary file renameio makes afresh (never one planted in the
// directory), synced before the rename.
func (ix *Index) writeHead(h Head) error {
	f, err := renameio.NewPendingFile(ix.head, renameio.WithTempDir(filepath.Dir(ix.head)), renameio.WithStaticPermissions(0o600))
	if err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	defer f.Cleanup()
	_, err = fmt.Fprintf(f, "callrec-audit-head %d %s %s\n", h.Seq, h.Hash, ix.headMAC(h))
	if err == nil {
		err = f.CloseAtomicallyReplace()
	}
	if err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	return nil
}

// SalvageAudit copies what can be read of the audit log of an old index
// file (one found damaged, being rebuilt) into this one, which must have
// no entries yet and the same key: the entries up to the first that does
// not open or chain. The head follows the last entry copied; an old head
// beyond it is reported by the caller's own entry. It returns how many
// entries it copied.
func (ix *Index) SalvageAudit(oldPath string) (int, error) {
	var raw [][2][]byte
	err := viewOld(oldPath, func(tx *bolt.Tx) error {
		b := tx.Bucket(bAudit)
		if b == nil {
			return nil
		}
		prev := ""
		return b.ForEach(func(k, v []byte) error {
			e, err := ix.entry(k, v)
			if err != nil || e.Seq != uint64(len(raw)+1) || e.Prev != prev || ix.digest(e) != e.Hash {
				return errStop
			}
			prev = e.Hash
			raw = append(raw, [2][]byte{bytes.Clone(k), bytes.Clone(v)})
			return nil
		})
	})
	if err != nil && !errors.Is(err, errStop) && len(raw) == 0 {
		return 0, fmt.Errorf("index: salvage audit log: %w", err)
	}
	ix.amu.Lock()
	defer ix.amu.Unlock()
	var head Head
	err = ix.with(func(db *bolt.DB) error {
		err := db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bAudit)
			if k, _ := b.Cursor().First(); k != nil {
				return errors.New("the log is not empty")
			}
			for _, kv := range raw {
				if err := b.Put(kv[0], kv[1]); err != nil {
					return err
				}
			}
			if len(raw) > 0 {
				last, err := ix.entry(raw[len(raw)-1][0], raw[len(raw)-1][1])
				if err != nil {
					return err
				}
				head = Head{Seq: last.Seq, Hash: last.Hash}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if head.Seq == 0 {
			if err := os.Remove(ix.head); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			return nil
		}
		return ix.writeHead(head)
	})
	if err != nil {
		return 0, fmt.Errorf("index: salvage audit log: %w", err)
	}
	return len(raw), nil
}

var errStop = errors.New("stop")

// viewOld reads an old index file (one being rebuilt) read-only; a
// damaged file is an error, not a crash.
func viewOld(path string, fn func(*bolt.Tx) error) error {
	return safely(func() error {
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
		if err != nil {
			return err
		}
		defer db.Close()
		return db.View(fn)
	})
}
