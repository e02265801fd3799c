package archive

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"callrec/storage/index"
)

func TestSelfTest(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir)
	if err := a.SelfTest(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "data", "recordings", "selftest-*")); len(left) != 0 {
		t.Errorf("the self-test left %v", left)
	}
}

// TestFactoryReset: refused while a call is held; otherwise every
// recording is shredded at once, and the next Open finds a new box (no
// calls, no accounts) under the same key.
func TestFactoryReset(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir)
	write(t, a, "one", audio("one", 20000))
	write(t, a, "two", audio("two", 20000))
	acc := Access{Who: "tech", Why: "the box is being returned"}
	if _, err := a.Hold(Access{Who: "boss", Why: "complaint"}, "one"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.FactoryReset(acc); !errors.Is(err, ErrHeldCalls) {
		t.Fatalf("a reset with a held call = %v, want ErrHeldCalls", err)
	}
	if _, err := a.Play(acc, "one"); err != nil {
		t.Errorf("after the refusal: %v", err)
	}
	a.Release(Access{Who: "boss", Why: "closed"}, "one", "")
	n, err := a.FactoryReset(acc)
	if err != nil || n != 2 {
		t.Fatalf("FactoryReset = %d, %v", n, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "data", "recordings", "*")); len(left) != 0 {
		t.Errorf("left in the vault: %v", left)
	}
	cfg := a.cfg
	a.Close()
	b, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := os.Stat(filepath.Join(dir, "data", resetMarker)); !errors.Is(err, os.ErrNotExist) {
		t.Error("the reset's marker is still there")
	}
	if rs, _ := b.Search(acc, index.Query{}); len(rs) != 0 {
		t.Errorf("%d calls after the reset", len(rs))
	}
}
