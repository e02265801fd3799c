// Package bundle makes and checks the ZIP a subject access (or police)
// case hands over: each recording as an MP3 named by date, time and call
// id; manifest.json, listing every file with its SHA-256 and the stored
// recording's; and manifest.sig, the box's ed25519 signature over the
// manifest. Verify checks a bundle offline, on any machine, with the
// box's public key alone.
package bundle

import (
	"archive/zip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"
)

// Manifest describes a bundle.
type Manifest struct {
	Case     string    `json:"case"`
	Files    []File    `json:"files"`
	Searches []string  `json:"searches"`
	BuiltBy  string    `json:"built_by"`
	BuiltAt  time.Time `json:"built_at"`
	// CheckedBy and CheckedAt are the second check's.
	CheckedBy string    `json:"checked_by,omitempty"`
	CheckedAt time.Time `json:"checked_at,omitzero"`
	// Custody is the chain of custody (a police case's): who exported
	// the recordings, when, and to whom, this download last.
	Custody []Custody `json:"custody,omitempty"`
	// Device is the public key that signs the manifest (base64), so a
	// reader can see which box made it; Verify trusts only the key it is
	// given.
	Device string `json:"device_public_key"`
}

// Custody is one step of a bundle's chain of custody.
type Custody struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Action string    `json:"action"` // built, checked, exported
	To     string    `json:"to,omitempty"`
}

// File is one recording in a bundle.
type File struct {
	Name         string    `json:"name"`
	CallID       string    `json:"call_id"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end,omitzero"`
	Parties      []string  `json:"parties"`
	DurationMS   int64     `json:"duration_ms"`
	MP3SHA256    string    `json:"mp3_sha256"`
	StoredSHA256 string    `json:"stored_sha256"`
	Flags        []string  `json:"flags,omitempty"`
}

// Source is a recording to put in a bundle: its entry (Name and MP3SHA256
// are filled in), its MP3's size in bytes, and how to write it. If Want
// is set, the MP3 must hash to it (the bundle as checked), or Build fails
// before the manifest is written: the ZIP is left without one.
type Source struct {
	File
	Size  int64
	Want  string
	Write func(io.Writer) error
}

// The bundle's own files.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.sig"
	CoverName     = "cover.html"
)

// FileName names a recording by its start and call id, never by a number.
func FileName(start time.Time, callID string) string {
	return fmt.Sprintf("%s-%s.mp3", start.UTC().Format("20060102-150405Z"), callID)
}

// Build writes the bundle to w: the recordings (each hashed as written),
// cover (a printable letter, if not empty), the manifest and its
// signature by key. With a password, every entry is encrypted with
// AES-256 (see aeszip.go); the entries' names, which hold no number, stay
// readable. It returns the manifest as signed.
func Build(w io.Writer, m Manifest, sources []Source, cover []byte, key ed25519.PrivateKey, password string) (Manifest, error) {
	z := zip.NewWriter(w)
	m.Files = nil
	m.Device = base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
	create := func(name string, modified time.Time, size int64, write func(io.Writer) error) error {
		if password != "" {
			return createAES(z, name, modified, size, password, write)
		}
		zw, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: modified})
		if err != nil {
			return err
		}
		return write(zw)
	}
	for _, s := range sources {
		f := s.File
		f.Name = FileName(f.Start, f.CallID)
		h := sha256.New()
		err := create(f.Name, f.Start, s.Size, func(zw io.Writer) error { return s.Write(io.MultiWriter(zw, h)) })
		if err != nil {
			return m, fmt.Errorf("bundle: %s: %w", f.Name, err)
		}
		f.MP3SHA256 = hex.EncodeToString(h.Sum(nil))
		if s.Want != "" && s.Want != f.MP3SHA256 {
			return m, fmt.Errorf("bundle: %s: %w", f.Name, ErrChanged)
		}
		m.Files = append(m.Files, f)
	}
	add := func(name string, b []byte) error {
		err := create(name, m.BuiltAt, int64(len(b)), func(zw io.Writer) error { _, err := zw.Write(b); return err })
		if err != nil {
			return fmt.Errorf("bundle: %s: %w", name, err)
		}
		return nil
	}
	if len(cover) > 0 {
		if err := add(CoverName, cover); err != nil {
			return m, err
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	if err := add(ManifestName, b); err != nil {
		return m, err
	}
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(key, b)) + "\n"
	if err := add(SignatureName, []byte(sig)); err != nil {
		return m, err
	}
	if err := z.Close(); err != nil {
		return m, fmt.Errorf("bundle: %w", err)
	}
	return m, nil
}

// ErrChanged: a recording is not the MP3 that was checked.
var ErrChanged = errors.New("the recording is not the one checked: its MP3 differs")

// ErrInvalid is a bundle that does not check; the message names the file.
var ErrInvalid = errors.New("bundle: does not verify")

// ParsePublic reads a public key as `recorderd keys device-public` prints
// it (base64).
func ParsePublic(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("bundle: the public key is not an ed25519 key in base64")
	}
	return ed25519.PublicKey(b), nil
}

// Verify checks a bundle against the box's public key: the manifest's
// signature, every recording's SHA-256, and that no recording is missing
// or added. An encrypted bundle needs its password (a wrong one is
// ErrPassword). It returns the manifest.
func Verify(r io.ReaderAt, size int64, pub ed25519.PublicKey, password string) (Manifest, error) {
	var m Manifest
	z, err := zip.NewReader(r, size)
	if err != nil {
		return m, fmt.Errorf("%w: not a ZIP file: %v", ErrInvalid, err)
	}
	files := map[string]*zip.File{}
	for _, f := range z.File {
		if _, dup := files[f.Name]; dup || f.Name != path.Clean(f.Name) || strings.Contains(f.Name, "/") {
			return m, fmt.Errorf("%w: %s: a duplicate or a path, not a bundle's file", ErrInvalid, f.Name)
		}
		files[f.Name] = f
	}
	open := func(f *zip.File) (io.Reader, func(), error) {
		if encrypted(f) {
			rd, err := openAES(f, password)
			if errors.Is(err, ErrPassword) {
				return nil, nil, err
			}
			if err != nil {
				return nil, nil, fmt.Errorf("%w: %s: %v", ErrInvalid, f.Name, err)
			}
			return rd, func() {}, nil
		}
		rc, err := f.Open()
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %v", ErrInvalid, f.Name, err)
		}
		return rc, func() { rc.Close() }, nil
	}
	read := func(name string) ([]byte, error) {
		f := files[name]
		if f == nil {
			return nil, fmt.Errorf("%w: %s is missing", ErrInvalid, name)
		}
		rd, done, err := open(f)
		if err != nil {
			return nil, err
		}
		defer done()
		b, err := io.ReadAll(io.LimitReader(rd, 16<<20))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, name, err)
		}
		return b, nil
	}
	mb, err := read(ManifestName)
	if err != nil {
		return m, err
	}
	sb, err := read(SignatureName)
	if err != nil {
		return m, err
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sb)))
	if err != nil || !ed25519.Verify(pub, mb, sig) {
		return m, fmt.Errorf("%w: %s: the signature does not match this box's key (the manifest was changed, or another box made it)", ErrInvalid, SignatureName)
	}
	if err := json.Unmarshal(mb, &m); err != nil {
		return m, fmt.Errorf("%w: %s: %v", ErrInvalid, ManifestName, err)
	}
	listed := []string{ManifestName, SignatureName, CoverName}
	for _, f := range m.Files {
		listed = append(listed, f.Name)
		zf := files[f.Name]
		if zf == nil {
			return m, fmt.Errorf("%w: %s is in the manifest but not in the bundle", ErrInvalid, f.Name)
		}
		rd, done, err := open(zf)
		if err != nil {
			return m, err
		}
		h := sha256.New()
		_, err = io.Copy(h, rd)
		done()
		if err != nil {
			return m, fmt.Errorf("%w: %s: %v", ErrInvalid, f.Name, err)
		}
		if hex.EncodeToString(h.Sum(nil)) != f.MP3SHA256 {
			return m, fmt.Errorf("%w: %s does not match its SHA-256 in the manifest: it was changed", ErrInvalid, f.Name)
		}
	}
	for name := range files {
		if !slices.Contains(listed, name) {
			return m, fmt.Errorf("%w: %s is in the bundle but not in the manifest: it was added", ErrInvalid, name)
		}
	}
	return m, nil
}
