package index

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Documents are the firmware's own records kept in the index, sealed like
// every value: the Head of IG's cases and the supervisors' access grants.
// What they mean is the firmware's business; the index stores each as a
// JSON value under its id, in the bucket of its kind.

// Kind is a kind of document, and the name of its bucket.
type Kind string

// The kinds of document.
const (
	Cases  Kind = "cases"  // subject access, police and erasure cases
	Grants Kind = "grants" // supervisors' access requests and their answers
)

var docKinds = []Kind{Cases, Grants}

func (k Kind) bucket() ([]byte, error) {
	for _, d := range docKinds {
		if d == k {
			return []byte(k), nil
		}
	}
	return nil, fmt.Errorf("index: no kind of document %q", string(k))
}

// ErrNoDoc: no document of that kind has the id.
var ErrNoDoc = errors.New("index: no such document")

// Doc reads one document into v; an unknown id is ErrNoDoc.
func (ix *Index) Doc(kind Kind, id string, v any) error {
	b, err := kind.bucket()
	if err != nil {
		return err
	}
	err = ix.view(func(tx *bolt.Tx) error {
		found, err := ix.getJSON(tx, b, []byte(id), v)
		if err == nil && !found {
			err = ErrNoDoc
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("index: %s %s: %w", kind, id, err)
	}
	return nil
}

// UpdateDoc changes one document in a transaction: v is filled with the
// stored document (left as it is when there is none, and found says so),
// change changes it, and v is stored unless change returns an error
// (which UpdateDoc returns, wrapped). Two changes never interleave.
func (ix *Index) UpdateDoc(kind Kind, id string, v any, change func(found bool) error) error {
	b, err := kind.bucket()
	if err != nil {
		return err
	}
	if id == "" {
		return fmt.Errorf("index: %s without an id", kind)
	}
	err = ix.update(func(tx *bolt.Tx) error {
		found, err := ix.getJSON(tx, b, []byte(id), v)
		if err != nil {
			return err
		}
		if err := change(found); err != nil {
			return err
		}
		return ix.putJSON(tx, b, []byte(id), v)
	})
	if err != nil {
		return fmt.Errorf("index: %s %s: %w", kind, id, err)
	}
	return nil
}

// Docs calls each for every document of a kind, in order of id, with a
// function that opens it into a value. A document that does not open is
// an error: none is silently missing from a list.
func (ix *Index) Docs(kind Kind, each func(id string, open func(v any) error) error) error {
	b, err := kind.bucket()
	if err != nil {
		return err
	}
	err = ix.view(func(tx *bolt.Tx) error {
		return tx.Bucket(b).ForEach(func(k, _ []byte) error {
			return each(string(k), func(v any) error {
				_, err := ix.getJSON(tx, b, k, v)
				return err
			})
		})
	})
	if err != nil {
		return fmt.Errorf("index: %s: %w", kind, err)
	}
	return nil
}
