package archive

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"filippo.io/age"

	"callrec/storage/vault"
)

// MinPassphrase is the shortest recovery passphrase accepted; one of
// LongPassphrase characters or more needs no mix of kinds (a phrase of
// several words).
const (
	MinPassphrase  = 12
	LongPassphrase = 20
)

// ErrWeakPassphrase: the recovery passphrase is too easy to guess.
var ErrWeakPassphrase = errors.New("archive: the recovery passphrase is too weak")

// CheckPassphrase says whether a recovery passphrase is strong enough: at
// least 20 characters (a phrase of several words), or at least 12 with
// three kinds of character of lower case, upper case, digits and others;
// and not one character repeated. The copy it protects opens every
// recording, offline, for as long as it exists.
func CheckPassphrase(p string) error {
	n := utf8.RuneCountInString(p)
	kinds := map[string]bool{}
	distinct := map[rune]bool{}
	for _, r := range p {
		distinct[r] = true
		switch {
		case unicode.IsLower(r):
			kinds["lower"] = true
		case unicode.IsUpper(r):
			kinds["upper"] = true
		case unicode.IsDigit(r):
			kinds["digit"] = true
		default:
			kinds["other"] = true
		}
	}
	switch {
	case n < MinPassphrase:
		return fmt.Errorf("%w: %d characters; at least %d, or %d for a phrase of words", ErrWeakPassphrase, n, MinPassphrase, LongPassphrase)
	case len(distinct) < 6:
		return fmt.Errorf("%w: too few different characters", ErrWeakPassphrase)
	case n < LongPassphrase && len(kinds) < 3:
		return fmt.Errorf("%w: under %d characters it needs three of lower case, upper case, digits and symbols", ErrWeakPassphrase, LongPassphrase)
	}
	return nil
}

// Rotate replaces the key-encryption key: every recording's data key is
// re-wrapped under a new one (no audio is re-encrypted), then the old key
// is dropped. The daemon holds the keys in memory, so rotation takes the
// daemon lock: it runs only while the daemon is stopped.
func (a *Archive) Rotate(acc Access) (int, error) {
	if err := acc.check(); err != nil {
		return 0, err
	}
	if err := a.Lock(); err != nil {
		return 0, fmt.Errorf("archive: keys rotate: %w", err)
	}
	k, err := vault.NewKey()
	if err != nil {
		return 0, err
	}
	var device ed25519.PrivateKey // re-sealed after the rotation, if there is one
	if _, err := os.Stat(filepath.Join(a.cfg.DataDir, deviceKeyFile)); err == nil {
		if device, err = a.DeviceKey(); err != nil {
			return 0, err
		}
	}
	// Save the new key with the old one first, so a crash mid-way can
	// still read every file; then drop the old key.
	a.keys.Old = append([]vault.Key{a.keys.Current}, a.keys.Old...)
	a.keys.Current = k
	if err := vault.SaveKeys(a.cfg.KeyFile, a.keys); err != nil {
		return 0, err
	}
	n, err := a.vault.Rewrap()
	if err == nil {
		err = a.resealIndexKey()
	}
	if err == nil {
		err = a.resealDeviceKey(device)
	}
	if err != nil {
		return n, fmt.Errorf("archive: keys rotate: %w (the key file keeps both keys; run again)", err)
	}
	if err := writeBinding(a.cfg.DataDir, k); err != nil {
		return n, fmt.Errorf("archive: keys rotate: %w (the key file keeps both keys; run again)", err)
	}
	a.keys.Old = nil
	if err := vault.SaveKeys(a.cfg.KeyFile, a.keys); err != nil {
		return n, err
	}
	return n, a.audit(acc.Who, "key-rotate", k.String(), fmt.Sprintf("%d recordings re-wrapped", n))
}

// resealIndexKey seals the index key under the current key-encryption
// key.
func (a *Archive) resealIndexKey() error {
	k, err := readIndexKey(a.cfg.DataDir, a.keys)
	if err != nil {
		return err
	}
	return storeIndexKey(a.cfg.DataDir, a.keys, k, true)
}

// ExportRecovery writes the current key-encryption key to w, encrypted
// with age under a passphrase (scrypt), for safe keeping apart from the
// box: with the passphrase it opens every recording. acc.Why says where
// the copy goes.
func (a *Archive) ExportRecovery(acc Access, passphrase string, w io.Writer) error {
	if err := acc.check(); err != nil {
		return err
	}
	if err := CheckPassphrase(passphrase); err != nil {
		return err
	}
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return err
	}
	// Audited first: no copy of the key leaves without its entry.
	if err := a.audit(acc.Who, "key-export", a.keys.Current.String(), acc.Why); err != nil {
		return err
	}
	aw, err := age.Encrypt(w, r)
	if err != nil {
		return fmt.Errorf("archive: export recovery key: %w", err)
	}
	if _, err := io.WriteString(aw, hex.EncodeToString(a.keys.Current.Bytes())+"\n"); err != nil {
		return fmt.Errorf("archive: export recovery key: %w", err)
	}
	if err := aw.Close(); err != nil {
		return fmt.Errorf("archive: export recovery key: %w", err)
	}
	return nil
}

// ExportRecoveryFile writes the recovery copy (ExportRecovery) to a new
// file at path, mode 0600, never over an existing file or through a link;
// a failure leaves no file.
func (a *Archive) ExportRecoveryFile(acc Access, passphrase, path string) error {
	if err := CheckPassphrase(passphrase); err != nil {
		return err
	}
	f, err := pendingFile(path)
	if err != nil {
		return fmt.Errorf("archive: export recovery key: %w", err)
	}
	defer f.Cleanup()
	if err := a.ExportRecovery(acc, passphrase, f); err != nil {
		return err
	}
	if err := place(f, path, false); err != nil {
		return fmt.Errorf("archive: export recovery key: %w", err)
	}
	return nil
}

// KeysStatus says which keys the data directory uses, for the console:
// fingerprints only, never a key.
func (a *Archive) KeysStatus() (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "key-encryption key  %s (in %s)\n", fingerprint(a.keys.Current), a.cfg.KeyFile)
	if n := len(a.keys.Old); n > 0 {
		fmt.Fprintf(&b, "older keys kept     %d (recordings not yet re-wrapped, or the recovery copy's)\n", n)
	}
	if _, err := os.Stat(filepath.Join(a.cfg.DataDir, indexKeyFile)); err == nil {
		fmt.Fprintf(&b, "index key          present, sealed under the key-encryption key\n")
	}
	if pub, err := a.DevicePublic(); err == nil {
		fmt.Fprintf(&b, "device signing key %s\n", base64.StdEncoding.EncodeToString(pub))
	} else {
		fmt.Fprintf(&b, "device signing key unreadable: %v\n", err)
	}
	return b.String(), nil
}
