package index

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The live bucket keeps, for each call in progress, what the recorder
// needs to follow it again after a restart (its dialogs, parties and media
// addresses), as the recorder encodes it, sealed like every value. Entries
// go when calls end.

// PutLive stores the state of a call in progress.
func (ix *Index) PutLive(id string, state []byte) error {
	err := ix.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bLive).Put([]byte(id), ix.keys.seal(bLive, []byte(id), state))
	})
	if err != nil {
		return fmt.Errorf("index: live %s: %w", id, err)
	}
	return nil
}

// DeleteLive forgets calls no longer in progress.
func (ix *Index) DeleteLive(ids ...string) error {
	err := ix.update(func(tx *bolt.Tx) error {
		for _, id := range ids {
			if err := tx.Bucket(bLive).Delete([]byte(id)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("index: live: %w", err)
	}
	return nil
}

// Live returns the state of every call that was in progress, by id. A
// state that does not open is an error: the call is not silently dropped.
func (ix *Index) Live() (map[string][]byte, error) {
	out := map[string][]byte{}
	err := ix.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bLive).ForEach(func(k, v []byte) error {
			plain, err := ix.keys.open(bLive, k, v)
			if err != nil {
				return err
			}
			out[string(k)] = plain
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("index: live: %w", err)
	}
	return out, nil
}
