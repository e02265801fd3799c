package update

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Sign writes a bundle of the binary at path to w: its manifest (m's
// version, model and arch, with the binary's size and SHA-256), signed by
// the release key, with the release key and its root's certificate (cert,
// "" for a release key every box lists).
func Sign(w io.Writer, binary string, m Manifest, release ed25519.PrivateKey, cert string) (Manifest, error) {
	f, err := os.Open(binary)
	if err != nil {
		return m, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return m, err
	}
	m.Size, m.SHA256 = n, hex.EncodeToString(h.Sum(nil))
	if !versionPattern.MatchString(m.Version) {
		return m, fmt.Errorf("update: version %q is not semver (1.4.0)", m.Version)
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	z := zip.NewWriter(w)
	add := func(name string, r io.Reader, method uint16) error {
		zw, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err == nil {
			_, err = io.Copy(zw, r)
		}
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return m, err
	}
	pub := release.Public().(ed25519.PublicKey)
	for _, e := range []struct {
		name string
		r    io.Reader
	}{
		{BinaryName, f},
		{ManifestName, bytes.NewReader(mb)},
		{SignatureName, bytes.NewReader([]byte(base64.StdEncoding.EncodeToString(ed25519.Sign(release, mb)) + "\n"))},
		{ReleaseKeyName, bytes.NewReader([]byte(base64.StdEncoding.EncodeToString(pub) + "\n"))},
		{ReleaseSigName, bytes.NewReader([]byte(cert))},
	} {
		if e.name == ReleaseSigName && cert == "" {
			continue
		}
		if err := add(e.name, e.r, zip.Deflate); err != nil {
			return m, fmt.Errorf("update: %s: %w", e.name, err)
		}
	}
	return m, z.Close()
}

// SignFile writes a new bundle file at out (never over an existing one):
// Sign with the release key and certificate read from their files (cert
// "" for none). A failure leaves no file.
func SignFile(out, binary string, m Manifest, keyFile, certFile string) (Manifest, error) {
	key, err := ReadPrivate(keyFile)
	if err != nil {
		return m, err
	}
	var cert string
	if certFile != "" {
		b, err := os.ReadFile(certFile)
		if err != nil {
			return m, err
		}
		cert = string(b)
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return m, err
	}
	m, err = Sign(f, binary, m, key, cert)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
	}
	return m, err
}
