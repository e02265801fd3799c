package index

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Requests carry what a command run beside the daemon asks the daemon to
// do to a live call (an opt-out): the command stores one, the daemon
// carries it out within a second and stores the answer, which the command
// reads back. They are sealed like every value.
var bRequests = []byte("requests")

// Request is one such request and, once done, its answer.
type Request struct {
	ID     string    `json:"id"`
	Action string    `json:"action"` // optout
	Call   string    `json:"call"`
	Who    string    `json:"who"`
	Why    string    `json:"why"`
	At     time.Time `json:"at"`
	Done   bool      `json:"done"`
	Answer string    `json:"answer,omitempty"` // what was done
	Err    string    `json:"error,omitempty"`  // why it was refused
}

// AddRequest stores a request and returns it with its id.
func (ix *Index) AddRequest(r Request) (Request, error) {
	var b [8]byte
	rand.Read(b[:])
	r.ID, r.Done = hex.EncodeToString(b[:]), false
	err := ix.update(func(tx *bolt.Tx) error { return ix.putJSON(tx, bRequests, []byte(r.ID), r) })
	if err != nil {
		return r, fmt.Errorf("index: request: %w", err)
	}
	return r, nil
}

// Requests returns the requests not yet done, oldest first.
func (ix *Index) Requests() ([]Request, error) {
	var out []Request
	err := ix.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bRequests).ForEach(func(k, _ []byte) error {
			var r Request
			if _, err := ix.getJSON(tx, bRequests, k, &r); err != nil {
				return err
			}
			if !r.Done {
				out = append(out, r)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("index: requests: %w", err)
	}
	for i := 1; i < len(out); i++ { // few: insertion sort by time
		for j := i; j > 0 && out[j].At.Before(out[j-1].At); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// Request returns one request.
func (ix *Index) Request(id string) (Request, error) {
	var r Request
	err := ix.view(func(tx *bolt.Tx) error {
		found, err := ix.getJSON(tx, bRequests, []byte(id), &r)
		if err == nil && !found {
			err = ErrNotFound
		}
		return err
	})
	if err != nil {
		return r, fmt.Errorf("index: request %s: %w", id, err)
	}
	return r, nil
}

// AnswerRequest marks a request done with its answer, or the reason it
// was refused.
func (ix *Index) AnswerRequest(id, answer string, refused error) error {
	err := ix.update(func(tx *bolt.Tx) error {
		var r Request
		found, err := ix.getJSON(tx, bRequests, []byte(id), &r)
		switch {
		case err != nil:
			return err
		case !found:
			return ErrNotFound
		}
		r.Done, r.Answer = true, answer
		if refused != nil {
			r.Err = refused.Error()
		}
		return ix.putJSON(tx, bRequests, []byte(id), r)
	})
	if err != nil {
		return fmt.Errorf("index: request %s: %w", id, err)
	}
	return nil
}

// DeleteRequest forgets a request (its asker has read the answer).
func (ix *Index) DeleteRequest(id string) error {
	return ix.update(func(tx *bolt.Tx) error { return tx.Bucket(bRequests).Delete([]byte(id)) })
}
