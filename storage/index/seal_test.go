package index

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestNothingPersonalInTheFile: the attack read phone numbers and names
// straight out of index.db. Now the file holds none of a call's numbers,
// names, extensions or wire ids, nor the audit log's search terms, holds'
// reasons or live state, yet a search by number still finds the call.
func TestNothingPersonalInTheFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "index.db")
	ix, err := Open(p, Options{Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	r := rec("c1", t0, []string{"+441632960123"}, "2071")
	r.From = Party{Raw: "sip:+441632960123@trunk", E164: "+441632960123", Name: "Mrs Featherstonehaugh"}
	r.SIPCallIDs = []string{"a84b4c76e66710@pc33.example"}
	r.Source = "wire-source-digest-0123"
	if err := ix.Put(r); err != nil {
		t.Fatal(err)
	}
	ix.AddHold("c1", Hold{Reason: "Ombudsman case Q-5512", By: "head-of-ig", At: t0})
	ix.Audit(Entry{Who: "supervisor-1", Action: "search", Target: `number="+441632960123"`, Why: "SAR Featherstonehaugh"})
	ix.PutLive("c1", []byte(`{"caller":"+441632960123"}`))
	ix.Close()

	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"1632960123", "Featherstonehaugh", "2071", "a84b4c76e66710", "wire-source-digest", "Ombudsman", "supervisor-1"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("index.db holds %q in plain", secret)
		}
	}
	ix, err = Open(p, Options{Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if rs, err := ix.Find(Query{Number: "+441632960123"}); err != nil || len(rs) != 1 || rs[0].From.Name != "Mrs Featherstonehaugh" {
		t.Fatalf("Find by number = %v, %v", ids(rs), err)
	}
	if rs, _ := ix.Find(Query{Extension: "2071"}); len(rs) != 1 {
		t.Errorf("Find by extension = %v", ids(rs))
	}
	if id, _ := ix.BySource("wire-source-digest-0123"); id != "c1" {
		t.Errorf("BySource = %q", id)
	}
}

// TestRecordsAuthenticated replays defect 7: a record edited in the file
// (its state, its hash), or another call's record moved under its id, no
// longer reads; nothing trusts it.
func TestRecordsAuthenticated(t *testing.T) {
	ix := openTestNoCheck(t)
	a, b := rec("a", t0, nil), rec("b", t0, nil)
	a.Recording.SHA256, b.Recording.SHA256 = "aaaa", "bbbb"
	ix.Put(a, b)
	// Flip one byte of a's sealed value.
	ix.update(func(tx *bolt.Tx) error {
		v := bytes.Clone(tx.Bucket(bCalls).Get([]byte("a")))
		v[len(v)/2] ^= 1
		return tx.Bucket(bCalls).Put([]byte("a"), v)
	})
	if _, err := ix.Get("a"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Get of an edited record = %v, want ErrCorrupt", err)
	}
	// Move b's sealed value under a's id.
	ix.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bCalls).Put([]byte("a"), bytes.Clone(tx.Bucket(bCalls).Get([]byte("b"))))
	})
	if _, err := ix.Get("a"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Get of another call's record = %v, want ErrCorrupt", err)
	}
	// A plain record, as an attacker without the key would write it.
	plain, _ := json.Marshal(rec("a", t0, nil))
	ix.update(func(tx *bolt.Tx) error { return tx.Bucket(bCalls).Put([]byte("a"), plain) })
	if _, err := ix.Get("a"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Get of a plain record = %v, want ErrCorrupt", err)
	}
	// Save never overwrites what it cannot read.
	if err := ix.Save(rec("a", t0, nil)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Save over an unreadable record = %v, want ErrCorrupt", err)
	}
}

// openTestNoCheck opens a fresh index for a test that damages it.
func openTestNoCheck(t *testing.T) *Index {
	ix, err := Open(filepath.Join(t.TempDir(), "index.db"), Options{Key: testKey, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

func TestWrongKeyAndOldFormat(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "index.db")
	ix, err := Open(p, Options{Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	ix.Put(rec("a", t0, []string{"+441632960001"}))
	ix.Close()
	if _, err := Open(p, Options{Key: bytes.Repeat([]byte{8}, KeySize)}); !errors.Is(err, ErrWrongKey) {
		t.Errorf("Open with another key = %v, want ErrWrongKey", err)
	}
	if _, err := Open(p, Options{}); !errors.Is(err, ErrNoKey) {
		t.Errorf("Open without a key = %v, want ErrNoKey", err)
	}

	// A file of the first format: plain JSON under "calls".
	old := filepath.Join(dir, "old.db")
	db, err := bolt.Open(old, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		b, _ := tx.CreateBucket(bCalls)
		v, _ := json.Marshal(rec("a", t0, []string{"+441632960001"}))
		return b.Put([]byte("a"), v)
	})
	db.Close()
	_, err = Open(old, Options{Key: testKey})
	if !errors.Is(err, ErrOldFormat) || !strings.Contains(err.Error(), "recorderd index rebuild") {
		t.Errorf("Open of an old-format file = %v, want ErrOldFormat naming the rebuild", err)
	}
}

// TestDamagedFile replays defect 12's first half: a damaged index.db made
// every command panic. Now every operation returns ErrDamaged (or
// ErrCorrupt for a value), naming the rebuild, and nothing panics.
func TestDamagedFile(t *testing.T) {
	for _, tt := range []struct {
		name   string
		damage func(b []byte)
	}{
		{"garbage", func(b []byte) {
			for i := range b {
				b[i] = byte(i * 7)
			}
		}},
		{"meta pages", func(b []byte) {
			for i := 0; i < 2*4096 && i < len(b); i++ {
				b[i] ^= 0x5a
			}
		}},
		{"data pages", func(b []byte) {
			for i := 2 * 4096; i < len(b); i += 61 {
				b[i] ^= 0xff
			}
		}},
		{"truncated", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "index.db")
			ix, err := Open(p, Options{Key: testKey})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 300 {
				ix.Put(rec(string(rune('a'+i%26))+strings.Repeat("x", i%40)+string(rune('0'+i%10)), t0.Add(time.Duration(i)*time.Minute), []string{"+441632960001"}, "201"))
				ix.Audit(Entry{Who: "ig", Action: "search"})
			}
			ix.Close()
			b, _ := os.ReadFile(p)
			if tt.damage == nil {
				b = b[:len(b)/3]
			} else {
				tt.damage(b)
			}
			os.WriteFile(p, b, 0o600)

			ix, err = Open(p, Options{Key: testKey, Shared: true, Timeout: time.Second})
			if err != nil {
				if !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrWrongKey) && !errors.Is(err, ErrOldFormat) {
					t.Fatalf("Open of a damaged file = %v, want ErrDamaged", err)
				}
				if !strings.Contains(err.Error(), "rebuild") {
					t.Errorf("the error does not name the way out: %v", err)
				}
				return
			}
			_, ferr := ix.Find(Query{Number: "+441632960001"})
			_, aerr := ix.VerifyAudit()
			cerr := ix.Check()
			if ferr == nil && aerr == nil && cerr == nil {
				t.Fatal("a damaged file passed Find, VerifyAudit and Check")
			}
		})
	}
}

// TestAuditTruncation replays defect 6: cutting the last entries off the
// log (the export of a recording), or putting back an older copy of the
// file, left `audit verify` saying "intact". The head outside the file
// now shows both; so do a deleted or forged head, and entries rewritten
// by someone without the key.
func TestAuditTruncation(t *testing.T) {
	setup := func(t *testing.T) (*Index, string) {
		dir := t.TempDir()
		p := filepath.Join(dir, "index.db")
		ix, err := Open(p, Options{Key: testKey, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ix.Close() })
		for _, a := range []string{"search", "play", "export"} {
			if _, err := ix.Audit(Entry{Who: "supervisor-1", Action: a, Target: "c1", Why: "SAR 12"}); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := ix.VerifyAudit(); err != nil || n != 3 {
			t.Fatalf("VerifyAudit = %d, %v", n, err)
		}
		return ix, dir
	}
	t.Run("last entry removed", func(t *testing.T) {
		ix, _ := setup(t)
		ix.update(func(tx *bolt.Tx) error { return tx.Bucket(bAudit).Delete(seqKey(3)) })
		if _, err := ix.VerifyAudit(); !errors.Is(err, ErrAuditBroken) || !strings.Contains(err.Error(), "removed from its end") {
			t.Fatalf("VerifyAudit after cutting the export off = %v", err)
		}
	})
	t.Run("older copy put back", func(t *testing.T) {
		ix, dir := setup(t)
		ix.Close()
		copyFile(t, filepath.Join(dir, "index.db"), filepath.Join(dir, "before.db"))
		ix, _ = Open(filepath.Join(dir, "index.db"), Options{Key: testKey, NoSync: true})
		ix.Audit(Entry{Who: "supervisor-1", Action: "export", Target: "c2"})
		ix.Close()
		copyFile(t, filepath.Join(dir, "before.db"), filepath.Join(dir, "index.db"))
		ix, _ = Open(filepath.Join(dir, "index.db"), Options{Key: testKey, NoSync: true})
		defer ix.Close()
		if _, err := ix.VerifyAudit(); !errors.Is(err, ErrAuditBroken) {
			t.Fatalf("VerifyAudit of a rolled-back file = %v", err)
		}
	})
	t.Run("head deleted", func(t *testing.T) {
		ix, dir := setup(t)
		os.Remove(filepath.Join(dir, "audit.head"))
		if _, err := ix.VerifyAudit(); !errors.Is(err, ErrAuditBroken) {
			t.Fatalf("VerifyAudit without a head = %v", err)
		}
	})
	t.Run("head forged", func(t *testing.T) {
		ix, dir := setup(t)
		p := filepath.Join(dir, "audit.head")
		b, _ := os.ReadFile(p)
		os.WriteFile(p, bytes.Replace(b, []byte(" 3 "), []byte(" 2 "), 1), 0o600)
		if _, err := ix.VerifyAudit(); !errors.Is(err, ErrAuditBroken) {
			t.Fatalf("VerifyAudit with a forged head = %v", err)
		}
	})
	t.Run("chain rebuilt without the key", func(t *testing.T) {
		ix, _ := setup(t)
		// The attacker knows the format but not the key: the best they can
		// do is seal and chain under a key of their own.
		forger, _ := newKeyring(bytes.Repeat([]byte{9}, KeySize))
		ix.update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bAudit)
			b.Delete(seqKey(3))
			e := Entry{Seq: 2, Who: "nobody", Action: "search"}
			v, _ := json.Marshal(e)
			return b.Put(seqKey(2), forger.seal(bAudit, seqKey(2), v))
		})
		if _, err := ix.VerifyAudit(); !errors.Is(err, ErrAuditBroken) {
			t.Fatalf("VerifyAudit of a forged chain = %v", err)
		}
	})
	t.Run("salvage", func(t *testing.T) {
		ix, dir := setup(t)
		ix.Close()
		fresh := filepath.Join(dir, "fresh.db")
		nx, err := Open(fresh, Options{Key: testKey, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer nx.Close()
		if n, err := nx.SalvageAudit(filepath.Join(dir, "index.db")); err != nil || n != 3 {
			t.Fatalf("SalvageAudit = %d, %v", n, err)
		}
		nx.Audit(Entry{Who: "technician", Action: "index-rebuild"})
		if n, err := nx.VerifyAudit(); err != nil || n != 4 {
			t.Fatalf("VerifyAudit after salvage = %d, %v", n, err)
		}
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// FuzzAuditHead: whatever the head file holds, reading it never panics,
// and nothing but a head made with the key authenticates.
func FuzzAuditHead(f *testing.F) {
	f.Add([]byte("callrec-audit-head 3 abcd 0123\n"))
	f.Add([]byte("callrec-audit-head 18446744073709551615 x y"))
	f.Add([]byte(""))
	dir := f.TempDir()
	ix, err := Open(filepath.Join(dir, "index.db"), Options{Key: testKey, NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ix.Close() })
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(ix.head, b, 0o600); err != nil {
			t.Fatal(err)
		}
		h, err := ix.AuditHead()
		if err == nil && !bytes.Contains(b, []byte(ix.headMAC(h))) {
			t.Fatalf("accepted a head whose MAC is not the key's: %q", b)
		}
	})
}

// FuzzOpenSealed: a sealed value of any bytes opens only if sealed with
// the key, and never panics.
func FuzzOpenSealed(f *testing.F) {
	k, _ := newKeyring(testKey)
	f.Add(k.seal(bCalls, []byte("a"), []byte(`{"id":"a"}`)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if plain, err := k.open(bCalls, []byte("a"), b); err == nil && plain == nil {
			t.Fatal("opened to nothing")
		}
	})
}
