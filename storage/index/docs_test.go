package index

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
)

type testDoc struct {
	Name  string
	Count int
}

func TestDocs(t *testing.T) {
	ix := openTest(t)
	var d testDoc
	if err := ix.Doc(Cases, "SAR-1", &d); !errors.Is(err, ErrNoDoc) {
		t.Errorf("Doc of nothing = %v, want ErrNoDoc", err)
	}
	for i := range 3 {
		var d testDoc
		err := ix.UpdateDoc(Cases, "SAR-1", &d, func(found bool) error {
			if found != (i > 0) {
				t.Errorf("change %d: found = %v", i, found)
			}
			d.Name, d.Count = "a", d.Count+1
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	refuse := errors.New("no")
	if err := ix.UpdateDoc(Cases, "SAR-1", &d, func(bool) error { d.Count = 99; return refuse }); !errors.Is(err, refuse) {
		t.Errorf("refused change = %v", err)
	}
	if err := ix.Doc(Cases, "SAR-1", &d); err != nil || d.Count != 3 {
		t.Errorf("Doc = %+v, %v; want 3 changes kept and the refused one not", d, err)
	}
	ix.UpdateDoc(Grants, "g1", &testDoc{}, func(bool) error { return nil })
	var seen []string
	err := ix.Docs(Cases, func(id string, open func(any) error) error {
		var d testDoc
		seen = append(seen, id)
		return open(&d)
	})
	if err != nil || !slices.Equal(seen, []string{"SAR-1"}) {
		t.Errorf("Docs(cases) = %v, %v; want only SAR-1 (grants apart)", seen, err)
	}
	if err := ix.Doc(Kind("users"), "alice", &d); err == nil {
		t.Error("a document of another bucket's name was read")
	}
}

func TestDocsSurviveARebuild(t *testing.T) {
	old, err := Open(filepath.Join(t.TempDir(), "old.db"), Options{Key: testKey, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	old.UpdateDoc(Cases, "POL-1", &testDoc{Name: "police"}, func(bool) error { return nil })
	oldPath := old.File()
	old.Close()
	ix, err := Open(filepath.Join(t.TempDir(), "new.db"), Options{Key: testKey, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if _, err := ix.SalvageAccounts(oldPath); err != nil {
		t.Fatal(err)
	}
	var d testDoc
	if err := ix.Doc(Cases, "POL-1", &d); err != nil || d.Name != "police" {
		t.Errorf("salvaged case = %+v, %v", d, err)
	}
}

func TestErase(t *testing.T) {
	ix := openTest(t)
	r := rec("a", t0, []string{"+441632960001"})
	r.Recording.SHA256 = "abc"
	ix.Put(r, rec("held", t0, nil))
	ix.AddHold("held", Hold{Reason: "police"})
	shredded := 0
	shred := func() error { shredded++; return nil }
	if _, err := ix.Erase("held", shred); !errors.Is(err, ErrHeld) || shredded != 0 {
		t.Errorf("Erase of a held call = %v (shredded %d), want ErrHeld before shredding", err, shredded)
	}
	failed := errors.New("disk")
	if _, err := ix.Erase("a", func() error { return failed }); !errors.Is(err, failed) {
		t.Errorf("Erase with a failed shred = %v", err)
	}
	if g, _ := ix.Get("a"); g.Recording.State != StateComplete {
		t.Errorf("a failed shred changed the record: %s", g.Recording.State)
	}
	before, err := ix.Erase("a", shred)
	if err != nil || shredded != 1 || before.Recording.State != StateComplete {
		t.Fatalf("Erase = %+v, %v (shredded %d)", before, err, shredded)
	}
	g, _ := ix.Get("a")
	if g.Recording.State != StateErased || g.Recording.State.HasAudio() || !slices.Contains(g.Flags, FlagErased) || g.Recording.SHA256 != "abc" {
		t.Errorf("erased record = %+v", g)
	}
	if slices.Contains(before.Flags, FlagErased) {
		t.Error("the record before shares the erased flag")
	}
	if _, err := ix.Erase("a", shred); err != nil || shredded != 1 {
		t.Errorf("second Erase = %v, shredded %d: want nothing done", err, shredded)
	}
}
