package index

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// testKey is an index key for tests.
var testKey = bytes.Repeat([]byte{7}, KeySize)

// openTest opens a fresh index and checks its consistency when the test
// ends (as bbolt's own btesting does).
func openTest(t testing.TB) *Index {
	t.Helper()
	ix, err := Open(filepath.Join(t.TempDir(), "index.db"), Options{Key: testKey, NoSync: true})
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
		{Query{Newest: true}, "[d c b a]"},
		{Query{Newest: true, Limit: 2}, "[d c]"},
		{Query{Number: patient, Newest: true}, "[d c a]"},
		{Query{Number: patient, Newest: true, To: t0.Add(24 * time.Hour)}, "[c a]"},
		{Query{Extension: "201", Newest: true, From: t0.Add(time.Minute)}, "[c]"},
		{Query{Newest: true, From: t0.Add(30 * time.Minute), To: t0.Add(3 * time.Hour)}, "[c b]"},
		{Query{Number: "+449999999999", Newest: true}, "[]"},
		{Query{Newest: true, Match: func(r *Record) bool { return len(r.Extensions) > 0 }}, "[c b a]"},
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
	a, err := Open(p, Options{Key: testKey, Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(p, Options{Key: testKey, Shared: true})
	if err != nil {
		t.Fatalf("second opener: %v", err)
	}
	a.Put(rec("s", t0, []string{"+441632960001"}))
	if r, err := b.Get("s"); err != nil || r.ID != "s" {
		t.Fatalf("the other opener reads %v, %v", r, err)
	}
}

// TestHolds: several holds coexist on a call, each released on its own;
// a release names its hold unless there is one, and fails on an unknown
// call or hold.
func TestHolds(t *testing.T) {
	ix := openTest(t)
	ix.Put(rec("h", t0, nil))
	complaint, err := ix.AddHold("h", Hold{Reason: "complaint 2026-114", By: "head-of-ig", At: t0})
	if err != nil {
		t.Fatal(err)
	}
	police, err := ix.AddHold("h", Hold{Reason: "police request 77", By: "head-of-ig", At: t0.Add(time.Hour)})
	if err != nil || police.ID == complaint.ID {
		t.Fatalf("second hold = %+v, %v", police, err)
	}
	if hs, err := ix.Holds("h"); err != nil || len(hs) != 2 || hs[0].Reason != "complaint 2026-114" || hs[1].Reason != "police request 77" {
		t.Fatalf("Holds = %+v, %v; want both", hs, err)
	}
	if _, err := ix.ReleaseHold("h", ""); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("release of one of two holds without naming it = %v, want ErrAmbiguous", err)
	}
	if _, err := ix.ReleaseHold("h", "h00000000"); !errors.Is(err, ErrNoHold) {
		t.Errorf("release of an unknown hold = %v, want ErrNoHold", err)
	}
	if got, err := ix.ReleaseHold("h", complaint.ID); err != nil || got.Reason != complaint.Reason {
		t.Fatalf("ReleaseHold(complaint) = %+v, %v", got, err)
	}
	if hs, _ := ix.Holds("h"); len(hs) != 1 || hs[0].ID != police.ID {
		t.Fatalf("after releasing the complaint: %+v; want the police hold alone", hs)
	}
	if err := ix.Purge("h", t0.Add(10*365*24*time.Hour), func() error { return nil }); !errors.Is(err, ErrHeld) {
		t.Errorf("Purge under the remaining hold = %v, want ErrHeld", err)
	}
	if _, err := ix.ReleaseHold("h", ""); err != nil {
		t.Fatalf("release of the only hold = %v", err)
	}
	if hs, err := ix.Holds("h"); err != nil || len(hs) != 0 {
		t.Fatalf("holds left: %+v, %v", hs, err)
	}
	if _, err := ix.ReleaseHold("h", ""); !errors.Is(err, ErrNoHold) {
		t.Errorf("release on a call without hold = %v, want ErrNoHold", err)
	}
	if _, err := ix.AddHold("missing", Hold{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("AddHold on a missing call = %v", err)
	}
	if _, err := ix.ReleaseHold("missing", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReleaseHold on a missing call = %v", err)
	}
}

// TestPurgeFailsClosed: holds that cannot be read stop a purge before
// the audio is touched, as a hold does; a call without one is shredded and
// becomes a tombstone in the same transaction.
func TestPurgeFailsClosed(t *testing.T) {
	ix := openTest(t)
	for _, id := range []string{"held", "unreadable", "free"} {
		ix.Put(rec(id, t0, nil))
	}
	if _, err := ix.AddHold("held", Hold{Reason: "complaint", By: "ig", At: t0}); err != nil {
		t.Fatal(err)
	}
	// A damaged hold record: the read fails.
	ix.update(func(tx *bolt.Tx) error { return tx.Bucket(bHolds).Put([]byte("unreadable"), []byte("{not sealed")) })
	if _, err := ix.Holds("unreadable"); err == nil {
		t.Fatal("Holds read a damaged hold without an error")
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
		k := seqKey(2)
		v := bytes.Clone(b.Get(k))
		v[len(v)-20] ^= 1
		return b.Put(k, v)
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
		r, err := decode(b)
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
