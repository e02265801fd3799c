package index

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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
	Prev   string    `json:"prev"` // hash of the previous entry (hex); "" for the first
	Hash   string    `json:"hash"` // SHA-256 of this entry with Hash empty
}

func (e *Entry) digest() string {
	c := *e
	c.Hash = ""
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Audit appends an entry to the log, chained to the one before. Entries
// are never changed or removed.
func (ix *Index) Audit(e Entry) (Entry, error) {
	err := ix.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bAudit)
		e.Seq, e.Prev = 1, ""
		if k, v := b.Cursor().Last(); k != nil {
			var last Entry
			if err := json.Unmarshal(v, &last); err != nil {
				return fmt.Errorf("%w: last entry: %v", ErrAuditBroken, err)
			}
			e.Seq, e.Prev = last.Seq+1, last.Hash
		}
		if e.Time.IsZero() {
			e.Time = time.Now().UTC()
		}
		e.Hash = e.digest()
		v, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return b.Put(binary.BigEndian.AppendUint64(nil, e.Seq), v)
	})
	if err != nil {
		return Entry{}, fmt.Errorf("index: audit %s: %w", e.Action, err)
	}
	return e, nil
}

// AuditLog returns the entries in order.
func (ix *Index) AuditLog() ([]Entry, error) {
	var out []Entry
	err := ix.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bAudit).ForEach(func(k, v []byte) error {
			var e Entry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("%w: entry %x: %v", ErrAuditBroken, k, err)
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

// VerifyAudit checks the whole chain: consecutive numbers, each entry's
// hash, and each entry's link to the one before. It returns how many
// entries it checked.
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
		case !bytes.Equal([]byte(e.digest()), []byte(e.Hash)):
			return i, fmt.Errorf("%w: entry %d was altered", ErrAuditBroken, e.Seq)
		}
		prev = e.Hash
	}
	return len(log), nil
}
