package retention

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"callrec/storage/index"
	"callrec/storage/vault"
)

func TestPurge(t *testing.T) {
	dir := t.TempDir()
	k, _ := vault.NewKey()
	v, _ := vault.New(filepath.Join(dir, "rec"), &vault.Keyring{Current: k}, nil)
	ix, err := index.Open(filepath.Join(dir, "index.db"), index.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	t0 := time.Date(2020, 1, 1, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		id  string
		age time.Duration
	}{{"old", 0}, {"held", time.Hour}, {"young", 4 * 365 * 24 * time.Hour}} {
		w, _ := v.Create(c.id)
		w.Write([]byte("mp3 audio"))
		w.Close()
		ix.Put(&index.Record{ID: c.id, Start: t0.Add(c.age), Recording: index.Recording{State: "complete"}})
	}
	ix.SetHold("held", index.Hold{Reason: "police request", By: "head-of-ig", At: t0})
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
