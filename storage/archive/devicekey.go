package archive

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The device key is the box's own ed25519 key: it signs what the box
// hands over (a subject access bundle's manifest), so that anyone can
// check, offline, that a bundle came from this box unchanged. It is made
// at first use and kept in the data directory sealed under the
// key-encryption key (device.key), like the index key; a rotation
// re-seals it.
const deviceKeyFile = "device.key"

var deviceKeyUse = []byte("callrec device signing key")

// DeviceKey returns the box's signing key, making it the first time.
func (a *Archive) DeviceKey() (ed25519.PrivateKey, error) {
	p := filepath.Join(a.cfg.DataDir, deviceKeyFile)
	blob, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		seed := make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, err
		}
		if err := a.storeDeviceKey(seed, false); errors.Is(err, fs.ErrExist) {
			return a.DeviceKey() // another process made it first
		} else if err != nil {
			return nil, err
		}
		if err := a.audit("system", "device-key", "", "the box's signing key was made"); err != nil {
			return nil, err
		}
		return ed25519.NewKeyFromSeed(seed), nil
	}
	if err != nil {
		return nil, fmt.Errorf("archive: %s: %w", deviceKeyFile, err)
	}
	seed, err := a.keys.Unseal(blob, deviceKeyUse)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("archive: %s does not open under this key: %v", deviceKeyFile, err)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// DevicePublic is the public half of the device key, which checks the
// box's signatures. It never changes (a rotation re-seals the key, and
// keeps it), so it is read from the disk once: the status page asks for
// it every few seconds.
func (a *Archive) DevicePublic() (ed25519.PublicKey, error) {
	a.mu.Lock()
	pub := a.devicePub
	a.mu.Unlock()
	if pub != nil {
		return pub, nil
	}
	k, err := a.DeviceKey()
	if err != nil {
		return nil, err
	}
	pub = k.Public().(ed25519.PublicKey)
	a.mu.Lock()
	a.devicePub = pub
	a.mu.Unlock()
	return pub, nil
}

func (a *Archive) storeDeviceKey(seed []byte, replace bool) error {
	blob, err := a.keys.Seal(seed, deviceKeyUse)
	if err != nil {
		return err
	}
	p := filepath.Join(a.cfg.DataDir, deviceKeyFile)
	f, err := pendingFile(p)
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	defer f.Cleanup()
	if _, err := f.Write(blob); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	return place(f, p, replace)
}

// resealDeviceKey seals the device key, if there is one, under the
// current key-encryption key.
func (a *Archive) resealDeviceKey(old ed25519.PrivateKey) error {
	if old == nil {
		return nil
	}
	return a.storeDeviceKey(old.Seed(), true)
}
