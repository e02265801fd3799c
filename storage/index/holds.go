package index

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Hold is a legal hold on a call. A call may carry several (a complaint
// and a police request), each placed and released on its own.
type Hold struct {
	ID     string    `json:"id"` // "h" and 8 hex digits, unique on its call
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// ErrAmbiguous: a call has several holds and the release did not say
// which.
var ErrAmbiguous = errors.New("index: the call has several holds: name the one to release")

// AddHold puts a call under a legal hold; held calls are never purged.
// The hold keeps h.ID if it has one (a rebuilt index keeps its holds'
// ids), or gets a new one; it returns the hold as stored.
func (ix *Index) AddHold(id string, h Hold) (Hold, error) {
	if h.ID == "" {
		var b [4]byte
		rand.Read(b[:])
		h.ID = "h" + hex.EncodeToString(b[:])
	}
	err := ix.changeHolds(id, func(hs []Hold) ([]Hold, error) {
		if slices.ContainsFunc(hs, func(o Hold) bool { return o.ID == h.ID }) {
			return nil, fmt.Errorf("hold %s exists", h.ID)
		}
		return append(hs, h), nil
	})
	if err != nil {
		return Hold{}, fmt.Errorf("index: hold %s: %w", id, err)
	}
	return h, nil
}

// ReleaseHold lifts one hold: the one named, or the only one when holdID
// is "". An unknown call is ErrNotFound, an unknown hold ErrNoHold, and
// "" on a call with several holds ErrAmbiguous. It returns the hold
// released.
func (ix *Index) ReleaseHold(id, holdID string) (Hold, error) {
	var released Hold
	err := ix.changeHolds(id, func(hs []Hold) ([]Hold, error) {
		i := slices.IndexFunc(hs, func(h Hold) bool { return h.ID == holdID })
		switch {
		case holdID == "" && len(hs) == 1:
			i = 0
		case holdID == "" && len(hs) > 1:
			return nil, ErrAmbiguous
		case holdID == "":
			return nil, ErrNoHold
		case i < 0:
			return nil, fmt.Errorf("%w: %s", ErrNoHold, holdID)
		}
		released = hs[i]
		return slices.Delete(hs, i, i+1), nil
	})
	if err != nil {
		return Hold{}, fmt.Errorf("index: release %s: %w", id, err)
	}
	return released, nil
}

// changeHolds replaces a stored call's holds with what change makes of
// them, in one transaction.
func (ix *Index) changeHolds(id string, change func([]Hold) ([]Hold, error)) error {
	return ix.update(func(tx *bolt.Tx) error {
		if _, err := ix.get(tx, id); err != nil {
			return err
		}
		hs, err := ix.holds(tx, id)
		if err != nil {
			return err
		}
		if hs, err = change(hs); err != nil {
			return err
		}
		return ix.putHolds(tx, id, hs)
	})
}

// Holds returns a call's holds, oldest first. An error means they could
// not be read: callers must then treat the call as held.
func (ix *Index) Holds(id string) ([]Hold, error) {
	var hs []Hold
	err := ix.view(func(tx *bolt.Tx) error {
		var err error
		hs, err = ix.holds(tx, id)
		return err
	})
	return hs, err
}

func (ix *Index) holds(tx *bolt.Tx, id string) ([]Hold, error) {
	v := tx.Bucket(bHolds).Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	plain, err := ix.keys.open(bHolds, []byte(id), v)
	if err != nil {
		return nil, fmt.Errorf("index: holds of %s unreadable: %w", id, err)
	}
	var hs []Hold
	if err := json.Unmarshal(plain, &hs); err != nil {
		return nil, fmt.Errorf("index: holds of %s unreadable: %w: %v", id, ErrCorrupt, err)
	}
	return hs, nil
}

func (ix *Index) putHolds(tx *bolt.Tx, id string, hs []Hold) error {
	if len(hs) == 0 {
		return tx.Bucket(bHolds).Delete([]byte(id))
	}
	v, err := json.Marshal(hs)
	if err != nil {
		return err
	}
	return tx.Bucket(bHolds).Put([]byte(id), ix.keys.seal(bHolds, []byte(id), v))
}

// HeldCalls is how many calls carry a legal hold.
func (ix *Index) HeldCalls() (int, error) {
	n := 0
	err := ix.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bHolds).ForEach(func(k, _ []byte) error {
			hs, err := ix.holds(tx, string(k))
			if err != nil {
				return err
			}
			if len(hs) > 0 {
				n++
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("index: holds: %w", err)
	}
	return n, nil
}
