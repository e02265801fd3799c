package bundle

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestEncryptedBundle(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	const pw = "vq7k-m2xd-9fhc"
	enc := buildWith(t, key, pw)
	plain := build(t, key)
	if m, err := Verify(bytes.NewReader(enc), int64(len(enc)), pub, pw); err != nil || len(m.Files) != 2 {
		t.Fatalf("Verify(encrypted) = %+v, %v", m, err)
	}
	if _, err := Verify(bytes.NewReader(enc), int64(len(enc)), pub, "wrong"); !errors.Is(err, ErrPassword) {
		t.Errorf("Verify with a wrong password = %v, want ErrPassword", err)
	}
	if _, err := Verify(bytes.NewReader(enc), int64(len(enc)), pub, ""); err == nil || !strings.Contains(err.Error(), "password") {
		t.Errorf("Verify without the password = %v", err)
	}
	// Nothing inside shows: not the parties' numbers, nor the MP3 bytes.
	for _, secret := range [][]byte{[]byte("+441632960001"), bytes.Repeat([]byte{0xff, 0xf3, 0}, 20), []byte("<html>cover")} {
		if bytes.Contains(enc, secret) {
			t.Errorf("the encrypted bundle shows %q", secret)
		}
		if !bytes.Contains(plain, secret) {
			t.Errorf("the test is wrong: the plain bundle lacks %q", secret)
		}
	}
	// One changed byte of ciphertext fails the entry's authentication,
	// and the error names it.
	zr, _ := zip.NewReader(bytes.NewReader(enc), int64(len(enc)))
	var off int64
	for _, f := range zr.File {
		if f.Name == "20261127-103000Z-c2.mp3" {
			off, _ = f.DataOffset()
		}
	}
	bad := bytes.Clone(enc)
	bad[off+aesSaltLen+aesCheckLen+100] ^= 1
	if _, err := Verify(bytes.NewReader(bad), int64(len(bad)), pub, pw); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "20261127-103000Z-c2.mp3") {
		t.Errorf("Verify of a changed encrypted MP3 = %v", err)
	}
}

// sevenZip is 7-Zip's command (Debian's 7zip package), which the
// requester's own tools stand for.
func sevenZip(t *testing.T) string {
	for _, n := range []string{"7zz", "7z"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("7-Zip is not installed (make test installs Debian's 7zip)")
	}
	t.Skip("7-Zip is not installed (apt install 7zip)")
	return ""
}

// TestSevenZipOpensOurs: 7-Zip extracts an encrypted bundle with the
// password, file for file, and refuses a wrong one.
func TestSevenZipOpensOurs(t *testing.T) {
	sz := sevenZip(t)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	const pw = "vq7k-m2xd-9fhc"
	dir := t.TempDir()
	zp := filepath.Join(dir, "bundle.zip")
	os.WriteFile(zp, buildWith(t, key, pw), 0o600)
	if out, err := exec.Command(sz, "x", "-p"+pw, "-o"+filepath.Join(dir, "out"), zp).CombinedOutput(); err != nil {
		t.Fatalf("7-Zip: %v\n%s", err, out)
	}
	plain := build(t, key)
	zr, _ := zip.NewReader(bytes.NewReader(plain), int64(len(plain)))
	for _, f := range zr.File {
		if f.Name == ManifestName || f.Name == SignatureName {
			continue // these name the hashes of this build: the MP3s and cover are the same bytes
		}
		rc, _ := f.Open()
		want, _ := io.ReadAll(rc)
		rc.Close()
		got, err := os.ReadFile(filepath.Join(dir, "out", f.Name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s as 7-Zip extracted it: %d bytes, %v; want %d bytes", f.Name, len(got), err, len(want))
		}
	}
	if out, err := exec.Command(sz, "t", "-pwrong", zp).CombinedOutput(); err == nil {
		t.Errorf("7-Zip accepted a wrong password:\n%s", out)
	}
}

// TestWeOpenSevenZips: an AES-256 ZIP that 7-Zip makes opens with our
// reader (the same format from the other side).
func TestWeOpenSevenZips(t *testing.T) {
	sz := sevenZip(t)
	dir := t.TempDir()
	body := bytes.Repeat([]byte("callrec "), 5000)
	os.WriteFile(filepath.Join(dir, "a.mp3"), body, 0o600)
	zp := filepath.Join(dir, "7z.zip")
	if out, err := exec.Command(sz, "a", "-tzip", "-mem=AES256", "-mm=Copy", "-pS3cret-pass", zp, filepath.Join(dir, "a.mp3")).CombinedOutput(); err != nil {
		t.Fatalf("7-Zip: %v\n%s", err, out)
	}
	zr, err := zip.OpenReader(zp)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || !encrypted(zr.File[0]) {
		t.Fatalf("7-Zip's file: %+v", zr.File)
	}
	rd, err := openAES(zr.File[0], "S3cret-pass")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rd)
	if err != nil || !bytes.Equal(got, body) {
		t.Errorf("read %d bytes, %v; want %d", len(got), err, len(body))
	}
	if _, err := openAES(zr.File[0], "nope"); !errors.Is(err, ErrPassword) {
		t.Errorf("a wrong password = %v", err)
	}
}
