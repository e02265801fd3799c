package archive

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"callrec/storage/index"
)

func TestErase(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir)
	write(t, a, "e", audio("e", 20000))
	write(t, a, "held", audio("held", 20000))
	acc := Access{Who: "hoig", Why: "case ER-2026-001: objection upheld"}
	if _, err := a.Hold(Access{Who: "hoig", Why: "complaint"}, "held"); err != nil {
		t.Fatal(err)
	}
	sum := func() string { r, _ := a.index.Get("e"); return r.Recording.SHA256 }()
	if _, err := a.Erase(Access{Who: "hoig"}, "e"); !errors.Is(err, ErrNoAccountable) {
		t.Errorf("Erase without why = %v", err)
	}
	before, err := a.Erase(acc, "e")
	if err != nil || before.Recording.SHA256 != sum || before.Recording.State != index.StateComplete {
		t.Fatalf("Erase = %+v, %v", before, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "recordings", "e.crv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the recording's file is still there: %v", err)
	}
	if _, err := a.Play(acc, "e"); !errors.Is(err, ErrErased) {
		t.Errorf("Play of an erased call = %v, want ErrErased", err)
	}
	r, _ := a.index.Get("e")
	if r.Recording.State != index.StateErased || !slices.Contains(r.Flags, index.FlagErased) || len(r.Numbers) == 0 {
		t.Errorf("the tombstone: %+v", r)
	}
	if _, err := a.Erase(acc, "e"); !errors.Is(err, ErrErased) {
		t.Errorf("second Erase = %v, want ErrErased", err)
	}
	if _, err := a.Erase(acc, "held"); !errors.Is(err, index.ErrHeld) {
		t.Errorf("Erase of a held call = %v, want ErrHeld", err)
	}
	if _, err := a.Play(acc, "held"); err != nil {
		t.Errorf("the held call after a refused erasure: %v", err)
	}
	if rep, err := a.Verify(); err != nil || len(rep.Problems) != 0 {
		t.Errorf("Verify after an erasure = %+v, %v", rep, err)
	}
	log, _ := a.AuditLog()
	var erased, refused bool
	for _, e := range log {
		erased = erased || e.Action == "erase" && e.Target == "e" && strings.Contains(e.Why, "ER-2026-001")
		refused = refused || e.Action == "erase-refused" && e.Target == "held"
	}
	if !erased || !refused {
		t.Errorf("audit: erase %v, refusal %v", erased, refused)
	}
}
