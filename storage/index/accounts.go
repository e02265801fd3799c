package index

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The people who use the box, their API tokens, the box's settings and the
// notes and tags on calls live in the index too, in their own buckets,
// sealed like every value. What these records mean (roles, password rules,
// lockout) is the firmware's business: the index stores them.

var (
	bUsers    = []byte("users")
	bTokens   = []byte("tokens")
	bSettings = []byte("settings")
	bNotes    = []byte("notes")
)

// Errors of the account buckets.
var (
	ErrNoUser     = errors.New("index: no such user")
	ErrUserExists = errors.New("index: a user of that name exists")
)

// User is a person (or a technician's account) who signs in.
type User struct {
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	PasswordHash string    `json:"password_hash"` // argon2id, in its encoded form
	MustChange   bool      `json:"must_change"`   // a one-time password: change it at the next sign-in
	TOTPSecret   string    `json:"totp_secret,omitempty"`
	Disabled     bool      `json:"disabled,omitempty"`
	Failures     int       `json:"failures,omitempty"` // failed sign-ins since the last success or lockout
	Lockouts     int       `json:"lockouts,omitempty"` // lockouts since the last success
	LockedUntil  time.Time `json:"locked_until,omitzero"`
	Created      time.Time `json:"created"`
	CreatedBy    string    `json:"created_by,omitempty"`
	LastSignIn   time.Time `json:"last_sign_in,omitzero"`
}

// Token is an API token as stored: found by the keyed hash of the token,
// which is never stored itself.
type Token struct {
	User    string    `json:"user"`
	Created time.Time `json:"created"`
}

// Note is a note on a call.
type Note struct {
	By   string    `json:"by"`
	At   time.Time `json:"at"`
	Text string    `json:"text"`
}

// Annotation is what users have added to a call: notes and tags.
type Annotation struct {
	Tags  []string `json:"tags,omitempty"`
	Notes []Note   `json:"notes,omitempty"`
}

// getJSON reads and opens one sealed JSON value; found is false when there
// is none.
func (ix *Index) getJSON(tx *bolt.Tx, bucket, key []byte, v any) (found bool, err error) {
	sealed := tx.Bucket(bucket).Get(key)
	if sealed == nil {
		return false, nil
	}
	plain, err := ix.keys.open(bucket, key, sealed)
	if err != nil {
		return true, err
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return true, fmt.Errorf("%w: %s %q: %v", ErrCorrupt, bucket, key, err)
	}
	return true, nil
}

func (ix *Index) putJSON(tx *bolt.Tx, bucket, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put(key, ix.keys.seal(bucket, key, b))
}

// userKey is the keyed hash a user is found by: staff names are personal
// data too.
func (ix *Index) userKey(name string) []byte { return ix.keys.lookupKey("user", name) }

// AddUser stores a new user; a name in use is ErrUserExists.
func (ix *Index) AddUser(u User) error {
	if u.Name == "" {
		return errors.New("index: user without a name")
	}
	err := ix.update(func(tx *bolt.Tx) error {
		k := ix.userKey(u.Name)
		if tx.Bucket(bUsers).Get(k) != nil {
			return ErrUserExists
		}
		return ix.putJSON(tx, bUsers, k, u)
	})
	if err != nil {
		return fmt.Errorf("index: add user %s: %w", u.Name, err)
	}
	return nil
}

// User returns one user; an unknown name is ErrNoUser.
func (ix *Index) User(name string) (User, error) {
	var u User
	err := ix.view(func(tx *bolt.Tx) error {
		found, err := ix.getJSON(tx, bUsers, ix.userKey(name), &u)
		if err == nil && !found {
			err = ErrNoUser
		}
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("index: user %s: %w", name, err)
	}
	return u, nil
}

// UpdateUser changes one user in a transaction: change sees the stored
// user, and what it leaves is stored unless it returns an error (which
// UpdateUser returns, wrapped). The name cannot change.
func (ix *Index) UpdateUser(name string, change func(*User) error) error {
	err := ix.update(func(tx *bolt.Tx) error {
		var u User
		found, err := ix.getJSON(tx, bUsers, ix.userKey(name), &u)
		switch {
		case err != nil:
			return err
		case !found:
			return ErrNoUser
		}
		if err := change(&u); err != nil {
			return err
		}
		u.Name = name
		return ix.putJSON(tx, bUsers, ix.userKey(name), u)
	})
	if err != nil {
		return fmt.Errorf("index: user %s: %w", name, err)
	}
	return nil
}

// Users returns every user, in order of name. A user that does not open
// is an error: no account is silently missing from the list.
func (ix *Index) Users() ([]User, error) {
	var out []User
	err := ix.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bUsers).ForEach(func(k, _ []byte) error {
			var u User
			if _, err := ix.getJSON(tx, bUsers, k, &u); err != nil {
				return err
			}
			out = append(out, u)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("index: users: %w", err)
	}
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// PutToken stores an API token of a user, by its keyed hash.
func (ix *Index) PutToken(token string, t Token) error {
	k := ix.keys.lookupKey("token", token)
	err := ix.update(func(tx *bolt.Tx) error { return ix.putJSON(tx, bTokens, k, t) })
	if err != nil {
		return fmt.Errorf("index: token: %w", err)
	}
	return nil
}

// TokenUser returns the stored token; an unknown token is ErrNoUser.
func (ix *Index) TokenUser(token string) (Token, error) {
	var t Token
	k := ix.keys.lookupKey("token", token)
	err := ix.view(func(tx *bolt.Tx) error {
		found, err := ix.getJSON(tx, bTokens, k, &t)
		if err == nil && !found {
			err = ErrNoUser
		}
		return err
	})
	if err != nil {
		return Token{}, fmt.Errorf("index: token: %w", err)
	}
	return t, nil
}

// DeleteTokens removes every token of a user; it returns how many.
func (ix *Index) DeleteTokens(user string) (int, error) {
	n := 0
	err := ix.update(func(tx *bolt.Tx) error {
		n = 0
		b := tx.Bucket(bTokens)
		var gone [][]byte
		err := b.ForEach(func(k, _ []byte) error {
			var t Token
			if _, err := ix.getJSON(tx, bTokens, k, &t); err != nil {
				gone = append(gone, bytes.Clone(k)) // a token that does not open grants nothing: clear it
				return nil
			}
			if t.User == user {
				gone = append(gone, bytes.Clone(k))
				n++
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range gone {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("index: tokens: %w", err)
	}
	return n, nil
}

// Setting reads a setting into v; found is false when it was never set.
func (ix *Index) Setting(name string, v any) (found bool, err error) {
	err = ix.view(func(tx *bolt.Tx) error {
		found, err = ix.getJSON(tx, bSettings, []byte(name), v)
		return err
	})
	if err != nil {
		return found, fmt.Errorf("index: setting %s: %w", name, err)
	}
	return found, nil
}

// PutSetting stores a setting.
func (ix *Index) PutSetting(name string, v any) error {
	err := ix.update(func(tx *bolt.Tx) error { return ix.putJSON(tx, bSettings, []byte(name), v) })
	if err != nil {
		return fmt.Errorf("index: setting %s: %w", name, err)
	}
	return nil
}

// Annotation returns a call's notes and tags (empty when it has none).
func (ix *Index) Annotation(id string) (Annotation, error) {
	var a Annotation
	err := ix.view(func(tx *bolt.Tx) error {
		_, err := ix.getJSON(tx, bNotes, []byte(id), &a)
		return err
	})
	if err != nil {
		return Annotation{}, fmt.Errorf("index: notes %s: %w", id, err)
	}
	return a, nil
}

// Annotate changes a call's notes and tags in a transaction; the call must
// exist.
func (ix *Index) Annotate(id string, change func(*Annotation) error) error {
	err := ix.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bCalls).Get([]byte(id)) == nil {
			return ErrNotFound
		}
		var a Annotation
		if _, err := ix.getJSON(tx, bNotes, []byte(id), &a); err != nil {
			return err
		}
		if err := change(&a); err != nil {
			return err
		}
		return ix.putJSON(tx, bNotes, []byte(id), a)
	})
	if err != nil {
		return fmt.Errorf("index: notes %s: %w", id, err)
	}
	return nil
}

// Annotated returns the ids of the calls whose annotation match accepts.
// Few calls carry notes, so this walks them all.
func (ix *Index) Annotated(match func(Annotation) bool) (map[string]bool, error) {
	out := map[string]bool{}
	err := ix.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bNotes).ForEach(func(k, _ []byte) error {
			var a Annotation
			if _, err := ix.getJSON(tx, bNotes, k, &a); err != nil {
				return err
			}
			if match(a) {
				out[string(k)] = true
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("index: notes: %w", err)
	}
	return out, nil
}

// SalvageAccounts copies the users, tokens, settings, notes, cases and
// access grants of an old index file sealed under the same key (one being
// rebuilt) into this one: every value that opens. It returns how many it copied.
func (ix *Index) SalvageAccounts(oldPath string) (int, error) {
	type kv struct{ bucket, k, v []byte }
	var raw []kv
	err := viewOld(oldPath, func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bUsers, bTokens, bSettings, bNotes, []byte(Cases), []byte(Grants)} {
			b := tx.Bucket(name)
			if b == nil {
				continue
			}
			b.ForEach(func(k, v []byte) error {
				if _, err := ix.keys.open(name, k, v); err == nil {
					raw = append(raw, kv{name, bytes.Clone(k), bytes.Clone(v)})
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("index: salvage accounts: %w", err)
	}
	err = ix.update(func(tx *bolt.Tx) error {
		for _, r := range raw {
			if err := tx.Bucket(r.bucket).Put(r.k, r.v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("index: salvage accounts: %w", err)
	}
	return len(raw), nil
}
