package optout

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Phones are the desk phones whose programmable key opts a call out: each
// is known by its extension and its own address, with a secret made on
// the web page that goes in the key's URL. Only a hash of the secret is
// kept (in the sealed index).
type Phones struct{ l *list[Phone] }

// Phone is one registered phone.
type Phone struct {
	Extension string     `json:"extension"`
	Addr      netip.Addr `json:"addr"`
	Secret    string     `json:"secret_sha256"` // base64 SHA-256 of the secret
	By        string     `json:"by"`
	At        time.Time  `json:"at"`
}

const settingPhones = "phones"

// Errors of a phone key's request, each audited by the caller.
var (
	ErrUnknownPhone = errors.New("optout: no phone is registered for that extension")
	ErrWrongAddress = errors.New("optout: the request did not come from the phone's own address")
	ErrWrongSecret  = errors.New("optout: the phone's secret is wrong")
)

// LoadPhones reads the registered phones; a list that does not read
// accepts no key (and says why).
func LoadPhones(store Settings) (*Phones, error) {
	l, err := loadList[Phone](store, settingPhones)
	if err != nil {
		err = fmt.Errorf("optout: the phones do not read: %w", err)
	}
	return &Phones{l}, err
}

func secretHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(h[:])
}

// Add registers a phone (replacing one of the same extension) and returns
// its new secret, shown once.
func (p *Phones) Add(by, ext string, addr netip.Addr) (string, error) {
	if ext == "" || len(ext) > 16 || strings.Trim(ext, "0123456789") != "" || !addr.IsValid() {
		return "", errors.New("optout: a phone needs its extension (digits) and its IP address")
	}
	var b [18]byte
	rand.Read(b[:])
	secret := base64.RawURLEncoding.EncodeToString(b[:])
	err := p.l.change(by, "phone-add", "extension "+ext, addr.String(), func(list []Phone) ([]Phone, error) {
		list = slices.DeleteFunc(list, func(x Phone) bool { return x.Extension == ext })
		list = append(list, Phone{Extension: ext, Addr: addr.Unmap(), Secret: secretHash(secret), By: by, At: time.Now().UTC()})
		slices.SortFunc(list, func(a, b Phone) int { return strings.Compare(a.Extension, b.Extension) })
		return list, nil
	})
	return secret, err
}

// Remove unregisters a phone.
func (p *Phones) Remove(by, ext string) error {
	return p.l.change(by, "phone-remove", "extension "+ext, "", func(list []Phone) ([]Phone, error) {
		n := len(list)
		list = slices.DeleteFunc(list, func(x Phone) bool { return x.Extension == ext })
		if len(list) == n {
			return nil, ErrUnknownPhone
		}
		return list, nil
	})
}

// List returns the phones (their secrets' hashes only).
func (p *Phones) List() []Phone { return p.l.all() }

// Check accepts a key's request from addr for ext with secret.
func (p *Phones) Check(ext string, addr netip.Addr, secret string) error {
	return p.l.read(func(list []Phone) error {
		i := slices.IndexFunc(list, func(x Phone) bool { return x.Extension == ext })
		if i < 0 {
			return ErrUnknownPhone
		}
		ph := list[i]
		if addr.Unmap() != ph.Addr {
			return ErrWrongAddress
		}
		if subtle.ConstantTimeCompare([]byte(secretHash(secret)), []byte(ph.Secret)) != 1 {
			return ErrWrongSecret
		}
		return nil
	})
}
