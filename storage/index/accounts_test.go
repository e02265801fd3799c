package index

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestSearchStopsAtMaxScan(t *testing.T) {
	ix := openTest(t)
	for i := range 10 {
		ix.Put(rec(string(rune('a'+i)), t0.Add(time.Duration(i)*time.Minute), nil))
	}
	f, err := ix.Search(Query{Newest: true, MaxScan: 4, Match: func(r *Record) bool { return r.ID == "a" }})
	if err != nil || len(f.Records) != 0 || !f.Cut || f.Scanned != 4 {
		t.Errorf("Search = %+v, %v; want nothing found, cut after 4", f, err)
	}
	f, err = ix.Search(Query{Newest: true, MaxScan: 10, Match: func(r *Record) bool { return r.ID == "a" }})
	if err != nil || len(f.Records) != 1 || f.Cut {
		t.Errorf("Search = %+v, %v; want a, whole", f, err)
	}
}

func TestUsers(t *testing.T) {
	ix := openTest(t)
	u := User{Name: "alice", Role: "head_of_ig", PasswordHash: "$argon2id$x", Created: t0}
	if err := ix.AddUser(u); err != nil {
		t.Fatal(err)
	}
	if err := ix.AddUser(u); !errors.Is(err, ErrUserExists) {
		t.Errorf("second AddUser = %v, want ErrUserExists", err)
	}
	if _, err := ix.User("bob"); !errors.Is(err, ErrNoUser) {
		t.Errorf("User(bob) = %v, want ErrNoUser", err)
	}
	if err := ix.UpdateUser("alice", func(u *User) error { u.Failures = 3; u.Name = "mallory"; return nil }); err != nil {
		t.Fatal(err)
	}
	refuse := errors.New("no")
	if err := ix.UpdateUser("alice", func(u *User) error { u.Failures = 9; return refuse }); !errors.Is(err, refuse) {
		t.Errorf("UpdateUser = %v, want the change's error", err)
	}
	got, err := ix.User("alice")
	if err != nil || got.Failures != 3 || got.Name != "alice" {
		t.Errorf("User = %+v, %v; want alice with 3 failures", got, err)
	}
	ix.AddUser(User{Name: "bob", Role: "auditor"})
	us, err := ix.Users()
	if err != nil || len(us) != 2 || us[0].Name != "alice" || us[1].Name != "bob" {
		t.Errorf("Users = %+v, %v", us, err)
	}

	if err := ix.PutToken("secret-token", Token{User: "bob", Created: t0}); err != nil {
		t.Fatal(err)
	}
	if tok, err := ix.TokenUser("secret-token"); err != nil || tok.User != "bob" {
		t.Errorf("TokenUser = %+v, %v", tok, err)
	}
	if _, err := ix.TokenUser("other"); !errors.Is(err, ErrNoUser) {
		t.Errorf("TokenUser(other) = %v, want ErrNoUser", err)
	}
	if n, err := ix.DeleteTokens("bob"); err != nil || n != 1 {
		t.Errorf("DeleteTokens = %d, %v", n, err)
	}
	if _, err := ix.TokenUser("secret-token"); !errors.Is(err, ErrNoUser) {
		t.Errorf("a deleted token still opens: %v", err)
	}
}

func TestAnnotations(t *testing.T) {
	ix := openTest(t)
	ix.Put(rec("a", t0, nil), rec("b", t0, nil))
	if err := ix.Annotate("zz", func(*Annotation) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("Annotate(unknown) = %v, want ErrNotFound", err)
	}
	ix.Annotate("a", func(a *Annotation) error {
		a.Tags = append(a.Tags, "complaint")
		a.Notes = append(a.Notes, Note{By: "alice", At: t0, Text: "Patient upset about billing"})
		return nil
	})
	got, err := ix.Annotation("a")
	if err != nil || len(got.Tags) != 1 || len(got.Notes) != 1 {
		t.Errorf("Annotation = %+v, %v", got, err)
	}
	if none, err := ix.Annotation("b"); err != nil || len(none.Tags)+len(none.Notes) != 0 {
		t.Errorf("Annotation(b) = %+v, %v; want empty", none, err)
	}
	ids, err := ix.Annotated(func(a Annotation) bool { return len(a.Tags) > 0 })
	if err != nil || len(ids) != 1 || !ids["a"] {
		t.Errorf("Annotated = %v, %v", ids, err)
	}
	var on bool
	if found, err := ix.Setting("require_totp", &on); found || err != nil {
		t.Errorf("unset setting found: %v, %v", found, err)
	}
	ix.PutSetting("require_totp", true)
	if found, err := ix.Setting("require_totp", &on); !found || err != nil || !on {
		t.Errorf("Setting = %v %v, %v", on, found, err)
	}
}

// TestSalvageAccounts: a rebuilt index keeps the old file's users,
// tokens, settings and notes.
func TestSalvageAccounts(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.db")
	o, err := Open(old, Options{Key: testKey, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	o.Put(rec("a", t0, nil))
	o.AddUser(User{Name: "alice", Role: "head_of_ig"})
	o.PutToken("tok", Token{User: "alice"})
	o.Annotate("a", func(a *Annotation) error { a.Tags = []string{"x"}; return nil })
	o.Close()
	ix := openTest(t)
	n, err := ix.SalvageAccounts(old)
	if err != nil || n != 3 {
		t.Fatalf("SalvageAccounts = %d, %v; want 3", n, err)
	}
	if _, err := ix.User("alice"); err != nil {
		t.Error(err)
	}
	if tok, err := ix.TokenUser("tok"); err != nil || tok.User != "alice" {
		t.Error(tok, err)
	}
}
