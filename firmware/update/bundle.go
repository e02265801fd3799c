// Package update installs signed firmware into A/B slots, boots it on
// trial, keeps it when it proves healthy and rolls back when it does not.
//
// A bundle is a ZIP: the new recorderd binary, manifest.json (version,
// hardware model, the binary's SHA-256 and size), manifest.sig (the
// release key's ed25519 signature over manifest.json), and the release
// key itself with a root key's certificate for it (release.pub,
// release.sig), so that a new release key needs no new firmware. The
// trusted keys are embedded (keys/).
package update

import (
	"archive/zip"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"golang.org/x/mod/semver"
)

// Names inside a bundle.
const (
	BinaryName     = "recorderd"
	ManifestName   = "manifest.json"
	SignatureName  = "manifest.sig"
	ReleaseKeyName = "release.pub"
	ReleaseSigName = "release.sig"
)

// certContext is signed with the release key's bytes by a root key: a
// signature over anything else never certifies a key.
const certContext = "callrec release key v1\n"

// Manifest describes a bundle's binary.
type Manifest struct {
	Version string `json:"version"` // semver, e.g. 1.4.0
	Model   string `json:"model"`   // the board it is for: cm4, sim
	Arch    string `json:"arch"`    // GOARCH
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
}

// Trust is the keys a box accepts.
type Trust struct {
	Roots    []ed25519.PublicKey // sign release keys, never bundles
	Releases []ed25519.PublicKey // sign bundles
}

// Errors of a bundle's check; each refusal says which.
var (
	ErrUnsigned   = errors.New("update: the bundle has no signature")
	ErrSignature  = errors.New("update: the bundle's signature does not verify")
	ErrUntrusted  = errors.New("update: the bundle is signed by a key this box does not trust")
	ErrRootSigned = errors.New("update: the bundle is signed by a root key: root keys certify release keys and never sign firmware")
	ErrModel      = errors.New("update: the bundle is for another model")
	ErrDowngrade  = errors.New("update: the bundle is not newer than the firmware running")
	ErrContent    = errors.New("update: the binary does not match the manifest (size or SHA-256)")
	ErrNoKeys     = errors.New("update: this firmware trusts no release key (built without keys): it installs no update")
	ErrMalformed  = errors.New("update: not a firmware bundle")
)

var versionPattern = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// Newer says whether version a is newer than b (semver; "dev" and other
// non-semver versions count as 0.0.0).
func Newer(a, b string) bool { return semver.Compare(sv(a), sv(b)) > 0 }

func sv(v string) string {
	if !versionPattern.MatchString(v) {
		return "v0.0.0"
	}
	return "v" + v
}

// ParseKey reads an ed25519 public key in base64 (lines starting with #
// are comments, as in a .pub file).
func ParseKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(stripComments(s))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("update: not an ed25519 public key in base64")
	}
	return b, nil
}

// Checked is a bundle whose signature chain and manifest were checked;
// its binary's bytes are checked as they are read.
type Checked struct {
	Manifest Manifest
	Key      string // the release key that signed it (base64)
	binary   *zip.File
}

// Check checks a bundle's signature chain and manifest: signed by a
// trusted release key (listed, or certified by a trusted root), for this
// model, newer than running. The binary itself is checked as Open reads
// it.
func Check(r io.ReaderAt, size int64, trust Trust, model, running string) (*Checked, error) {
	if len(trust.Roots) == 0 && len(trust.Releases) == 0 {
		return nil, ErrNoKeys
	}
	z, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	files := map[string]*zip.File{}
	for _, f := range z.File {
		if _, dup := files[f.Name]; dup {
			return nil, fmt.Errorf("%w: %s twice", ErrMalformed, f.Name)
		}
		files[f.Name] = f
	}
	read := func(name string, limit int64) ([]byte, error) {
		f := files[name]
		if f == nil {
			return nil, nil
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, name, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, limit))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, name, err)
		}
		return b, nil
	}
	mb, err := read(ManifestName, 64<<10)
	if err != nil {
		return nil, err
	}
	sigb, err := read(SignatureName, 1024)
	if err != nil {
		return nil, err
	}
	if mb == nil || files[BinaryName] == nil {
		return nil, fmt.Errorf("%w: it lacks %s or %s", ErrMalformed, ManifestName, BinaryName)
	}
	if sigb == nil {
		return nil, ErrUnsigned
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sigb)))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: %s is not an ed25519 signature in base64", ErrSignature, SignatureName)
	}
	// Which key signed it: a root key is refused outright, whatever else.
	for _, root := range trust.Roots {
		if ed25519.Verify(root, mb, sig) {
			return nil, ErrRootSigned
		}
	}
	var key ed25519.PublicKey
	for _, k := range trust.Releases {
		if ed25519.Verify(k, mb, sig) {
			key = k
		}
	}
	if key == nil {
		kb, err := read(ReleaseKeyName, 1024)
		if err != nil {
			return nil, err
		}
		cb, err := read(ReleaseSigName, 1024)
		if err != nil {
			return nil, err
		}
		if kb == nil || cb == nil {
			return nil, ErrUntrusted
		}
		rel, err := ParseKey(string(kb))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, ReleaseKeyName, err)
		}
		cert, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(cb)))
		if err != nil {
			return nil, fmt.Errorf("%w: %s", ErrUntrusted, ReleaseSigName)
		}
		certified := false
		for _, root := range trust.Roots {
			certified = certified || ed25519.Verify(root, append([]byte(certContext), rel...), cert)
		}
		if !certified {
			return nil, ErrUntrusted
		}
		if !ed25519.Verify(rel, mb, sig) {
			return nil, ErrSignature
		}
		key = rel
	}
	var m Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, ManifestName, err)
	}
	switch {
	case !versionPattern.MatchString(m.Version):
		return nil, fmt.Errorf("%w: version %q is not semver", ErrMalformed, m.Version)
	case m.Model != model:
		return nil, fmt.Errorf("%w: it is for %q, this box is %q", ErrModel, m.Model, model)
	case !Newer(m.Version, running):
		return nil, fmt.Errorf("%w: it is %s, this box runs %s", ErrDowngrade, m.Version, running)
	case m.Size <= 0 || len(m.SHA256) != 64:
		return nil, fmt.Errorf("%w: no size or SHA-256", ErrMalformed)
	case int64(files[BinaryName].UncompressedSize64) != m.Size:
		return nil, fmt.Errorf("%w: the binary is %d bytes, the manifest says %d", ErrContent, files[BinaryName].UncompressedSize64, m.Size)
	}
	return &Checked{Manifest: m, Key: base64.StdEncoding.EncodeToString(key), binary: files[BinaryName]}, nil
}
