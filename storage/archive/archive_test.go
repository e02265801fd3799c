package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"callrec/storage/index"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// fakeFormat stands in for the MP3 framing: a 4-byte tag, and 10 samples
// per stream byte.
type fakeFormat struct{}

func (fakeFormat) InfoFrame(r index.Recording, n int64) ([]byte, error) {
	return []byte(fmt.Sprintf("TAG%d|", n)), nil
}
func (fakeFormat) Samples(_ index.Recording, n int64) int64 { return 10 * n }
func (fakeFormat) SampleRate() int                          { return 16000 }

// openTest opens an archive in a fresh directory and closes it, checking
// the index's consistency, when the test ends.
func openTest(t testing.TB, dir string, mod ...func(*Config)) *Archive {
	t.Helper()
	cfg := Config{DataDir: filepath.Join(dir, "data"), KeyFile: filepath.Join(dir, "keys", "kek"),
		Retention: 3 * 365 * 24 * time.Hour, Format: fakeFormat{}, CreateKey: true}
	for _, m := range mod {
		m(&cfg)
	}
	a, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if a.index == nil {
			return
		}
		if err := a.index.Check(); err != nil {
			t.Errorf("index inconsistent: %v", err)
		}
		a.Close()
	})
	return a
}

func record(id string, start time.Time) *index.Record {
	return &index.Record{ID: id, ConversationID: id, Start: start, Answered: start, Numbers: []string{"+441632960001"},
		Extensions: []string{"201"}, Flags: []string{}, Recording: index.Recording{Bitrate: 48, Channels: 2}}
}

// audio is n bytes of a recognisable stream.
func audio(id string, n int) []byte {
	b := bytes.Repeat([]byte(id+"-mp3-"), n/(len(id)+5)+1)
	return b[:n]
}

// runWorker starts the disk worker and returns its stop function, which
// waits for it to drain.
func runWorker(t testing.TB, a *Archive) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}
}

func write(t testing.TB, a *Archive, id string, data []byte) {
	t.Helper()
	w, err := a.Create(record(id, t0))
	if err != nil {
		t.Fatal(err)
	}
	for rest := data; len(rest) > 0; rest = rest[min(len(rest), 144):] { // MP3 frame by frame
		if _, err := w.Write(rest[:min(len(rest), 144)]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	a.Finish(id, Finished{Duration: 2 * time.Second, Samples: 32000, Flags: []string{"one_way:left"}})
}

func TestRecordThroughWorker(t *testing.T) {
	a := openTest(t, t.TempDir())
	stop := runWorker(t, a)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); write(t, a, fmt.Sprint("c", i), audio(fmt.Sprint("c", i), 10000+i)) }()
	}
	wg.Wait()
	stop() // drains every queued write before returning
	for i := range 8 {
		id := fmt.Sprint("c", i)
		r, err := a.index.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Recording.State != index.StateComplete || r.Recording.Size != int64(10000+i) || r.Recording.SHA256 == "" ||
			r.Recording.Samples != 32000 || r.Recording.Duration != 2000 || len(r.Flags) != 1 {
			t.Errorf("%s: %+v flags %v", id, r.Recording, r.Flags)
		}
		var out bytes.Buffer
		ex, err := a.Export(Access{Who: "ann", Why: "SAR 7"}, id, &out)
		if err != nil {
			t.Fatal(err)
		}
		want := append([]byte(fmt.Sprintf("TAG%d|", 10000+i)), audio(id, 10000+i)...)
		if ex.Partial || !bytes.Equal(out.Bytes(), want) {
			t.Errorf("%s: export differs (%d bytes, partial %v)", id, out.Len(), ex.Partial)
		}
	}
	if st := a.State(); st.Recording != 0 {
		t.Errorf("State = %+v after every recording closed", st)
	}
}

// TestInlineWithoutWorker: a tool with no worker running writes at once.
func TestInlineWithoutWorker(t *testing.T) {
	a := openTest(t, t.TempDir())
	write(t, a, "solo", audio("solo", 5000))
	if r, _ := a.index.Get("solo"); r.Recording.State != index.StateComplete || r.Recording.Size != 5000 {
		t.Fatalf("record = %+v", r.Recording)
	}
}

// TestWorkerStopKeepsOrder: writes queued when the worker is told to stop
// still run, in order, before later ones run inline.
func TestWorkerStopKeepsOrder(t *testing.T) {
	a := openTest(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	for a.queued() == nil {
		time.Sleep(time.Millisecond)
	}
	var order []int
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 20000 { // more than the queue holds
			a.do(func() { mu.Lock(); order = append(order, i); mu.Unlock() })
			if i == 100 {
				cancel()
			}
		}
	}()
	wg.Wait()
	<-done
	if len(order) != 20000 {
		t.Fatalf("%d operations ran, want 20000", len(order))
	}
	for i, v := range order {
		if v != i {
			t.Fatalf("operation %d ran in place %d", v, i)
		}
	}
}

func TestExportRefusals(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir)
	write(t, a, "good", audio("good", 4096))
	acc := Access{Who: "ann", Why: "SAR 7"}
	if _, err := a.Export(Access{Why: "x"}, "good", &bytes.Buffer{}); !errors.Is(err, ErrNoAccountable) {
		t.Errorf("export with no one named = %v", err)
	}
	if _, err := a.Export(acc, "missing", &bytes.Buffer{}); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("export of a missing call = %v", err)
	}
	// A recording whose index hash differs is refused before a byte goes out.
	r, _ := a.index.Get("good")
	r.Recording.SHA256 = strings.Repeat("0", 64)
	a.index.Put(r)
	var out bytes.Buffer
	if _, err := a.Export(acc, "good", &out); !errors.Is(err, ErrHashMismatch) || out.Len() != 0 {
		t.Errorf("export with a wrong hash = %v, %d bytes written", err, out.Len())
	}
	log, _ := a.AuditLog()
	for _, e := range log {
		if e.Action == "export" {
			t.Errorf("a refused export was audited as done: %+v", e)
		}
	}
}

// TestPartialExport reads a recording while it is written.
func TestPartialExport(t *testing.T) {
	a := openTest(t, t.TempDir())
	w, err := a.Create(record("live", t0))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(audio("live", 5000)) // two whole chunks and a part
	var out bytes.Buffer
	ex, err := a.Export(Access{Who: "ann", Why: "live check"}, "live", &out)
	if err != nil {
		t.Fatal(err)
	}
	if !ex.Partial || ex.Bytes != 4096 {
		t.Errorf("partial export = %+v, want 4096 bytes, partial", ex)
	}
	log, _ := a.AuditLog()
	if last := log[len(log)-1]; !strings.Contains(last.Why, "partial") {
		t.Errorf("audit entry %+v does not say partial", last)
	}
	w.Close()
}

// TestRecover: a recording left open by a crash is closed at the next
// start, and its length and end come from what survived.
func TestRecover(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir)
	w, err := a.Create(record("crashed", t0))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(audio("crashed", 3*2048+100)) // three chunks synced, a part lost
	// The process dies: no Close. The next one takes over.
	a.do(func() { w.w.Abandon() })
	b := openTest(t, dir)
	if _, err := b.Recover(); err == nil {
		t.Error("Recover without the lock succeeded")
	}
	if err := b.Lock(); err != nil {
		t.Fatal(err)
	}
	fixed, err := b.Recover()
	if err != nil || len(fixed) != 1 {
		t.Fatalf("Recover = %v, %v", fixed, err)
	}
	r, _ := b.index.Get("crashed")
	if r.Recording.State != index.StateRecovered || r.Recording.Size != 3*2048 || r.Recording.SHA256 == "" {
		t.Errorf("recovered = %+v", r.Recording)
	}
	wantDur := time.Duration(10*3*2048) * time.Second / 16000
	if r.Recording.Duration != wantDur.Milliseconds() || !r.End.Equal(t0.Add(wantDur)) || r.EndReason != "recovered" {
		t.Errorf("recovered duration %d ms, end %v (%s); want %v and %v", r.Recording.Duration, r.End, r.EndReason, wantDur, t0.Add(wantDur))
	}
	if rep, err := b.Verify(); err != nil || len(rep.Problems) != 0 || rep.Checked != 1 {
		t.Errorf("Verify after recovery = %+v, %v", rep, err)
	}
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	a, b := openTest(t, dir), openTest(t, dir)
	if err := a.Lock(); err != nil {
		t.Fatal(err)
	}
	if err := b.Lock(); !errors.Is(err, ErrLocked) {
		t.Errorf("second Lock = %v, want ErrLocked", err)
	}
	if _, err := b.Rotate(Access{Who: "tech", Why: "yearly rotation"}); !errors.Is(err, ErrLocked) {
		t.Errorf("Rotate beside the daemon = %v, want ErrLocked", err)
	}
	a.Close()
	if err := b.Lock(); err != nil {
		t.Errorf("Lock after the holder closed = %v", err)
	}
}

func TestDiskReserve(t *testing.T) {
	a := openTest(t, t.TempDir(), func(c *Config) { c.Reserve = 1 << 62 })
	if _, err := a.Create(record("refused", t0)); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("Create on a full disk = %v", err)
	}
	if !a.State().DiskFull || !a.Disk(t0).Full {
		t.Error("the disk-full fault is not raised")
	}
	if _, err := a.index.Get("refused"); !errors.Is(err, index.ErrNotFound) {
		t.Error("a refused recording reached the index")
	}
	a.cfg.Reserve = 0
	if a.CheckDisk() || a.State().DiskFull {
		t.Error("the fault stays after space came back")
	}
}

func TestVerifyFindsProblems(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir)
	for _, id := range []string{"a", "b", "c"} {
		write(t, a, id, audio(id, 3000))
	}
	// b is tampered with, c's index entry is lost.
	p := filepath.Join(dir, "data", "recordings", "b.crv")
	raw, _ := os.ReadFile(p)
	raw[200] ^= 1
	os.WriteFile(p, raw, 0o600)
	a.index.Put(&index.Record{ID: "c", Start: t0}) // no recording: c's file is now unindexed
	rep, err := a.Verify()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, p := range rep.Problems {
		got[p.ID] = true
	}
	if rep.Checked != 2 || !got["b"] || !got["c"] || got["a"] {
		t.Errorf("Verify = %+v", rep)
	}
}

func TestHoldsAndPurge(t *testing.T) {
	dir := t.TempDir()
	now := t0 // recorded at t0, purged four years on
	a := openTest(t, dir, func(c *Config) { c.Now = func() time.Time { return now } })
	write(t, a, "old", audio("old", 100))
	write(t, a, "kept", audio("kept", 100))
	now = t0.Add(4 * 365 * 24 * time.Hour)
	acc := Access{Who: "ig", Why: "complaint 114"}
	if _, err := a.Hold(Access{Who: "ig"}, "kept"); !errors.Is(err, ErrNoAccountable) {
		t.Errorf("a hold without a reason = %v", err)
	}
	if _, err := a.Hold(acc, "kept"); err != nil {
		t.Fatal(err)
	}
	res, err := a.Purge()
	if err != nil || res.Shredded != 1 || res.Held != 1 {
		t.Fatalf("Purge = %+v, %v", res, err)
	}
	var out bytes.Buffer
	if _, err := a.Export(acc, "old", &out); !errors.Is(err, ErrPurged) {
		t.Errorf("export of a purged call = %v", err)
	}
	if _, err := a.Release(acc, "kept", ""); err != nil {
		t.Fatal(err)
	}
	if res, _ := a.Purge(); res.Shredded != 1 {
		t.Errorf("after release, purge = %+v", res)
	}
	log, _ := a.AuditLog()
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, ","); got != "hold,purge,export-failed,release,purge" {
		t.Errorf("audit actions %s", got)
	}
}

func TestSearchIsAudited(t *testing.T) {
	a := openTest(t, t.TempDir())
	write(t, a, "x", audio("x", 100))
	rs, err := a.Search(Access{Who: "ann", Why: "SAR 9"}, index.Query{Number: "+441632960001"})
	if err != nil || len(rs) != 1 {
		t.Fatalf("Search = %d, %v", len(rs), err)
	}
	log, _ := a.AuditLog()
	if len(log) != 1 || log[0].Who != "ann" || !strings.Contains(log[0].Target, "+441632960001") || !strings.Contains(log[0].Why, "SAR 9 [1 calls found]") {
		t.Errorf("audit = %+v", log)
	}
	if _, err := a.Search(Access{Who: " "}, index.Query{}); !errors.Is(err, ErrNoAccountable) {
		t.Errorf("anonymous search = %v", err)
	}
}

func TestRotateAndRecoveryKey(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir)
	write(t, a, "r1", audio("r1", 3000))
	before, _ := os.ReadFile(a.cfg.KeyFile)
	n, err := a.Rotate(Access{Who: "tech", Why: "yearly rotation"})
	if err != nil || n != 1 {
		t.Fatalf("Rotate = %d, %v", n, err)
	}
	after, _ := os.ReadFile(a.cfg.KeyFile)
	if bytes.Equal(before, after) {
		t.Error("the key file did not change")
	}
	a.Close()
	b := openTest(t, dir) // a fresh process reads with the new key only
	if rep, err := b.Verify(); err != nil || len(rep.Problems) != 0 {
		t.Errorf("Verify after rotation = %+v, %v", rep, err)
	}
	// The index key was re-sealed under the new key: the index still opens,
	// finds by number, and its audit chain holds.
	if rs, err := b.Search(Access{Who: "tech", Why: "check after rotation"}, index.Query{Number: "+441632960001"}); err != nil || len(rs) != 1 {
		t.Errorf("Search after rotation = %d calls, %v", len(rs), err)
	}
	if _, err := b.VerifyAudit(); err != nil {
		t.Errorf("VerifyAudit after rotation = %v", err)
	}
	var copyOut bytes.Buffer
	if err := b.ExportRecovery(Access{Who: "tech", Why: "safe"}, "short", &copyOut); err == nil {
		t.Error("a short passphrase was accepted")
	}
	const pass = "correct horse battery staple"
	if err := b.ExportRecovery(Access{Who: "tech", Why: "safe"}, pass, &copyOut); err != nil {
		t.Fatal(err)
	}
	id, _ := age.NewScryptIdentity(pass)
	r, err := age.Decrypt(&copyOut, id)
	if err != nil {
		t.Fatal(err)
	}
	var key bytes.Buffer
	key.ReadFrom(r)
	if !strings.Contains(string(after), strings.TrimSpace(key.String())) {
		t.Error("the recovery copy is not the current key")
	}
}

func TestAuditConfig(t *testing.T) {
	a := openTest(t, t.TempDir())
	for _, cfg := range []map[string]int{{"bitrate": 48}, {"bitrate": 48}, {"bitrate": 32}} {
		if err := a.AuditConfig(cfg); err != nil {
			t.Fatal(err)
		}
	}
	log, _ := a.AuditLog()
	if len(log) != 2 {
		t.Errorf("%d config entries, want 2 (one per change)", len(log))
	}
}

// TestKeyBinding: a data directory is bound to its key; another key, or a
// missing key file, is refused before anything is touched, and no key is
// ever made in place of a missing one.
func TestKeyBinding(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir)
	write(t, a, "r", audio("r", 3000))
	a.Close()
	cfg := Config{DataDir: filepath.Join(dir, "data"), KeyFile: filepath.Join(dir, "keys", "kek"), CreateKey: true}
	bound, _ := os.ReadFile(filepath.Join(cfg.DataDir, bindingFile))

	// Another key file.
	other := Config{DataDir: cfg.DataDir, KeyFile: filepath.Join(t.TempDir(), "kek")}
	if _, err := InitKey(Config{DataDir: t.TempDir(), KeyFile: other.KeyFile}); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(other, nil); !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), strings.TrimSpace(string(bound))) {
		t.Errorf("Open with another key = %v, want ErrWrongKey naming %s", err, bound)
	}
	// A missing key file: refused, naming the key, even with CreateKey.
	missing := Config{DataDir: cfg.DataDir, KeyFile: filepath.Join(t.TempDir(), "kek"), CreateKey: true}
	if _, err := Open(missing, nil); !errors.Is(err, ErrNoKeyFile) || !strings.Contains(err.Error(), strings.TrimSpace(string(bound))) {
		t.Errorf("Open with no key file = %v, want ErrNoKeyFile naming the key", err)
	}
	if _, err := os.Stat(missing.KeyFile); err == nil {
		t.Error("a key file was made in place of the missing one")
	}
	// keys init refuses a data directory that has recordings.
	if _, err := InitKey(Config{DataDir: cfg.DataDir, KeyFile: filepath.Join(t.TempDir(), "kek")}); err == nil {
		t.Error("keys init on a data directory in use succeeded")
	}
	// A new data directory and no key file: only CreateKey makes one.
	fresh := Config{DataDir: filepath.Join(t.TempDir(), "data"), KeyFile: filepath.Join(t.TempDir(), "k", "kek")}
	if _, err := Open(fresh, nil); !errors.Is(err, ErrNoKeyFile) {
		t.Errorf("Open of a new directory without CreateKey = %v", err)
	}
	fresh.CreateKey = true
	b, err := Open(fresh, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
}

func TestOpenDirRefused(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "data"), 0o777)
	os.Chmod(filepath.Join(dir, "data"), 0o777)
	_, err := Open(Config{DataDir: filepath.Join(dir, "data"), KeyFile: filepath.Join(dir, "keys", "kek"), CreateKey: true}, nil)
	if !errors.Is(err, ErrOpenDir) {
		t.Errorf("Open of a world-writable data directory = %v, want ErrOpenDir", err)
	}
}

// TestKeyLockAcrossDataDirs replays defect 2: while one process records
// under a key, rotating that key from another data directory is refused,
// and the key file is unchanged.
func TestKeyLockAcrossDataDirs(t *testing.T) {
	dir := t.TempDir()
	daemon := openTest(t, dir)
	if err := daemon.Lock(); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(daemon.cfg.KeyFile)
	other, err := Open(Config{DataDir: filepath.Join(t.TempDir(), "other"), KeyFile: daemon.cfg.KeyFile}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Rotate(Access{Who: "tech", Why: "yearly rotation"}); !errors.Is(err, ErrLocked) {
		t.Errorf("Rotate of the live key from another data directory = %v, want ErrLocked", err)
	}
	if after, _ := os.ReadFile(daemon.cfg.KeyFile); !bytes.Equal(before, after) {
		t.Error("the key file changed")
	}
}

// TestPlaySeeks: a recording opened for playback reads the same bytes as
// its export at every offset, across the tag frame and chunk edges, and
// the play is audited with its reason.
func TestPlaySeeks(t *testing.T) {
	a := openTest(t, t.TempDir())
	data := audio("p", 200000)
	write(t, a, "p", data)
	acc := Access{Who: "sup", Why: "training"}
	if _, err := a.Play(Access{Who: "sup"}, "p"); !errors.Is(err, ErrNoAccountable) {
		t.Errorf("Play without a reason = %v", err)
	}
	au, err := a.Play(acc, "p")
	if err != nil {
		t.Fatal(err)
	}
	defer au.Close()
	want := append([]byte(fmt.Sprintf("TAG%d|", len(data))), data...)
	if au.Size() != int64(len(want)) || au.Stream != int64(len(data)) {
		t.Fatalf("Size %d, Stream %d; want %d, %d", au.Size(), au.Stream, len(want), len(data))
	}
	for _, off := range []int64{0, 3, 11, 12, 65535, 65536 + 5, int64(len(want)) - 7} {
		buf := make([]byte, 100)
		n, err := au.ReadAt(buf, off)
		end := min(off+100, int64(len(want)))
		if !bytes.Equal(buf[:n], want[off:end]) || (err != nil && err != io.EOF) {
			t.Errorf("ReadAt(%d) = %d bytes, %v; differs", off, n, err)
		}
	}
	log, _ := a.AuditLog()
	if last := log[len(log)-1]; last.Action != "play" || last.Why != "training" || last.Target != "p" {
		t.Errorf("last audit entry %+v; want the play", last)
	}
}

// TestPlayMemoIsBoundToFileAndHash: a recording hashed once is not hashed
// again on the next open, but a changed index hash, or another file put in
// its place, is still refused.
func TestPlayMemoIsBoundToFileAndHash(t *testing.T) {
	a := openTest(t, t.TempDir())
	write(t, a, "m", audio("m", 5000))
	write(t, a, "n", audio("n", 5000))
	acc := Access{Who: "sup", Why: "training"}
	au, err := a.Play(acc, "m")
	if err != nil {
		t.Fatal(err)
	}
	au.Close()
	r, _ := a.index.Get("m")
	r.Recording.SHA256 = strings.Repeat("0", 64)
	a.index.Put(r)
	if _, err := a.Play(acc, "m"); !errors.Is(err, ErrHashMismatch) {
		t.Errorf("Play after the index hash changed = %v, want ErrHashMismatch", err)
	}
	if _, err := a.CheckRecording("m"); !errors.Is(err, ErrHashMismatch) {
		t.Errorf("CheckRecording = %v, want ErrHashMismatch", err)
	}
}

// TestUnwritable: a failed write to the vault makes the archive say that
// recording is impossible, for a minute.
func TestUnwritable(t *testing.T) {
	now := t0
	a := openTest(t, t.TempDir(), func(c *Config) { c.Now = func() time.Time { return now } })
	if a.State().Unwritable {
		t.Fatal("a new archive is unwritable")
	}
	w, err := a.Create(record("u", t0))
	if err != nil {
		t.Fatal(err)
	}
	w.fail(errors.New("input/output error"))
	if !a.State().Unwritable {
		t.Error("a failed write does not show")
	}
	now = now.Add(2 * time.Minute)
	if a.State().Unwritable {
		t.Error("a failure two minutes old still shows")
	}
	w.Close()
}

// TestDeviceKey: the box's signing key is made once, kept sealed, and
// survives a rotation of the key-encryption key.
func TestDeviceKey(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir)
	k1, err := a.DeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := a.DeviceKey()
	if !k1.Equal(k2) {
		t.Fatal("a second call made another key")
	}
	blob, _ := os.ReadFile(filepath.Join(dir, "data", "device.key"))
	if bytes.Contains(blob, k1.Seed()) {
		t.Error("device.key holds the key in clear")
	}
	if _, err := a.Rotate(Access{Who: "tech", Why: "yearly"}); err != nil {
		t.Fatal(err)
	}
	k3, err := a.DeviceKey()
	if err != nil || !k3.Equal(k1) {
		t.Errorf("after a rotation: %v, same key %v", err, k3.Equal(k1))
	}
}

// TestDiskRateRead: the week's recording rate is read from the index at
// most once a minute, then again.
func TestDiskRateRead(t *testing.T) {
	a := openTest(t, t.TempDir())
	write(t, a, "r1", audio("r1", 7000))
	now := t0.Add(time.Hour)
	first := a.Disk(now).BytesPerDay
	if first != 1000 {
		t.Fatalf("rate %v, want 1000 bytes a day (7000 in a week)", first)
	}
	write(t, a, "r2", audio("r2", 7000))
	if got := a.Disk(now.Add(10 * time.Second)).BytesPerDay; got != first {
		t.Errorf("the rate was read again within the minute: %v", got)
	}
	if got := a.Disk(now.Add(2 * time.Minute)).BytesPerDay; got != 2000 {
		t.Errorf("after a minute the rate is %v, want 2000", got)
	}
}
