package archive

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"callrec/storage/index"
	"callrec/storage/vault"
)

// The index key seals index.db's values and hashes its lookup keys (see
// storage/index). It is random, and kept in the data directory sealed
// under the key-encryption key (index.key): a rotation re-seals it, and
// nothing in index.db changes.
const indexKeyFile = "index.key"

var indexKeyUse = []byte("callrec index key")

// ErrNoIndexKey: index.db exists without its key.
var ErrNoIndexKey = errors.New("archive: the index has no index key")

// indexKey returns the data directory's index key, making one for a new
// index. An index.db without index.key (an earlier version's, or the key
// file was lost) is refused: only a rebuild makes it usable.
func indexKey(dataDir string, keys *vault.Keyring) ([]byte, error) {
	k, err := readIndexKey(dataDir, keys)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if _, err := os.Stat(filepath.Join(dataDir, "index.db")); err == nil {
		return nil, fmt.Errorf("%w: %s has no %s (the index was made by an earlier version, or the file was lost): rebuild the index from the recordings with `recorderd index rebuild`", ErrNoIndexKey, dataDir, indexKeyFile)
	}
	return newIndexKey(dataDir, keys, false)
}

func readIndexKey(dataDir string, keys *vault.Keyring) ([]byte, error) {
	blob, err := os.ReadFile(filepath.Join(dataDir, indexKeyFile))
	if err != nil {
		return nil, err
	}
	k, err := keys.Unseal(blob, indexKeyUse)
	if err != nil {
		return nil, fmt.Errorf("archive: %s: %w", indexKeyFile, err)
	}
	return k, nil
}

// newIndexKey makes a random index key and stores it sealed. replace
// overwrites an existing index.key (a rebuild that could not open it);
// otherwise a key another process stored first wins, and is returned.
func newIndexKey(dataDir string, keys *vault.Keyring, replace bool) ([]byte, error) {
	k := make([]byte, index.KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	err := storeIndexKey(dataDir, keys, k, replace)
	if errors.Is(err, fs.ErrExist) {
		return readIndexKey(dataDir, keys)
	}
	if err != nil {
		return nil, err
	}
	return k, nil
}

// storeIndexKey writes index.key (see place): linked into place, failing
// with fs.ErrExist if one is there, or over the old one when replace is
// set.
func storeIndexKey(dataDir string, keys *vault.Keyring, k []byte, replace bool) error {
	blob, err := keys.Seal(k, indexKeyUse)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	p := filepath.Join(dataDir, indexKeyFile)
	f, err := pendingFile(p)
	if err == nil {
		defer f.Cleanup()
		_, err = f.Write(blob)
	}
	if err == nil {
		err = place(f, p, replace)
	}
	if err != nil {
		return fmt.Errorf("archive: %s: %w", indexKeyFile, err)
	}
	return nil
}
