package tests

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callrec/firmware/bundle"
	"callrec/firmware/recording"
	"callrec/storage/archive"
)

// TestBundleVerify: a bundle signed with the box's device key verifies
// with `recorderd bundle verify` and the key `recorderd keys
// device-public` prints, on its own; a changed MP3 fails, named.
func TestBundleVerify(t *testing.T) {
	b := newBox(t)
	pub := strings.TrimSpace(b.must("keys", "device-public"))
	if again := strings.TrimSpace(b.must("keys", "device-public")); again != pub || len(pub) != 44 {
		t.Fatalf("device-public = %q then %q", pub, again)
	}
	a, err := archive.Open(archive.Config{DataDir: filepath.Join(b.dir, "data"), KeyFile: filepath.Join(b.dir, "keys", "kek"), Format: recording.Format{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	key, err := a.DeviceKey()
	a.Close()
	if err != nil {
		t.Fatal(err)
	}
	src := bundle.Source{File: bundle.File{CallID: "c1", Start: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}, Size: 1500,
		Write: func(w io.Writer) error { _, err := w.Write(bytes.Repeat([]byte("mp3"), 500)); return err }}
	var z bytes.Buffer
	if _, err := bundle.Build(&z, bundle.Manifest{Case: "SAR-1", BuiltBy: "boss"}, []bundle.Source{src}, nil, key, ""); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(t.TempDir(), "sar.zip")
	os.WriteFile(good, z.Bytes(), 0o600)
	if out, err := run(recorderd, "bundle", "verify", "-pub", pub, good); err != nil || !strings.Contains(out, "verified: case SAR-1, 1 recordings") {
		t.Errorf("verify: %v\n%s", err, out)
	}
	// One byte of the MP3 changed.
	zr, _ := zip.NewReader(bytes.NewReader(z.Bytes()), int64(z.Len()))
	var bad bytes.Buffer
	zw := zip.NewWriter(&bad)
	for _, f := range zr.File {
		rc, _ := f.Open()
		body, _ := io.ReadAll(rc)
		rc.Close()
		if strings.HasSuffix(f.Name, ".mp3") {
			body[0] ^= 1
		}
		w, _ := zw.Create(f.Name)
		w.Write(body)
	}
	zw.Close()
	tampered := filepath.Join(t.TempDir(), "tampered.zip")
	os.WriteFile(tampered, bad.Bytes(), 0o600)
	out, err := run(recorderd, "bundle", "verify", "-pub", pub, tampered)
	if exitCode(err) != 1 || !strings.Contains(out, "20261127-090000Z-c1.mp3 does not match") {
		t.Errorf("a tampered bundle: exit %d\n%s", exitCode(err), out)
	}
}

// run runs a command and returns its combined output.
func run(name string, args ...string) (string, error) {
	out, err := osexec.Command(name, args...).CombinedOutput()
	return string(out), err
}
