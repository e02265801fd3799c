package vault

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// The file format (docs/vault-format.md).
const (
	magic      = "CALLREC\x01"
	ChunkSize  = 2048 // plaintext bytes per chunk: under 0.6 s of 32 kbit/s MP3
	tagSize    = chacha20poly1305.Overhead
	headerSize = 132
	fixedSize  = 52 // the immutable part of the header, bound to every chunk
	wrapOffset = 52 // key ID, wrap nonce and wrapped data key: rewritable
	sealedSize = ChunkSize + tagSize
)

// header is a file's header.
type header struct {
	fileID  [16]byte
	prefix  [16]byte // nonce prefix of the chunks
	created int64
	keyID   [8]byte
	wnonce  [24]byte
	wrapped [KeySize + tagSize]byte
}

func (h *header) marshal() []byte {
	b := make([]byte, headerSize)
	copy(b, magic)
	binary.BigEndian.PutUint32(b[8:], ChunkSize)
	copy(b[12:], h.fileID[:])
	copy(b[28:], h.prefix[:])
	binary.BigEndian.PutUint64(b[44:], uint64(h.created))
	copy(b[wrapOffset:], h.wrapPart())
	return b
}

// wrapPart is the rewritable tail: key ID, wrap nonce, wrapped key.
func (h *header) wrapPart() []byte {
	b := make([]byte, 0, headerSize-wrapOffset)
	b = append(b, h.keyID[:]...)
	b = append(b, h.wnonce[:]...)
	return append(b, h.wrapped[:]...)
}

func parseHeader(b []byte) (*header, error) {
	if len(b) < headerSize || string(b[:8]) != magic {
		return nil, ErrNotVault
	}
	if binary.BigEndian.Uint32(b[8:]) != ChunkSize {
		return nil, fmt.Errorf("%w: chunk size %d", ErrTampered, binary.BigEndian.Uint32(b[8:]))
	}
	h := &header{}
	copy(h.fileID[:], b[12:])
	copy(h.prefix[:], b[28:])
	h.created = int64(binary.BigEndian.Uint64(b[44:]))
	copy(h.keyID[:], b[52:])
	copy(h.wnonce[:], b[60:])
	copy(h.wrapped[:], b[84:])
	return h, nil
}

// bind is the hash of the immutable header: every chunk's additional data.
func bind(b []byte) [32]byte { return sha256.Sum256(b[:fixedSize]) }

// wrap seals the data key under the key-encryption key.
func (h *header) wrap(kek Key, dek []byte) error {
	if _, err := rand.Read(h.wnonce[:]); err != nil {
		return err
	}
	a, err := chacha20poly1305.NewX(kek.bytes[:])
	if err != nil {
		return err
	}
	h.keyID = kek.ID
	a.Seal(h.wrapped[:0], h.wnonce[:], dek, h.wrapAAD())
	return nil
}

func (h *header) wrapAAD() []byte { return append(append([]byte{}, h.fileID[:]...), h.keyID[:]...) }

// unwrap opens the data key.
func (h *header) unwrap(keys *Keyring) ([]byte, error) {
	if h.keyID == ([8]byte{}) {
		return nil, ErrShredded
	}
	kek, ok := keys.Find(h.keyID)
	if !ok {
		return nil, fmt.Errorf("%w %x", ErrNoKey, h.keyID)
	}
	a, err := chacha20poly1305.NewX(kek.bytes[:])
	if err != nil {
		return nil, err
	}
	dek, err := a.Open(nil, h.wnonce[:], h.wrapped[:], h.wrapAAD())
	if err != nil {
		return nil, fmt.Errorf("%w: the data key does not unwrap", ErrTampered)
	}
	return dek, nil
}

// chunker seals and opens one file's chunks.
type chunker struct {
	seal   func(dst, nonce, plain, aad []byte) []byte
	open   func(dst, nonce, sealed, aad []byte) ([]byte, error)
	prefix [16]byte
	bound  [32]byte
	nonce  [24]byte
	aad    [41]byte
}

func newChunker(dek []byte, h *header, raw []byte) (*chunker, error) {
	a, err := chacha20poly1305.NewX(dek)
	if err != nil {
		return nil, err
	}
	c := &chunker{seal: a.Seal, open: a.Open, prefix: h.prefix, bound: bind(raw)}
	return c, nil
}

// setup fills the nonce and additional data of chunk i: the nonce is the
// file's prefix and the index; the additional data binds the header, the
// index and whether this is the last chunk (RFC-style STREAM).
func (c *chunker) setup(i uint64, final bool) {
	copy(c.nonce[:], c.prefix[:])
	binary.BigEndian.PutUint64(c.nonce[16:], i)
	copy(c.aad[:], c.bound[:])
	binary.BigEndian.PutUint64(c.aad[32:], i)
	c.aad[40] = 0
	if final {
		c.aad[40] = 1
	}
}

func (c *chunker) sealChunk(dst, plain []byte, i uint64, final bool) []byte {
	c.setup(i, final)
	return c.seal(dst, c.nonce[:], plain, c.aad[:])
}

func (c *chunker) openChunk(dst, sealed []byte, i uint64, final bool) ([]byte, error) {
	c.setup(i, final)
	return c.open(dst, c.nonce[:], sealed, c.aad[:])
}

// newHeader makes the header of a new recording with a fresh data key.
func newHeader(kek Key, now time.Time) (*header, []byte, []byte, error) {
	h := &header{created: now.UnixNano()}
	dek := make([]byte, KeySize)
	for _, b := range [][]byte{h.fileID[:], h.prefix[:], dek} {
		if _, err := rand.Read(b); err != nil {
			return nil, nil, nil, err
		}
	}
	if err := h.wrap(kek, dek); err != nil {
		return nil, nil, nil, err
	}
	return h, h.marshal(), dek, nil
}

// syncDir makes a directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

var _ io.ReaderAt = (*Reader)(nil)
