package index

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// openTest opens a fresh index and checks its consistency when the test
// ends (as bbolt's own btesting does).
func openTest(t testing.TB) *Index {
	t.Helper()
	ix, err := Open(filepath.Join(t.TempDir(), "index.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ix.Check(); err != nil {
			t.Errorf("index inconsistent: %v", err)
		}
		ix.Close()
	})
	return ix
}

func rec(id string, start time.Time, numbers []string, exts ...string) *Record {
	return &Record{ID: id, ConversationID: id, Start: start, Direction: "inbound", Numbers: numbers, Extensions: exts,
		Flags: []string{}, Recording: Recording{State: "complete"}}
}

func ids(rs []*Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestFind(t *testing.T) {
	ix := openTest(t)
	patient := "+441632960001"
	ix.Put(
		rec("a", t0, []string{patient}, "201"),
		rec("b", t0.Add(time.Hour), []string{"+441632960002"}, "202"),
		// A transfer: the patient is the third party of this leg.
		rec("c", t0.Add(2*time.Hour), []string{"+441632960003", patient}, "201", "203"),
		rec("d", t0.Add(30*24*time.Hour), []string{patient}),
	)
	tests := []struct {
		q    Query
		want string
	}{
		{Query{Number: patient}, "[a c d]"},
		{Query{Number: patient, From: t0.Add(time.Minute), To: t0.Add(24 * time.Hour)}, "[c]"},
		{Query{Number: patient, Limit: 2}, "[a c]"},
		{Query{Extension: "201"}, "[a c]"},
		{Query{From: t0.Add(30 * time.Minute), To: t0.Add(3 * time.Hour)}, "[b c]"},
		{Query{}, "[a b c d]"},
		{Query{Number: "+449999999999"}, "[]"},
	}
	for _, tt := range tests {
		rs, err := ix.Find(tt.q)
		if got := fmt.Sprint(ids(rs)); err != nil || got != tt.want {
			t.Errorf("Find(%+v) = %s, %v; want %s", tt.q, got, err, tt.want)
		}
	}
}

// TestUpdate checks a new version replaces the old one's index entries.
func TestUpdate(t *testing.T) {
	ix := openTest(t)
	r := rec("x", t0, []string{"+441632960001"})
	ix.Put(r)
	r.Numbers = []string{"+441632960009"}
	r.Recording.SHA256 = "abc"
	ix.Put(r)
	if rs, _ := ix.Find(Query{Number: "+441632960001"}); len(rs) != 0 {
		t.Errorf("old number still finds the call")
	}
	got, err := ix.Get("x")
	if err != nil || got.Recording.SHA256 != "abc" {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if _, err := ix.Get("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(nope) = %v, want ErrNotFound", err)
	}
}

// TestShared checks two openers of one file in shared mode both work.
func TestShared(t *testing.T) {
	p := filepath.Join(t.TempDir(), "index.db")
	a, err := Open(p, Options{Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(p, Options{Shared: true})
	if err != nil {
		t.Fatalf("second opener: %v", err)
	}
	a.Put(rec("s", t0, []string{"+441632960001"}))
	if r, err := b.Get("s"); err != nil || r.ID != "s" {
		t.Fatalf("the other opener reads %v, %v", r, err)
	}
}

func TestHolds(t *testing.T) {
	ix := openTest(t)
	ix.Put(rec("h", t0, nil))
	if err := ix.SetHold("h", Hold{Reason: "complaint 2026-114", By: "head-of-ig", At: t0}); err != nil {
		t.Fatal(err)
	}
	if h, err := ix.HoldOf("h"); err != nil || h == nil || h.Reason != "complaint 2026-114" {
		t.Fatalf("HoldOf = %+v, %v", h, err)
	}
	ix.ReleaseHold("h")
	if h, err := ix.HoldOf("h"); err != nil || h != nil {
		t.Fatal("hold not released")
	}
	if err := ix.SetHold("missing", Hold{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetHold on a missing call = %v", err)
	}
}

// TestPurgeFailsClosed: a hold that cannot be read stops a purge before
// the audio is touched, as a hold does; a call without one is shredded and
// becomes a tombstone in the same transaction.
func TestPurgeFailsClosed(t *testing.T) {
	ix := openTest(t)
	for _, id := range []string{"held", "unreadable", "free"} {
		ix.Put(rec(id, t0, nil))
	}
	if err := ix.SetHold("held", Hold{Reason: "complaint", By: "ig", At: t0}); err != nil {
		t.Fatal(err)
	}
	// A damaged hold record: the read fails.
	ix.update(func(tx *bolt.Tx) error { return tx.Bucket(bHolds).Put([]byte("unreadable"), []byte("{not json")) })
	if _, err := ix.HoldOf("unreadable"); err == nil {
		t.Fatal("HoldOf read a damaged hold without an error")
	}
	at := t0.Add(6 * 365 * 24 * time.Hour)
	for _, tt := range []struct {
		id      string
		wantErr error
	}{{"held", ErrHeld}, {"unreadable", nil}, {"free", nil}} {
		shredded := false
		err := ix.Purge(tt.id, at, func() error { shredded = true; return nil })
		r, _ := ix.Get(tt.id)
		switch tt.id {
		case "free":
			if err != nil || !shredded || r.Purged != at || r.Recording.State != StateShredded {
				t.Errorf("Purge(free) = %v, shredded %v, record %+v", err, shredded, r.Recording)
			}
		default:
			if err == nil || shredded || !r.Purged.IsZero() || r.Recording.State != StateComplete {
				t.Errorf("Purge(%s) = %v, shredded %v, state %q: want refused before shredding", tt.id, err, shredded, r.Recording.State)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Purge(%s) = %v, want %v", tt.id, err, tt.wantErr)
			}
		}
	}
	// A shred that fails leaves the record as it was.
	ix.Put(rec("stuck", t0, nil))
	if err := ix.Purge("stuck", at, func() error { return errors.New("disk gone") }); err == nil {
		t.Error("Purge with a failing shred returned nil")
	}
	if r, _ := ix.Get("stuck"); !r.Purged.IsZero() {
		t.Error("a failed shred left a tombstone")
	}
}

func TestAuditChain(t *testing.T) {
	ix := openTest(t)
	for i, a := range []string{"play", "export", "hold", "key-rotate"} {
		if _, err := ix.Audit(Entry{Who: "supervisor-1", Action: a, Target: fmt.Sprint("call-", i), Why: "SAR 12"}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := ix.VerifyAudit(); err != nil || n != 4 {
		t.Fatalf("VerifyAudit = %d, %v", n, err)
	}
	// Someone edits an entry in the file directly.
	ix.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bAudit)
		k := []byte{0, 0, 0, 0, 0, 0, 0, 2}
		v := b.Get(k)
		edited := []byte(string(v))
		for i := range edited {
			if string(edited[i:i+6]) == "export" {
				copy(edited[i:], "played")
				break
			}
		}
		return b.Put(k, edited)
	})
	if _, err := ix.VerifyAudit(); !errors.Is(err, ErrAuditBroken) {
		t.Fatalf("VerifyAudit after an edit = %v, want ErrAuditBroken", err)
	}
	// And removes one.
	ix.update(func(tx *bolt.Tx) error { return tx.Bucket(bAudit).Delete([]byte{0, 0, 0, 0, 0, 0, 0, 3}) })
	if _, err := ix.VerifyAudit(); !errors.Is(err, ErrAuditBroken) {
		t.Fatal("a removed entry went unnoticed")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"id":"a","start":"2026-11-27T09:00:00Z","numbers":["+441632960001"]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err == nil && r.ID == "" {
			t.Fatal("decoded a record without id")
		}
	})
}

func TestLive(t *testing.T) {
	ix := openTest(t)
	ix.PutLive("a", []byte(`{"x":1}`))
	ix.PutLive("b", []byte(`{"x":2}`))
	ix.PutLive("a", []byte(`{"x":3}`))
	live, err := ix.Live()
	if err != nil || len(live) != 2 || string(live["a"]) != `{"x":3}` {
		t.Fatalf("Live = %q, %v", live, err)
	}
	ix.DeleteLive("a", "b", "never")
	if live, _ := ix.Live(); len(live) != 0 {
		t.Errorf("after DeleteLive: %q", live)
	}
}
