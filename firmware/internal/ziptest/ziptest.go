// Package ziptest rewrites ZIP files for tests: a bundle with an entry
// changed, dropped or added.
package ziptest

import (
	"archive/zip"
	"bytes"
	"io"
	"testing"
)

// Rezip copies a ZIP, letting change alter an entry (or drop it, by
// returning nil), and adds the extra entries.
func Rezip(t testing.TB, in []byte, change func(name string, b []byte) []byte, extra map[string][]byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	write := func(name string, b []byte) {
		w, err := zw.Create(name)
		if err == nil {
			_, err = w.Write(b)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if b = change(f.Name, b); b != nil {
			write(f.Name, b)
		}
	}
	for n, b := range extra {
		write(n, b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
