package vault

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/crypto/chacha20poly1305"
)

// A recording's metadata (what the index needs to find it again: its
// parties, times, flags and holds) is kept beside it, in <id>.meta, so
// that the index can be rebuilt from the vault alone. It is sealed with
// XChaCha20-Poly1305 under a key derived (HKDF-SHA256) from the
// recording's own data key, and bound to the file's id and the recording
// id: it opens only beside its own recording, and shredding the recording
// shreds it too. The vault does not read it; the archive writes it.

// ErrNoMeta: the recording has no metadata file.
var ErrNoMeta = errors.New("vault: the recording has no metadata")

func (v *Vault) metaPath(id string) (string, error) {
	p, err := v.path(id)
	if err != nil {
		return "", err
	}
	return p[:len(p)-len(".crv")] + ".meta", nil
}

// metaCipher opens a recording's header and makes the cipher of its
// metadata, and the additional data that binds it.
func (v *Vault) metaCipher(id string) (cipher.AEAD, []byte, error) {
	p, err := v.path(id)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, fmt.Errorf("vault: metadata of %s: %w", id, err)
	}
	defer f.Close()
	raw := make([]byte, headerSize)
	if _, err := io.ReadFull(f, raw); err != nil {
		return nil, nil, fmt.Errorf("vault: metadata of %s: %w", id, ErrNotVault)
	}
	h, err := parseHeader(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("vault: metadata of %s: %w", id, err)
	}
	dek, err := h.unwrap(v.keys)
	if err != nil {
		return nil, nil, fmt.Errorf("vault: metadata of %s: %w", id, err)
	}
	defer clear(dek)
	key, err := hkdf.Key(sha256.New, dek, nil, "callrec recording metadata", KeySize)
	if err != nil {
		return nil, nil, err
	}
	a, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, nil, err
	}
	return a, append(h.fileID[:], id...), nil
}

// PutMeta replaces a recording's metadata, atomically (writePrivate).
func (v *Vault) PutMeta(id string, data []byte) error {
	mp, err := v.metaPath(id)
	if err != nil {
		return err
	}
	a, ad, err := v.metaCipher(id)
	if err != nil {
		return err
	}
	out := make([]byte, chacha20poly1305.NonceSizeX, chacha20poly1305.NonceSizeX+len(data)+tagSize)
	if _, err := rand.Read(out); err != nil {
		return err
	}
	out = a.Seal(out, out, data, ad)
	if err := writePrivate(mp, out); err != nil {
		return fmt.Errorf("vault: metadata of %s: %w", id, err)
	}
	return nil
}

// Meta returns a recording's metadata, authenticated. A recording without
// is ErrNoMeta; one that does not open (altered, or another recording's)
// ErrTampered.
func (v *Vault) Meta(id string) ([]byte, error) {
	mp, err := v.metaPath(id)
	if err != nil {
		return nil, err
	}
	sealed, err := os.ReadFile(mp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("vault: %s: %w", id, ErrNoMeta)
	}
	if err != nil {
		return nil, fmt.Errorf("vault: metadata of %s: %w", id, err)
	}
	a, ad, err := v.metaCipher(id)
	if err != nil {
		return nil, err
	}
	n := chacha20poly1305.NonceSizeX
	if len(sealed) < n+tagSize {
		return nil, fmt.Errorf("vault: metadata of %s: %w", id, ErrTampered)
	}
	plain, err := a.Open(nil, sealed[:n], sealed[n:], ad)
	if err != nil {
		return nil, fmt.Errorf("vault: metadata of %s: %w", id, ErrTampered)
	}
	return plain, nil
}

// removeMeta deletes a recording's metadata file, if any.
func (v *Vault) removeMeta(id string) error {
	mp, err := v.metaPath(id)
	if err != nil {
		return err
	}
	if err := os.Remove(mp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
