package index

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the length of the index key.
const KeySize = 32

// The index file holds personal data (numbers, names, who searched for
// whom), on a disk that is not itself encrypted. So every value is
// sealed (XChaCha20-Poly1305, bound to its bucket and key: a value moved
// to another call does not open), and every lookup key made from personal
// data is a keyed hash: a number is found by HMAC-SHA256 of it, never
// stored as it is. Without the index key (kept wrapped under the
// key-encryption key, outside this file) the file gives away only call
// times and random ids.
//
// The keys are derived from the one index key with HKDF-SHA256, one per
// purpose.
type keyring struct {
	aead   cipher.AEAD
	lookup []byte // lookup keys of numbers, extensions and wire sources
	chain  []byte // the audit log's chain and its head
	check  []byte // the value that says the key opens this file
}

func newKeyring(key []byte) (*keyring, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w: the index key is %d bytes, not %d", ErrNoKey, len(key), KeySize)
	}
	derive := func(purpose string) []byte {
		k, err := hkdf.Key(sha256.New, key, nil, "callrec index "+purpose, KeySize)
		if err != nil {
			panic(err) // only for a length HKDF cannot give
		}
		return k
	}
	aead, err := chacha20poly1305.NewX(derive("values"))
	if err != nil {
		return nil, err
	}
	return &keyring{aead: aead, lookup: derive("lookup"), chain: derive("audit chain"), check: derive("check")}, nil
}

// aad binds a sealed value to its bucket and key.
func aad(bucket, key []byte) []byte {
	b := make([]byte, 0, len(bucket)+1+len(key))
	b = append(b, bucket...)
	b = append(b, 0)
	return append(b, key...)
}

// seal encrypts a value stored under key in bucket: nonce ‖ ciphertext.
func (k *keyring) seal(bucket, key, plain []byte) []byte {
	out := make([]byte, chacha20poly1305.NonceSizeX, chacha20poly1305.NonceSizeX+len(plain)+k.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return k.aead.Seal(out, out, plain, aad(bucket, key))
}

// open decrypts and authenticates a value; a value altered, or moved from
// another key or bucket, is ErrCorrupt.
func (k *keyring) open(bucket, key, sealed []byte) ([]byte, error) {
	if len(sealed) < chacha20poly1305.NonceSizeX+k.aead.Overhead() {
		return nil, fmt.Errorf("%w: %s value %q is too short", ErrCorrupt, bucket, key)
	}
	n := chacha20poly1305.NonceSizeX
	plain, err := k.aead.Open(nil, sealed[:n], sealed[n:], aad(bucket, key))
	if err != nil {
		return nil, fmt.Errorf("%w: %s value %q does not authenticate", ErrCorrupt, bucket, key)
	}
	return plain, nil
}

// lookupLen is the length of a hashed lookup key: 128 bits, far from any
// collision among a box's numbers.
const lookupLen = 16

// lookupKey is the keyed hash a personal value is found by: what (number,
// extension, source) keeps equal values of different kinds apart.
func (k *keyring) lookupKey(what, value string) []byte {
	m := hmac.New(sha256.New, k.lookup)
	m.Write([]byte(what))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil)[:lookupLen]
}

// mac is an HMAC-SHA256 under one of the keys.
func mac(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}
