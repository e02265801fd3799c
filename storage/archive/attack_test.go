package archive

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"callrec/storage/index"
	"callrec/storage/vault"
)

func lastAudit(t *testing.T, a *Archive) index.Entry {
	t.Helper()
	log, err := a.AuditLog()
	if err != nil || len(log) == 0 {
		t.Fatalf("AuditLog = %d entries, %v", len(log), err)
	}
	return log[len(log)-1]
}

// TestExportFile replays defect 9: `export -out` followed a symlink and
// kept an existing file's mode. Now an existing path (a file, or a
// symlink planted there) is refused unless forced, and then replaced
// atomically (the link itself, never its target); the file is always
// 0600; a failed export is audited as failed and leaves no file.
func TestExportFile(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir)
	write(t, a, "x", audio("x", 5000))
	acc := Access{Who: "ann", Why: "SAR 7"}
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)

	existing := filepath.Join(out, "existing.mp3")
	os.WriteFile(existing, []byte("someone else's"), 0o644)
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("precious"), 0o644)
	link := filepath.Join(out, "link.mp3")
	os.Symlink(victim, link)

	for _, p := range []string{existing, link} {
		if _, err := a.ExportFile(acc, "x", p, false); !errors.Is(err, fs.ErrExist) {
			t.Errorf("export over %s without -force = %v, want ErrExist", filepath.Base(p), err)
		}
	}
	if b, _ := os.ReadFile(existing); string(b) != "someone else's" {
		t.Error("the refused export changed the existing file")
	}
	for _, p := range []string{existing, link, filepath.Join(out, "new.mp3")} {
		if _, err := a.ExportFile(acc, "x", p, true); err != nil {
			t.Fatalf("export to %s with -force: %v", filepath.Base(p), err)
		}
		st, err := os.Lstat(p)
		if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want a regular file, mode 0600", filepath.Base(p), st.Mode(), err)
		}
		if b, _ := os.ReadFile(p); !bytes.HasPrefix(b, []byte("TAG5000|x-mp3-")) {
			t.Errorf("%s does not hold the export", filepath.Base(p))
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Error("the export wrote through the symlink")
	}
	// A failed export: refused (no such call) and audited as failed, no file.
	if _, err := a.ExportFile(acc, "nope", filepath.Join(out, "nope.mp3"), false); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("export of an unknown call = %v", err)
	}
	if e := lastAudit(t, a); e.Action != "export-failed" || e.Target != "nope" || !strings.Contains(e.Why, "SAR 7") {
		t.Errorf("last audit entry %+v, want the failed export", e)
	}
	if left, _ := filepath.Glob(filepath.Join(out, "*")); len(left) != 3 {
		t.Errorf("files in the export directory: %v; want the three exports only", left)
	}
}

// TestAccountability replays defect 10: an empty who or why was
// accepted; release needed no reason and succeeded on calls that do not
// exist; a second hold replaced the first.
func TestAccountability(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir)
	write(t, a, "c", audio("c", 3000))
	for _, acc := range []Access{{Who: "", Why: "SAR 1"}, {Who: "ann", Why: ""}, {Who: " ", Why: " "}} {
		if _, err := a.Search(acc, index.Query{}); !errors.Is(err, ErrNoAccountable) {
			t.Errorf("Search(%+v) = %v", acc, err)
		}
		if _, err := a.Export(acc, "c", &bytes.Buffer{}); !errors.Is(err, ErrNoAccountable) {
			t.Errorf("Export(%+v) = %v", acc, err)
		}
		if _, err := a.Hold(acc, "c"); !errors.Is(err, ErrNoAccountable) {
			t.Errorf("Hold(%+v) = %v", acc, err)
		}
		if _, err := a.Release(acc, "c", ""); !errors.Is(err, ErrNoAccountable) {
			t.Errorf("Release(%+v) = %v", acc, err)
		}
	}
	complaint, err := a.Hold(Access{Who: "ig", Why: "complaint 114"}, "c")
	if err != nil {
		t.Fatal(err)
	}
	police, err := a.Hold(Access{Who: "ig", Why: "police request 77"}, "c")
	if err != nil {
		t.Fatal(err)
	}
	if hs, _ := a.Holds("c"); len(hs) != 2 {
		t.Fatalf("holds = %+v; want both", hs)
	}
	if _, err := a.Release(Access{Who: "ig", Why: "closed"}, "nope", ""); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("release on an unknown call = %v", err)
	}
	if _, err := a.Release(Access{Who: "ig", Why: "closed"}, "c", ""); !errors.Is(err, index.ErrAmbiguous) {
		t.Errorf("release without naming one of two holds = %v", err)
	}
	if _, err := a.Release(Access{Who: "ig", Why: "complaint closed"}, "c", complaint.ID); err != nil {
		t.Fatal(err)
	}
	if hs, _ := a.Holds("c"); len(hs) != 1 || hs[0].ID != police.ID {
		t.Fatalf("holds after one release = %+v; want the police hold", hs)
	}
	if e := lastAudit(t, a); e.Action != "release" || !strings.Contains(e.Why, "complaint closed") || !strings.Contains(e.Why, complaint.ID) {
		t.Errorf("release audited as %+v", e)
	}
	// The vault's copy of the holds follows: a rebuilt index keeps them.
	m, err := a.readMeta("c")
	if err != nil || len(m.Holds) != 1 || m.Holds[0].ID != police.ID {
		t.Errorf("metadata holds = %+v, %v", m, err)
	}
}

// TestExportTrustsTheVault replays defect 7: a recording whose index
// record says it is still being written (an old copy of the record put
// back), cut short or swapped for another, passed verify and export. Now
// the vault file decides: without its final chunk it is exported only
// while its writer holds it, and it must be the file the index recorded.
func TestExportTrustsTheVault(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir)
	write(t, a, "a", audio("a", 9000))
	write(t, a, "b", audio("b", 9000))
	acc := Access{Who: "ann", Why: "SAR 7"}
	rec := filepath.Join(dir, "data", "recordings")

	// Cut a's final chunk off and make its record say "recording".
	p := filepath.Join(rec, "a.crv")
	st, _ := os.Stat(p)
	os.Truncate(p, st.Size()-100)
	r, _ := a.index.Get("a")
	r.Recording.State, r.Recording.SHA256 = index.StateRecording, ""
	a.index.Put(r)
	if _, err := a.Export(acc, "a", &bytes.Buffer{}); !errors.Is(err, vault.ErrTruncated) {
		t.Errorf("export of a cut file the index calls in progress = %v, want ErrTruncated", err)
	}
	// Put b's file in place of a's.
	raw, _ := os.ReadFile(filepath.Join(rec, "b.crv"))
	os.WriteFile(p, raw, 0o600)
	if _, err := a.Export(acc, "a", &bytes.Buffer{}); !errors.Is(err, ErrHashMismatch) {
		t.Errorf("export of a swapped file = %v, want ErrHashMismatch", err)
	}
	rep, err := a.Verify()
	if err != nil || len(rep.Problems) != 1 || rep.Problems[0].ID != "a" {
		t.Errorf("Verify = %+v, %v; want a's problem", rep, err)
	}
	if e := lastAudit(t, a); e.Action != "export-failed" {
		t.Errorf("the refused export is not audited: %+v", e)
	}
}

// TestRebuild replays defect 12: a corrupt index.db made every command
// panic. Now opening it is a clear error naming `recorderd index
// rebuild`, and the rebuild makes a new index from the vault alone:
// every call findable and exportable again, with its holds, the old audit
// log carried over, and the rebuild itself audited.
func TestRebuild(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir)
	cfg := a.cfg
	for _, id := range []string{"r1", "r2", "r3"} {
		write(t, a, id, audio(id, 7000))
	}
	if _, err := a.Hold(Access{Who: "ig", Why: "police request 77"}, "r2"); err != nil {
		t.Fatal(err)
	}
	want, _ := a.Search(Access{Who: "ann", Why: "before"}, index.Query{Number: "+441632960001"})
	entries, _ := a.AuditLog()
	a.Close()

	p := filepath.Join(cfg.DataDir, "index.db")
	raw, _ := os.ReadFile(p)
	for i := 2 * 4096; i < len(raw); i += 97 {
		raw[i] ^= 0xa5
	}
	os.WriteFile(p, raw, 0o600)
	_, err := Open(cfg, nil)
	if err == nil {
		b, _ := Open(cfg, nil)
		_, err = b.Search(Access{Who: "ann", Why: "after"}, index.Query{Number: "+441632960001"})
		b.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "recorderd index rebuild") {
		t.Fatalf("using a damaged index = %v; want an error naming the rebuild", err)
	}

	res, err := RebuildIndex(cfg, Access{Who: "tech", Why: "ticket 31"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rebuild: %+v", res)
	if res.Recordings != 3 || len(res.NoMeta) != 0 || len(res.Unreadable) != 0 || res.Holds != 1 || res.Old == "" {
		t.Errorf("RebuildIndex = %+v", res)
	}
	b := openTest(t, dir)
	got, err := b.Search(Access{Who: "ann", Why: "after"}, index.Query{Number: "+441632960001"})
	if err != nil || len(got) != len(want) {
		t.Fatalf("Search after the rebuild = %d calls, %v; want %d", len(got), err, len(want))
	}
	for i, r := range got {
		w := want[i]
		if r.ID != w.ID || !r.Start.Equal(w.Start) || r.Recording.SHA256 != w.Recording.SHA256 || r.Recording.Samples != w.Recording.Samples {
			t.Errorf("rebuilt %+v\nwant     %+v", r, w)
		}
		var out bytes.Buffer
		if _, err := b.Export(Access{Who: "ann", Why: "after"}, r.ID, &out); err != nil || !bytes.Contains(out.Bytes(), audio(r.ID, 7000)) {
			t.Errorf("export of %s after the rebuild: %v", r.ID, err)
		}
	}
	if hs, _ := b.Holds("r2"); len(hs) != 1 || hs[0].Reason != "police request 77" {
		t.Errorf("holds of r2 after the rebuild = %+v", hs)
	}
	if rep, err := b.Verify(); err != nil || len(rep.Problems) != 0 || rep.Checked != 3 {
		t.Errorf("Verify after the rebuild = %+v, %v", rep, err)
	}
	if n, err := b.VerifyAudit(); err != nil || n < 3 {
		t.Errorf("VerifyAudit after the rebuild = %d, %v", n, err)
	}
	log, _ := b.AuditLog()
	if len(log) > 0 && log[len(log)-1].Action != "export" {
		t.Errorf("last entry %+v", log[len(log)-1])
	}
	var rebuild *index.Entry
	for i := range log {
		if log[i].Action == "index-rebuild" {
			rebuild = &log[i]
		}
	}
	if rebuild == nil || !strings.Contains(rebuild.Why, "ticket 31") || !strings.Contains(rebuild.Why, "3 recordings") {
		t.Errorf("the rebuild's audit entry = %+v", rebuild)
	}
	if res.Audit > len(entries) {
		t.Errorf("%d audit entries carried over, of %d", res.Audit, len(entries))
	}
}

// TestNoIndexKey: an index without its key (an earlier version's, or the
// key file lost) is refused, naming the rebuild; a rebuild makes it usable.
func TestNoIndexKey(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir)
	cfg := a.cfg
	write(t, a, "k", audio("k", 3000))
	a.Close()
	a.index = nil // the file it names is about to be another key's
	os.Remove(filepath.Join(cfg.DataDir, indexKeyFile))
	if _, err := Open(cfg, nil); !errors.Is(err, ErrNoIndexKey) || !strings.Contains(err.Error(), "index rebuild") {
		t.Fatalf("Open without index.key = %v", err)
	}
	res, err := RebuildIndex(cfg, Access{Who: "tech", Why: "lost key file"}, nil)
	if err != nil || res.Recordings != 1 || !res.NewKey {
		t.Fatalf("RebuildIndex = %+v, %v", res, err)
	}
	b := openTest(t, dir)
	if rs, err := b.Search(Access{Who: "ann", Why: "check"}, index.Query{Number: "+441632960001"}); err != nil || len(rs) != 1 {
		t.Errorf("Search after the rebuild = %d, %v", len(rs), err)
	}
}

// TestExportRecoveryFile: the recovery copy goes to a new private file,
// never over an existing one nor through a link, and a weak passphrase
// leaves no file.
func TestExportRecoveryFile(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir)
	acc := Access{Who: "tech", Why: "safe"}
	p := filepath.Join(dir, "kek-recovery.age")
	if err := a.ExportRecoveryFile(acc, "password", p); !errors.Is(err, ErrWeakPassphrase) {
		t.Errorf("weak passphrase = %v", err)
	}
	if _, err := os.Lstat(p); err == nil {
		t.Fatal("a refused export left a file")
	}
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("keep"), 0o644)
	os.Symlink(victim, p)
	if err := a.ExportRecoveryFile(acc, "correct horse battery staple", p); !errors.Is(err, fs.ErrExist) {
		t.Errorf("export onto a link = %v, want ErrExist", err)
	}
	os.Remove(p)
	if err := a.ExportRecoveryFile(acc, "correct horse battery staple", p); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(p); err != nil || st.Mode().Perm() != 0o600 || !st.Mode().IsRegular() {
		t.Errorf("recovery file %v, %v; want a regular 0600 file", st.Mode(), err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Error("the link's target was written")
	}
}
