package archive

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"callrec/storage/vault"
)

// resetMarker, in the data directory, asks the next Open to finish a
// factory reset: the recordings left are shredded and everything but the
// key binding removed, while nothing holds the files open.
const resetMarker = "factory-reset"

// ErrHeldCalls: a factory reset refused because calls are held.
var ErrHeldCalls = errors.New("archive: calls are under a legal hold")

// FactoryReset destroys every recording (crypto-shredded) and, at the
// next start, the index with its accounts, cases and audit log, so that
// the box starts as new. It refuses while any call is held, or while the
// holds cannot be read. The key-encryption key stays (it is on its own
// disk and opens nothing any more). The daemon must restart after it.
func (a *Archive) FactoryReset(acc Access) (int, error) {
	if err := acc.check(); err != nil {
		return 0, err
	}
	held, err := a.index.HeldCalls()
	if err != nil {
		return 0, err
	}
	if held > 0 {
		a.audit(acc.Who, "factory-reset-refused", "box", fmt.Sprintf("%s [%d calls held]", acc.Why, held))
		return 0, fmt.Errorf("%w: %d held; release the holds first, or keep the box as it is", ErrHeldCalls, held)
	}
	if err := a.audit(acc.Who, "factory-reset", "box", acc.Why); err != nil {
		return 0, err
	}
	a.log.Warn("factory reset: every recording is destroyed; the index goes at the next start", "who", acc.Who)
	if err := writeFile(filepath.Join(a.cfg.DataDir, resetMarker), []byte(acc.Who+"\n")); err != nil {
		return 0, err
	}
	return vault.ShredDir(filepath.Join(a.cfg.DataDir, "recordings"))
}

// finishReset, at Open, completes a factory reset that was asked for.
func finishReset(dataDir string, log interface{ Warn(string, ...any) }) error {
	if _, err := os.Stat(filepath.Join(dataDir, resetMarker)); err != nil {
		return nil
	}
	n, err := vault.ShredDir(filepath.Join(dataDir, "recordings"))
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() || e.Name() == bindingFile || e.Name() == resetMarker {
			continue
		}
		if err := os.Remove(filepath.Join(dataDir, e.Name())); err != nil {
			return err
		}
	}
	if err := os.Remove(filepath.Join(dataDir, resetMarker)); err != nil {
		return err
	}
	log.Warn("factory reset finished: the box starts as new", "shredded_now", n)
	return nil
}

// SelfTest writes a small recording to the vault, reads it back and
// shreds it: the vault works, end to end, with this key.
func (a *Archive) SelfTest() error {
	var b [8]byte
	rand.Read(b[:])
	id := "selftest-" + hex.EncodeToString(b[:])
	data := make([]byte, 4096)
	rand.Read(data)
	w, err := a.vault.Create(id)
	if err != nil {
		return fmt.Errorf("archive: self-test: %w", err)
	}
	defer a.vault.Shred(id)
	if _, err := w.Write(data); err != nil {
		w.Abandon()
		return fmt.Errorf("archive: self-test: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("archive: self-test: %w", err)
	}
	r, err := a.vault.Open(id)
	if err != nil {
		return fmt.Errorf("archive: self-test: %w", err)
	}
	defer r.Close()
	got, err := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
	if err != nil || !bytes.Equal(got, data) {
		return fmt.Errorf("archive: self-test: what was read is not what was written (%v)", err)
	}
	return nil
}
