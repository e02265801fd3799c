package retention

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"callrec/storage/index"
	"callrec/storage/vault"
)

// openStore opens a fresh vault and index, closed when the test ends.
func openStore(t *testing.T) (*vault.Vault, *index.Index) {
	t.Helper()
	dir := t.TempDir()
	k, _ := vault.NewKey()
	v, err := vault.New(filepath.Join(dir, "rec"), &vault.Keyring{Current: k}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := index.Open(filepath.Join(dir, "index.db"), index.Options{Key: make([]byte, index.KeySize), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return v, ix
}

func TestPurge(t *testing.T) {
	v, ix := openStore(t)
	t0 := time.Date(2020, 1, 1, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		id  string
		age time.Duration
	}{{"old", 0}, {"held", time.Hour}, {"young", 4 * 365 * 24 * time.Hour}} {
		v.SetClock(func() time.Time { return t0.Add(c.age) })
		w, _ := v.Create(c.id)
		w.Write([]byte("mp3 audio"))
		w.Close()
		ix.Put(&index.Record{ID: c.id, Start: t0.Add(c.age), Recording: index.Recording{State: "complete"}})
	}
	ix.AddHold("held", index.Hold{Reason: "police request", By: "head-of-ig", At: t0})
	now := t0.Add(3*365*24*time.Hour + 30*24*time.Hour) // a month past 3 years
	p := &Purger{Vault: v, Index: ix, Retention: 3 * 365 * 24 * time.Hour, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)}
	res, err := p.Purge()
	if err != nil || res.Shredded != 1 || res.Held != 1 {
		t.Fatalf("Purge = %+v, %v; want 1 shredded, 1 held", res, err)
	}
	if _, err := v.Open("old"); err == nil {
		t.Error("the expired recording can still be opened")
	}
	r, _ := ix.Get("old")
	if r.Purged != now || r.Recording.State != "shredded" {
		t.Errorf("tombstone = %+v", r)
	}
	for _, id := range []string{"held", "young"} {
		if rd, err := v.Open(id); err != nil {
			t.Errorf("%s: %v, want kept", id, err)
		} else {
			rd.Close()
		}
	}
	log, _ := ix.AuditLog()
	if len(log) != 1 || log[0].Action != "purge" || log[0].Target != "old" {
		t.Errorf("audit = %+v", log)
	}
	// A second purge does nothing more.
	if res, _ := p.Purge(); res.Shredded != 0 {
		t.Errorf("second purge shredded %d", res.Shredded)
	}
}

// TestPurgeKeysOnTheRecordingsOwnTime: a record made to look old (an
// edited start, or an old call ingested today) is not shredded: the
// recording's authenticated creation time decides.
func TestPurgeKeysOnTheRecordingsOwnTime(t *testing.T) {
	v, ix := openStore(t)
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	v.SetClock(func() time.Time { return now.Add(-time.Hour) })
	w, _ := v.Create("today")
	w.Write([]byte("mp3 audio"))
	w.Close()
	// Its index entry claims 2015.
	ix.Put(&index.Record{ID: "today", Start: time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC), Recording: index.Recording{State: index.StateComplete}})
	p := &Purger{Vault: v, Index: ix, Retention: 5 * 365 * 24 * time.Hour, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)}
	res, err := p.Purge()
	if err != nil || res.Shredded != 0 || res.Young != 1 {
		t.Fatalf("Purge = %+v, %v; want the recording kept", res, err)
	}
	if rd, err := v.Open("today"); err != nil {
		t.Errorf("the recording made today was shredded: %v", err)
	} else {
		rd.Close()
	}
}
