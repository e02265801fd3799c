package bundle

import (
	"archive/zip"
	"bytes"
	"callrec/firmware/internal/ziptest"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func build(t testing.TB, key ed25519.PrivateKey) []byte { return buildWith(t, key, "") }

func buildWith(t testing.TB, key ed25519.PrivateKey, password string) []byte {
	t.Helper()
	t0 := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	var srcs []Source
	for i, id := range []string{"c1", "c2"} {
		body := bytes.Repeat([]byte{0xff, 0xf3, byte(i)}, 1000)
		srcs = append(srcs, Source{File: File{CallID: id, Start: t0.Add(time.Duration(i) * time.Hour), Parties: []string{"+441632960001", "ext. 201"}},
			Size: int64(len(body)), Write: func(w io.Writer) error { _, err := w.Write(body); return err }})
	}
	var b bytes.Buffer
	m, err := Build(&b, Manifest{Case: "SAR-2026-001", BuiltBy: "boss", BuiltAt: t0}, srcs, []byte("<html>cover</html>"), key, password)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 2 || m.Files[0].Name != "20261127-093000Z-c1.mp3" || m.Files[0].MP3SHA256 == "" {
		t.Fatalf("manifest %+v", m)
	}
	return b.Bytes()
}

// rezip copies a bundle, letting change alter or drop entries and add more.
func rezip(t *testing.T, in []byte, change func(name string, b []byte) []byte, extra map[string][]byte) []byte {
	return ziptest.Rezip(t, in, change, extra)
}

func TestVerify(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	good := build(t, key)
	if m, err := Verify(bytes.NewReader(good), int64(len(good)), pub, ""); err != nil || m.Case != "SAR-2026-001" {
		t.Fatalf("Verify(good) = %+v, %v", m, err)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	keep := func(_ string, b []byte) []byte { return b }
	for name, tt := range map[string]struct {
		zip  []byte
		pub  ed25519.PublicKey
		want string
	}{
		"another box's key": {good, other, "manifest.sig"},
		"an MP3 changed": {rezip(t, good, func(n string, b []byte) []byte {
			if n == "20261127-103000Z-c2.mp3" {
				b[10] ^= 1
			}
			return b
		}, nil), pub, "20261127-103000Z-c2.mp3 does not match"},
		"an MP3 removed": {rezip(t, good, func(n string, b []byte) []byte {
			if n == "20261127-093000Z-c1.mp3" {
				return nil
			}
			return b
		}, nil), pub, "20261127-093000Z-c1.mp3 is in the manifest but not in the bundle"},
		"a file added": {rezip(t, good, keep, map[string][]byte{"extra.mp3": []byte("x")}), pub, "extra.mp3 is in the bundle but not in the manifest"},
		"the manifest changed": {rezip(t, good, func(n string, b []byte) []byte {
			if n == ManifestName {
				return bytes.Replace(b, []byte("SAR-2026-001"), []byte("SAR-2026-002"), 1)
			}
			return b
		}, nil), pub, "manifest.sig"},
		"not a ZIP": {[]byte("hello"), pub, "not a ZIP"},
	} {
		_, err := Verify(bytes.NewReader(tt.zip), int64(len(tt.zip)), tt.pub, "")
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v; want an error naming %q", name, err, tt.want)
		}
	}
	if _, err := ParsePublic("not a key"); err == nil {
		t.Error("ParsePublic accepted a bad key")
	}
}

// FuzzVerify: any bytes as a bundle give an answer, never a panic, and
// nothing unsigned verifies.
func FuzzVerify(f *testing.F) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	var b bytes.Buffer
	Build(&b, Manifest{Case: "x"}, nil, nil, key, "")
	f.Add(b.Bytes())
	f.Add(buildWith(f, key, "pw"))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := Verify(bytes.NewReader(data), int64(len(data)), pub, "pw"); err == nil && !bytes.Equal(data, b.Bytes()) {
			// Only a ZIP carrying a valid signature by key may verify: the
			// fuzzer cannot make one, short of re-packing the seed.
			zr, zerr := zip.NewReader(bytes.NewReader(data), int64(len(data)))
			if zerr != nil || len(zr.File) == 0 {
				t.Fatalf("%d bytes verified without a signed manifest", len(data))
			}
		}
	})
}
