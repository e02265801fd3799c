package vault

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestMeta: a recording's metadata opens beside its own recording only,
// is replaced atomically, and goes when the recording is shredded.
func TestMeta(t *testing.T) {
	v, _ := newVault(t)
	write(t, v, "a", random(3*ChunkSize))
	write(t, v, "b", random(ChunkSize))
	if _, err := v.Meta("a"); !errors.Is(err, ErrNoMeta) {
		t.Fatalf("Meta before PutMeta = %v, want ErrNoMeta", err)
	}
	for _, m := range []string{`{"from":"+441632960001"}`, `{"from":"+441632960001","holds":[1]}`} {
		if err := v.PutMeta("a", []byte(m)); err != nil {
			t.Fatal(err)
		}
		if got, err := v.Meta("a"); err != nil || string(got) != m {
			t.Fatalf("Meta = %q, %v; want %q", got, err, m)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(v.dir, "a.meta"))
	if bytes.Contains(raw, []byte("1632960001")) {
		t.Error("the metadata file holds the number in plain")
	}
	// Moved beside another recording, it does not open.
	os.WriteFile(filepath.Join(v.dir, "b.meta"), raw, 0o600)
	if _, err := v.Meta("b"); !errors.Is(err, ErrTampered) {
		t.Errorf("a's metadata beside b = %v, want ErrTampered", err)
	}
	if err := v.Shred("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(v.dir, "a.meta")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the metadata outlived its shredded recording: %v", err)
	}
	if ids, _ := v.List(); len(ids) != 1 || ids[0] != "b" {
		t.Errorf("List = %v: metadata files are not recordings", ids)
	}
}

// TestInUse: another process (here, another Vault on the same directory)
// knows a recording without its final chunk is being written, and so
// reads it as in progress; once the writer is gone, the same file is
// truncated.
func TestInUse(t *testing.T) {
	v, keys := newVault(t)
	other, _ := New(v.dir, keys, nil)
	w, _ := v.Create("live")
	w.Write(random(2*ChunkSize + 5))
	if !other.InUse("live") {
		t.Fatal("InUse from another opener = false while the writer holds it")
	}
	r, err := other.Open("live")
	if err != nil {
		t.Fatalf("Open of a recording being written, from another opener = %v", err)
	}
	r.Close()
	w.f.Close() // the writer dies without its final chunk
	if other.InUse("live") {
		t.Fatal("InUse = true with no writer")
	}
	if _, err := other.Open("live"); !errors.Is(err, ErrTruncated) {
		t.Fatalf("Open of a file cut short = %v, want ErrTruncated", err)
	}
}

// TestSealUpAfterFailure: a recording whose writing failed mid-chunk (the
// disk filled) is closed with a final chunk after what was written whole:
// readable and complete at once, without a restart.
func TestSealUpAfterFailure(t *testing.T) {
	v, _ := newVault(t)
	w, _ := v.Create("full")
	data := random(3*ChunkSize + 100)
	w.Write(data)
	w.f.Write(random(900)) // the torn chunk the full disk left
	w.err = errors.New("no space left on device")
	if err := w.Close(); err == nil {
		t.Fatal("Close after a failure returned nil")
	}
	r, err := v.Open("full")
	if err != nil {
		t.Fatalf("Open after the failure = %v", err)
	}
	defer r.Close()
	got, _ := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
	if !r.Complete() || !bytes.Equal(got, data[:3*ChunkSize]) {
		t.Fatalf("complete %v, %d bytes; want the 3 chunks written whole", r.Complete(), len(got))
	}
}

// TestSealSecret: a secret sealed under a key opens while that key is in
// the ring (current or old, during a rotation), and not otherwise.
func TestSealSecret(t *testing.T) {
	k1, _ := NewKey()
	k2, _ := NewKey()
	ring := &Keyring{Current: k1}
	blob, err := ring.Seal([]byte("index key"), []byte("use"))
	if err != nil {
		t.Fatal(err)
	}
	rotating := &Keyring{Current: k2, Old: []Key{k1}}
	if got, err := rotating.Unseal(blob, []byte("use")); err != nil || string(got) != "index key" {
		t.Fatalf("Unseal under the old key = %q, %v", got, err)
	}
	if _, err := (&Keyring{Current: k2}).Unseal(blob, []byte("use")); !errors.Is(err, ErrNoKey) {
		t.Errorf("Unseal without its key = %v, want ErrNoKey", err)
	}
	if _, err := ring.Unseal(blob, []byte("another use")); !errors.Is(err, ErrTampered) {
		t.Errorf("Unseal for another use = %v, want ErrTampered", err)
	}
	blob[len(blob)-1] ^= 1
	if _, err := ring.Unseal(blob, []byte("use")); !errors.Is(err, ErrTampered) {
		t.Errorf("Unseal of an altered blob = %v, want ErrTampered", err)
	}
}
