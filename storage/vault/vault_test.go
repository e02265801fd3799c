package vault

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newVault(t testing.TB) (*Vault, *Keyring) {
	t.Helper()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	keys := &Keyring{Current: k}
	v, err := New(t.TempDir(), keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v, keys
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func write(t testing.TB, v *Vault, id string, data []byte) {
	t.Helper()
	w, err := v.Create(id)
	if err != nil {
		t.Fatal(err)
	}
	// In uneven pieces, as an MP3 encoder writes.
	for rest := data; len(rest) > 0; {
		k := min(len(rest), 333)
		if _, err := w.Write(rest[:k]); err != nil {
			t.Fatal(err)
		}
		rest = rest[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func readAll(t testing.TB, v *Vault, id string) ([]byte, error) {
	t.Helper()
	r, err := v.Open(id)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
}

func TestRoundTrip(t *testing.T) {
	v, _ := newVault(t)
	for _, n := range []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 5*ChunkSize + 17} {
		data := random(n)
		id := "call-" + strings.Repeat("x", n%7)
		v2, _ := newVault(t)
		write(t, v2, id, data)
		got, err := readAll(t, v2, id)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: read %d, %v", n, len(got), err)
		}
	}
	// Plaintext never touches the disk.
	data := bytes.Repeat([]byte("ID3 recorded audio "), 2000)
	write(t, v, "plain", data)
	raw, _ := os.ReadFile(filepath.Join(v.dir, "plain.crv"))
	if bytes.Contains(raw, []byte("recorded audio")) {
		t.Fatal("plaintext found in the vault file")
	}
}

func TestRandomAccess(t *testing.T) {
	v, _ := newVault(t)
	data := random(10*ChunkSize + 100)
	write(t, v, "r", data)
	r, err := v.Open("r")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, rg := range [][2]int{{0, 10}, {ChunkSize - 5, ChunkSize + 5}, {7*ChunkSize + 3, 9*ChunkSize + 50}, {len(data) - 1, len(data)}} {
		p := make([]byte, rg[1]-rg[0])
		if n, err := r.ReadAt(p, int64(rg[0])); err != nil || n != len(p) || !bytes.Equal(p, data[rg[0]:rg[1]]) {
			t.Errorf("ReadAt(%v) = %d, %v", rg, n, err)
		}
	}
	if n, err := r.ReadAt(make([]byte, 10), int64(len(data)-4)); n != 4 || err != io.EOF {
		t.Errorf("read past the end = %d, %v; want 4, EOF", n, err)
	}
}

// TestReadWhileWriting reads a recording in progress up to its last
// complete chunk.
func TestReadWhileWriting(t *testing.T) {
	v, _ := newVault(t)
	w, _ := v.Create("live")
	data := random(3*ChunkSize + 10)
	w.Write(data)
	r, err := v.Open("live")
	if err != nil {
		t.Fatal(err)
	}
	if r.Complete() || r.Size() != 3*ChunkSize {
		t.Fatalf("complete %v, size %d; want in progress with 3 chunks", r.Complete(), r.Size())
	}
	got, _ := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
	if !bytes.Equal(got, data[:3*ChunkSize]) {
		t.Fatal("in-progress read differs")
	}
	r.Close()
	w.Close()
}

// TestCrashRecovery simulates a power cut mid-chunk: every complete chunk
// is readable after recovery, and the file is closed properly.
func TestCrashRecovery(t *testing.T) {
	v, keys := newVault(t)
	w, _ := v.Create("crash")
	data := random(4*ChunkSize + 500)
	w.Write(data)
	w.f.Write(random(700))         // a torn chunk: the power went mid-write
	w.f.Close()                    // no Close: the process died
	v2, _ := New(v.dir, keys, nil) // the next start
	if _, err := v2.Open("crash"); !errors.Is(err, ErrTruncated) {
		t.Fatalf("open before recovery = %v, want ErrTruncated", err)
	}
	fixed, err := v2.Recover()
	if err != nil || len(fixed) != 1 {
		t.Fatalf("Recover = %v, %v", fixed, err)
	}
	got, err := readAll(t, v2, "crash")
	if err != nil || !bytes.Equal(got, data[:4*ChunkSize]) {
		t.Fatalf("after recovery: %d bytes, %v; want the 4 complete chunks", len(got), err)
	}
	if fixed, _ := v2.Recover(); len(fixed) != 0 {
		t.Errorf("a second recovery repaired %v", fixed)
	}
}

func TestTamper(t *testing.T) {
	data := random(6*ChunkSize + 99)
	tests := []struct {
		name   string
		damage func(t *testing.T, v *Vault, path string)
		want   error
	}{
		{"truncated: final chunk removed", func(t *testing.T, v *Vault, p string) {
			st, _ := os.Stat(p)
			os.Truncate(p, st.Size()-int64(99+tagSize))
		}, ErrTruncated},
		{"truncated mid-chunk", func(t *testing.T, v *Vault, p string) {
			st, _ := os.Stat(p)
			os.Truncate(p, st.Size()-1000)
		}, ErrTruncated},
		{"chunks reordered", func(t *testing.T, v *Vault, p string) {
			b, _ := os.ReadFile(p)
			c1 := append([]byte(nil), b[headerSize+sealedSize:headerSize+2*sealedSize]...)
			copy(b[headerSize+sealedSize:], b[headerSize+2*sealedSize:headerSize+3*sealedSize])
			copy(b[headerSize+2*sealedSize:], c1)
			os.WriteFile(p, b, 0o600)
		}, ErrTampered},
		{"chunk swapped from another recording", func(t *testing.T, v *Vault, p string) {
			write(t, v, "other", data)
			o, _ := os.ReadFile(filepath.Join(v.dir, "other.crv"))
			b, _ := os.ReadFile(p)
			copy(b[headerSize:], o[headerSize:headerSize+sealedSize])
			os.WriteFile(p, b, 0o600)
		}, ErrTampered},
		{"header edited", func(t *testing.T, v *Vault, p string) {
			b, _ := os.ReadFile(p)
			b[30] ^= 1 // the nonce prefix, bound to every chunk
			os.WriteFile(p, b, 0o600)
		}, ErrTampered},
		{"wrapped key edited", func(t *testing.T, v *Vault, p string) {
			b, _ := os.ReadFile(p)
			b[100] ^= 1
			os.WriteFile(p, b, 0o600)
		}, ErrTampered},
		{"a byte of audio flipped", func(t *testing.T, v *Vault, p string) {
			b, _ := os.ReadFile(p)
			b[headerSize+3*sealedSize+7] ^= 0x40
			os.WriteFile(p, b, 0o600)
		}, ErrTampered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := newVault(t)
			write(t, v, "victim", data)
			tt.damage(t, v, filepath.Join(v.dir, "victim.crv"))
			_, err := readAll(t, v, "victim")
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), "victim") {
				t.Fatalf("read = %v, want %v naming the recording", err, tt.want)
			}
		})
	}
}

func TestShred(t *testing.T) {
	v, _ := newVault(t)
	write(t, v, "gone", random(5000))
	p := filepath.Join(v.dir, "gone.crv")
	raw, _ := os.ReadFile(p)
	if err := v.Shred("gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatal("file still there after Shred")
	}
	// A copy taken before (a backup, the disk's old blocks) is useless
	// once its key is destroyed: shredding zeroes the wrapped key first.
	shredded := append([]byte(nil), raw...)
	clear(shredded[wrapOffset:headerSize])
	os.WriteFile(p, shredded, 0o600)
	if _, err := readAll(t, v, "gone"); !errors.Is(err, ErrShredded) {
		t.Fatalf("read of a shredded copy = %v, want ErrShredded", err)
	}
}

func TestRewrap(t *testing.T) {
	v, keys := newVault(t)
	data := random(3*ChunkSize + 1)
	write(t, v, "a", data)
	write(t, v, "b", data)
	before, _ := os.ReadFile(filepath.Join(v.dir, "a.crv"))
	newKey, _ := NewKey()
	keys.Old = append(keys.Old, keys.Current)
	keys.Current = newKey
	if n, err := v.Rewrap(); err != nil || n != 2 {
		t.Fatalf("Rewrap = %d, %v", n, err)
	}
	after, _ := os.ReadFile(filepath.Join(v.dir, "a.crv"))
	if !bytes.Equal(before[headerSize:], after[headerSize:]) {
		t.Error("rewrap changed the audio chunks; it must touch only the header")
	}
	keys.Old = nil // the old key is gone
	for _, id := range []string{"a", "b"} {
		if got, err := readAll(t, v, id); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s after rewrap: %v", id, err)
		}
	}
	// Without the right key, a clear error.
	other, _ := NewKey()
	v.keys = &Keyring{Current: other}
	if _, err := readAll(t, v, "a"); !errors.Is(err, ErrNoKey) {
		t.Fatalf("read with a foreign key = %v, want ErrNoKey", err)
	}
}

func TestIDs(t *testing.T) {
	v, _ := newVault(t)
	for _, id := range []string{"", "../etc/passwd", "a/b", ".hidden", strings.Repeat("x", 200)} {
		if _, err := v.Create(id); err == nil {
			t.Errorf("Create(%q) = nil error", id)
		}
	}
	write(t, v, "dup", nil)
	if _, err := v.Create("dup"); !errors.Is(err, ErrExists) {
		t.Errorf("Create of an existing id = %v, want ErrExists", err)
	}
	if ids, _ := v.List(); len(ids) != 1 || ids[0] != "dup" {
		t.Errorf("List = %v", ids)
	}
}

func TestKeyFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keys", "kek")
	r, err := CreateKeys(p)
	if err != nil {
		t.Fatalf("CreateKeys: %v", err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	if _, err := CreateKeys(p); !errors.Is(err, os.ErrExist) {
		t.Errorf("CreateKeys over an existing key file = %v, want ErrExist", err)
	}
	r2, err := LoadKeys(p)
	if err != nil || r2.Current.ID != r.Current.ID {
		t.Fatalf("LoadKeys: %v", err)
	}
	// A symlink planted where an older version put its temporary file is
	// not written through.
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("keep"), 0o644)
	os.Symlink(victim, p+".tmp")
	if err := SaveKeys(p, r2); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("SaveKeys wrote through a planted symlink: %q", b)
	}
	if strings.Contains(r.Current.String(), string(r.Current.bytes[:4])) || !strings.HasPrefix(r.Current.String(), "vault.Key(") {
		t.Errorf("a key prints as %q", r.Current)
	}
	os.Chmod(p, 0o644)
	if _, err := LoadKeys(p); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable key file: %v, want an error saying so", err)
	}
}

// FuzzReader opens arbitrary bytes as a vault file and reads all of it:
// a clear error or data, never a panic.
func FuzzReader(f *testing.F) {
	v, _ := newVault(f)
	write(f, v, "seed", random(2*ChunkSize+5))
	seed, _ := os.ReadFile(filepath.Join(v.dir, "seed.crv"))
	f.Add(seed)
	f.Add(seed[:headerSize+10])
	f.Add([]byte("CALLREC\x01 not really"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(v.dir, "fuzz.crv")
		os.WriteFile(p, b, 0o600)
		r, err := v.Open("fuzz")
		if err != nil {
			return
		}
		io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
		r.Close()
	})
}
