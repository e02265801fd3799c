package update

import (
	"crypto/ed25519"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

//go:embed keys
var keysFS embed.FS

// extraKeys are more embedded keys: the test keys, in a build with the
// callrec_testkeys tag (testkeys.go), none otherwise.
var extraKeys fs.FS

// Trusted is the trust embedded in this firmware: root-*.pub and
// release-*.pub under keys/ (and testkeys/ in a test build).
func Trusted() (Trust, error) {
	var t Trust
	for _, fsys := range []fs.FS{keysFS, extraKeys} {
		if fsys == nil {
			continue
		}
		err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".pub") {
				return err
			}
			b, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			k, err := ParseKey(string(b))
			if err != nil {
				return fmt.Errorf("update: embedded key %s: %w", p, err)
			}
			switch name := path.Base(p); {
			case strings.HasPrefix(name, "root-"):
				t.Roots = append(t.Roots, k)
			case strings.HasPrefix(name, "release-"):
				t.Releases = append(t.Releases, k)
			}
			return nil
		})
		if err != nil {
			return t, err
		}
	}
	return t, nil
}

// stripComments drops the lines of a key file that begin with '#'.
func stripComments(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// ParsePrivate reads a private key file: comment lines, then the key's
// 32-byte seed in base64.
func ParsePrivate(s string) (ed25519.PrivateKey, error) {
	b, err := base64.StdEncoding.DecodeString(stripComments(s))
	if err != nil || len(b) != ed25519.SeedSize {
		return nil, errors.New("update: not an ed25519 private key file (a seed in base64)")
	}
	return ed25519.NewKeyFromSeed(b), nil
}

// NewKey makes a key pair as files: the private one (its seed) and the
// public one, each in base64 under a comment naming what it is.
func NewKey(what string) (private, public string) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	private = fmt.Sprintf("# callrec %s private key: keep it offline\n%s\n", what, base64.StdEncoding.EncodeToString(priv.Seed()))
	public = fmt.Sprintf("# callrec %s public key\n%s\n", what, base64.StdEncoding.EncodeToString(pub))
	return private, public
}

// Certify is a root key's certificate for a release key (base64).
func Certify(root ed25519.PrivateKey, release ed25519.PublicKey) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(root, append([]byte(certContext), release...))) + "\n"
}

// ReadPrivate reads a private key file (ParsePrivate).
func ReadPrivate(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParsePrivate(string(b))
}

// WriteKeyPair makes a key pair as PREFIX.key (private, 0600) and
// PREFIX.pub.
func WriteKeyPair(prefix, what string) error {
	priv, pub := NewKey(what)
	if err := os.WriteFile(prefix+".key", []byte(priv), 0o600); err != nil {
		return err
	}
	return os.WriteFile(prefix+".pub", []byte(pub), 0o644)
}

// CertifyFiles is the root key's (a private key file) certificate for a
// release key (a public key file).
func CertifyFiles(rootKey, releasePub string) (string, error) {
	root, err := ReadPrivate(rootKey)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(releasePub)
	if err != nil {
		return "", err
	}
	rel, err := ParseKey(string(b))
	if err != nil {
		return "", err
	}
	return Certify(root, rel), nil
}
