package archive

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"callrec/storage/vault"
)

// bindingFile, in the data directory, names the key-encryption key its
// recordings are under: the key's fingerprint (the first bytes of its
// SHA-256), never the key.
const bindingFile = "kek.id"

// loadKeys opens the key file and checks that it is this data directory's
// key. A missing key file is never replaced silently: only the first start
// on an empty data directory (CreateKey), or `keys init`, makes a key.
func loadKeys(cfg Config, log *slog.Logger) (*vault.Keyring, error) {
	for _, dir := range []string{cfg.DataDir, filepath.Dir(cfg.KeyFile)} {
		if err := checkPrivate(dir); err != nil {
			return nil, err
		}
	}
	bound, err := readBinding(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	keys, err := vault.LoadKeys(cfg.KeyFile)
	switch {
	case errors.Is(err, fs.ErrNotExist) && bound != "":
		return nil, fmt.Errorf("%w: %s is missing, and the recordings in %s are under key %s: restore that key file (from the recovery copy `recorderd keys export-recovery` made); a new key would open none of them",
			ErrNoKeyFile, cfg.KeyFile, cfg.DataDir, bound)
	case errors.Is(err, fs.ErrNotExist) && cfg.CreateKey && emptyDataDir(cfg.DataDir):
		if keys, err = vault.CreateKeys(cfg.KeyFile); err != nil {
			return nil, err
		}
		log.Warn("created a new key-encryption key for a new data directory: back it up with 'recorderd keys export-recovery'", "file", cfg.KeyFile, "key", fingerprint(keys.Current))
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w: %s is missing (make the first key with `recorderd keys init` on an empty data directory)", ErrNoKeyFile, cfg.KeyFile)
	case err != nil:
		return nil, err
	}
	if bound != "" && !keyMatches(keys, bound) {
		return nil, fmt.Errorf("%w: %s holds key %s, but the recordings in %s are under key %s", ErrWrongKey, cfg.KeyFile, fingerprint(keys.Current), cfg.DataDir, bound)
	}
	if bound != fingerprint(keys.Current) {
		if err := writeBinding(cfg.DataDir, keys.Current); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// InitKey makes the key-encryption key of a new, empty data directory
// (`recorderd keys init`). It refuses an existing key file, and a data
// directory that already holds recordings or is bound to a key.
func InitKey(cfg Config) (string, error) {
	for _, dir := range []string{cfg.DataDir, filepath.Dir(cfg.KeyFile)} {
		if err := checkPrivate(dir); err != nil {
			return "", err
		}
	}
	if bound, err := readBinding(cfg.DataDir); err != nil || bound != "" {
		return "", errors.Join(err, fmt.Errorf("archive: keys init: %s is already bound to key %s", cfg.DataDir, bound))
	}
	if !emptyDataDir(cfg.DataDir) {
		return "", fmt.Errorf("archive: keys init: %s already holds recordings or an index", cfg.DataDir)
	}
	keys, err := vault.CreateKeys(cfg.KeyFile)
	if err != nil {
		return "", fmt.Errorf("archive: keys init: %w", err)
	}
	if err := writeBinding(cfg.DataDir, keys.Current); err != nil {
		return "", err
	}
	return fingerprint(keys.Current), nil
}

func fingerprint(k vault.Key) string { return hex.EncodeToString(k.ID[:]) }

// keyMatches reports whether the keyring holds the bound key: the current
// one, or an old one (a rotation under way keeps both).
func keyMatches(keys *vault.Keyring, bound string) bool {
	if fingerprint(keys.Current) == bound {
		return true
	}
	for _, k := range keys.Old {
		if fingerprint(k) == bound {
			return true
		}
	}
	return false
}

func readBinding(dataDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, bindingFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("archive: %s: %w", bindingFile, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// writeBinding records the key's fingerprint in the data directory,
// atomically (writeFile).
func writeBinding(dataDir string, k vault.Key) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	if err := writeFile(filepath.Join(dataDir, bindingFile), []byte(fingerprint(k)+"\n")); err != nil {
		return fmt.Errorf("archive: %s: %w", bindingFile, err)
	}
	return nil
}

// emptyDataDir reports whether a data directory holds no index and no
// recording (or does not exist yet).
func emptyDataDir(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, "index.db")); err == nil {
		return false
	}
	recs, _ := filepath.Glob(filepath.Join(dir, "recordings", "*.crv"))
	return len(recs) == 0
}

// checkPrivate refuses a directory others may write to: they could plant
// files (a symlink where a temporary file goes) or replace the key. A
// directory that does not exist yet is made private when it is.
func checkPrivate(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%w: %s (mode %v): chmod go-w it", ErrOpenDir, dir, st.Mode().Perm())
	}
	return nil
}

// lockKeyFile takes a lock on the key file, held by the process that
// writes recordings under it or rotates it: a rotation run on another
// data directory with the same key finds it taken.
func lockKeyFile(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("archive: key lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: the key file %s is in use by a running daemon (on this or another data directory)", ErrLocked, path)
	}
	return f, nil
}
