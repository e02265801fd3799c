package vault

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/renameio/v2"
	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the length of keys, data and key-encryption alike.
const KeySize = 32

// Key is a key-encryption key. Its String and GoString never show it.
type Key struct {
	ID    [8]byte // the first bytes of SHA-256(key): names the key in file headers
	bytes [KeySize]byte
}

func (k Key) String() string   { return "vault.Key(" + hex.EncodeToString(k.ID[:]) + ")" }
func (k Key) GoString() string { return k.String() }

// NewKey makes a random key.
func NewKey() (Key, error) {
	var b [KeySize]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Key{}, fmt.Errorf("vault: new key: %w", err)
	}
	return keyFrom(b), nil
}

func keyFrom(b [KeySize]byte) Key {
	sum := sha256.Sum256(b[:])
	k := Key{bytes: b}
	copy(k.ID[:], sum[:8])
	return k
}

// Bytes returns the raw key, for export under a passphrase only.
func (k Key) Bytes() []byte { return append([]byte(nil), k.bytes[:]...) }

// KeyFromBytes makes a key from its raw bytes (an imported recovery key).
func KeyFromBytes(b []byte) (Key, error) {
	if len(b) != KeySize {
		return Key{}, fmt.Errorf("vault: a key is %d bytes, not %d", KeySize, len(b))
	}
	return keyFrom([KeySize]byte(b)), nil
}

// Keyring holds the current key-encryption key and older ones still
// needed to read files not yet re-wrapped.
type Keyring struct {
	Current Key
	Old     []Key
}

// Find returns the key with the given ID.
func (r *Keyring) Find(id [8]byte) (Key, bool) {
	if r.Current.ID == id {
		return r.Current, true
	}
	for _, k := range r.Old {
		if k.ID == id {
			return k, true
		}
	}
	return Key{}, false
}

// Seal encrypts a small secret (the index key) under the current key:
// key id ‖ nonce ‖ XChaCha20-Poly1305 ciphertext, with aad naming its use.
func (r *Keyring) Seal(secret, aad []byte) ([]byte, error) {
	a, err := chacha20poly1305.NewX(r.Current.bytes[:])
	if err != nil {
		return nil, err
	}
	out := append([]byte{}, r.Current.ID[:]...)
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return a.Seal(out, nonce, secret, slices.Concat(aad, r.Current.ID[:])), nil
}

// Unseal opens what Seal made, under whichever key of the ring sealed it:
// ErrNoKey when that key is not in the ring, ErrTampered when it does not
// authenticate.
func (r *Keyring) Unseal(blob, aad []byte) ([]byte, error) {
	n := len(Key{}.ID) + chacha20poly1305.NonceSizeX
	if len(blob) < n+tagSize {
		return nil, ErrTampered
	}
	id := [8]byte(blob[:8])
	k, ok := r.Find(id)
	if !ok {
		return nil, fmt.Errorf("%w %x", ErrNoKey, id)
	}
	a, err := chacha20poly1305.NewX(k.bytes[:])
	if err != nil {
		return nil, err
	}
	plain, err := a.Open(nil, blob[8:n], blob[n:], slices.Concat(aad, id[:]))
	if err != nil {
		return nil, ErrTampered
	}
	return plain, nil
}

// CreateKeys makes a key file holding a new key (mode 0600, in a
// private directory). It refuses to replace an existing file: a key is
// made once, by `recorderd keys init` or the first start on an empty data
// directory.
func CreateKeys(path string) (*Keyring, error) {
	k, err := NewKey()
	if err != nil {
		return nil, err
	}
	r := &Keyring{Current: k}
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("vault: key file %s: %w", path, os.ErrExist)
	}
	if err := SaveKeys(path, r); err != nil {
		return nil, err
	}
	return r, nil
}

// LoadKeys reads a key file.
func LoadKeys(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vault: key file: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("vault: key file %s is readable by others (mode %v): chmod 600 it", path, st.Mode().Perm())
	}
	var r Keyring
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		b, err := hex.DecodeString(line)
		if err != nil || len(b) != KeySize {
			return nil, fmt.Errorf("vault: key file %s line %d: not a %d-byte hex key", path, n, KeySize)
		}
		k := keyFrom([KeySize]byte(b))
		if r.Current == (Key{}) {
			r.Current = k
		} else {
			r.Old = append(r.Old, k)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("vault: key file: %w", err)
	}
	if r.Current == (Key{}) {
		return nil, fmt.Errorf("vault: key file %s holds no key", path)
	}
	return &r, nil
}

// SaveKeys writes the key file atomically (see writePrivate), mode 0600. The directory
// is made 0700 if missing.
func SaveKeys(path string, r *Keyring) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("vault: key file: %w", err)
	}
	var b strings.Builder
	b.WriteString("# callrec key-encryption keys: the current key first. Keep this file secret and backed up.\n")
	for _, k := range append([]Key{r.Current}, r.Old...) {
		b.WriteString(hex.EncodeToString(k.bytes[:]) + "\n")
	}
	if err := writePrivate(path, []byte(b.String())); err != nil {
		return fmt.Errorf("vault: key file: %w", err)
	}
	return syncDir(dir)
}

// writePrivate replaces a file atomically, mode 0600 whatever the old
// file's was: renameio writes a temporary file made afresh beside it
// (O_EXCL, a random name: no file planted in the directory, a symlink to
// elsewhere, is ever written through), syncs it and renames it over.
func writePrivate(path string, b []byte) error {
	f, err := renameio.NewPendingFile(path, renameio.WithTempDir(filepath.Dir(path)), renameio.WithStaticPermissions(0o600))
	if err != nil {
		return err
	}
	defer f.Cleanup()
	if _, err := f.Write(b); err != nil {
		return err
	}
	return f.CloseAtomicallyReplace()
}
