package cases_test

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"callrec/firmware/bundle"
	"callrec/firmware/cases"
	"callrec/firmware/recording"
	"callrec/firmware/recording/recordingtest"
	ct "callrec/recorder/capture/capturetest"
	"callrec/storage/archive"
	"callrec/storage/index"
)

const (
	patient = "+441632960001"
	other   = "+441632960002"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	at time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.at }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.at = c.at.Add(d); c.mu.Unlock() }

func party(user, ip, tag string) ct.Party {
	a := netip.MustParseAddr(ip)
	return ct.Party{User: user, SIP: netip.AddrPortFrom(a, 5060), RTP: netip.AddrPortFrom(a, 4000), Tag: tag}
}

// world is a real archive (bbolt index, vault on disk) holding calls
// recorded from a replayed tap: three with the patient's number (one
// inbound, one outbound, one to another extension) and one without.
type world struct {
	dir   string
	a     *archive.Archive
	svc   *cases.Service
	clock *clock
	calls map[string]string // what each call is → its id
}

func newWorld(t *testing.T) *world {
	t.Helper()
	dir := t.TempDir()
	w := &world{dir: dir, clock: &clock{at: t0.Add(30 * 24 * time.Hour)}, calls: map[string]string{}}
	a, err := archive.Open(archive.Config{DataDir: filepath.Join(dir, "data"), KeyFile: filepath.Join(dir, "kek"),
		Retention: 3 * 365 * 24 * time.Hour, Format: recording.Format{}, CreateKey: true, Now: w.clock.now}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	dialogs := []struct {
		name           string
		caller, callee ct.Party
	}{
		{"inbound", party(patient, "203.0.113.5", "a"), party("201", "10.0.0.21", "b")},
		{"outbound", party("202", "10.0.0.22", "c"), party(patient, "203.0.113.5", "d")},
		{"other", party(other, "203.0.113.6", "e"), party("201", "10.0.0.21", "f")},
		{"later", party(patient, "203.0.113.5", "g"), party("203", "10.0.0.23", "h")},
	}
	var frames []ct.Frame
	for i, d := range dialogs {
		dl := &ct.Dialog{CallID: "case-" + d.name, Caller: d.caller, Callee: d.callee}
		frames = append(frames, ct.ToneCall(dl, t0.Add(time.Duration(i)*time.Hour), 2*time.Second, 440, 880)...)
	}
	recordingtest.Record(t, a, frames)
	rs, err := a.Index().Find(index.Query{})
	if err != nil || len(rs) != 4 {
		t.Fatalf("recorded %d calls, %v", len(rs), err)
	}
	for _, r := range rs {
		w.calls[strings.TrimPrefix(r.SIPCallIDs[0], "case-")] = r.ID
	}
	w.a = a
	w.svc = cases.New(cases.Config{Archive: a, Store: a.Index(), Practice: "Test Dental", Retention: 3 * 365 * 24 * time.Hour, Now: w.clock.now})
	return w
}

// audited says whether the audit log holds an entry of action on target.
func (w *world) audited(t *testing.T, action, target string) bool {
	t.Helper()
	log, err := w.a.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(log, func(e index.Entry) bool { return e.Action == action && e.Target == target })
}

func (w *world) sar(t *testing.T) cases.Case {
	t.Helper()
	nums, exts, err := w.svc.Numbers("01632 960001")
	if err != nil || len(nums) != 1 || nums[0] != patient || len(exts) != 0 {
		t.Fatalf("Numbers = %v %v %v", nums, exts, err)
	}
	c, err := w.svc.OpenCase("boss", cases.Case{Kind: cases.SAR, Requester: "A. Patient", Received: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
		Identity: "passport seen at reception", Numbers: nums})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSAR(t *testing.T) {
	w := newWorld(t)
	if _, err := w.svc.OpenCase("boss", cases.Case{Kind: cases.SAR, Requester: "x", Received: t0, Numbers: []string{patient}}); !errors.Is(err, cases.ErrInvalid) {
		t.Errorf("a SAR without the identity check = %v", err)
	}
	c := w.sar(t)
	if c.ID != "SAR-2026-001" || c.Due.Format(time.DateOnly) != "2026-12-30" {
		t.Errorf("case %s due %s; want SAR-2026-001 due 2026-12-30", c.ID, c.Due.Format(time.DateOnly))
	}
	if c2 := w.sar(t); c2.ID != "SAR-2026-002" {
		t.Errorf("the second case is %s", c2.ID)
	}
	c, n, err := w.svc.Search("boss", c.ID, cases.Terms{})
	if err != nil || n != 3 {
		t.Fatalf("Search found %d, %v; want the patient's 3 calls", n, err)
	}
	var ids []string
	for _, k := range c.Calls {
		ids = append(ids, k.ID)
	}
	for _, name := range []string{"inbound", "outbound", "later"} {
		if !slices.Contains(ids, w.calls[name]) {
			t.Errorf("the %s call was not found", name)
		}
	}
	if slices.Contains(ids, w.calls["other"]) {
		t.Error("another person's call was found")
	}
	if len(c.Searches) != 1 || c.Searches[0].Found != 3 {
		t.Errorf("searches recorded: %+v", c.Searches)
	}
	if _, err := w.svc.Exclude("boss", c.ID, w.calls["later"], ""); !errors.Is(err, cases.ErrInvalid) {
		t.Errorf("exclusion without a reason = %v", err)
	}
	if _, err := w.svc.Exclude("boss", c.ID, w.calls["later"], "third party's personal data"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Download("boss", c.ID, "A. Patient", &bytes.Buffer{}); !errors.Is(err, cases.ErrNotBuilt) {
		t.Errorf("download before build = %v", err)
	}
	password, err := w.svc.Build("boss", c.ID, true)
	if err != nil || len(password) != 29 {
		t.Fatalf("Build = %q, %v", password, err)
	}
	if _, err := w.svc.Download("boss", c.ID, "A. Patient", &bytes.Buffer{}); !errors.Is(err, cases.ErrNotChecked) {
		t.Errorf("download before the second check = %v", err)
	}
	if _, err := w.svc.Check("boss", c.ID, false); !errors.Is(err, cases.ErrSelfCheck) {
		t.Errorf("the builder's own check = %v", err)
	}
	if c, err = w.svc.Check("deputy", c.ID, false); err != nil || c.Bundle.CheckedBy != "deputy" {
		t.Fatalf("Check = %v", err)
	}
	var zip bytes.Buffer
	if _, err := w.svc.Download("boss", c.ID, "A. Patient, by post on USB", &zip); err != nil {
		t.Fatal(err)
	}
	pub, _ := w.a.DevicePublic()
	m, err := bundle.Verify(bytes.NewReader(zip.Bytes()), int64(zip.Len()), pub, password)
	if err != nil {
		t.Fatalf("the bundle does not verify: %v", err)
	}
	if len(m.Files) != 2 || m.CheckedBy != "deputy" || len(m.Searches) != 1 || m.Custody != nil {
		t.Errorf("manifest: %+v", m)
	}
	for _, f := range m.Files {
		if f.CallID == w.calls["later"] || f.StoredSHA256 == "" || strings.Contains(f.Name, "1632") {
			t.Errorf("file %+v", f)
		}
	}
	if bytes.Contains(zip.Bytes(), []byte("1632960001")) {
		t.Error("the encrypted bundle shows the patient's number")
	}
	for _, action := range []string{"case-open", "case-search", "case-exclude", "case-build", "case-check", "case-download"} {
		if !w.audited(t, action, c.ID) {
			t.Errorf("no %s entry in the audit log", action)
		}
	}
	// The download expires.
	w.clock.add(8 * 24 * time.Hour)
	if _, err := w.svc.Download("boss", c.ID, "again", &bytes.Buffer{}); !errors.Is(err, cases.ErrExpired) {
		t.Errorf("a download after 8 days = %v, want ErrExpired", err)
	}
	if _, err := w.svc.Close("boss", c.ID, "answered: 2 recordings sent, 1 withheld"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Exclude("boss", c.ID, w.calls["inbound"], "late"); !errors.Is(err, cases.ErrClosed) {
		t.Errorf("a change after closing = %v", err)
	}
}

func TestChangingTheCallsUndoesTheBundle(t *testing.T) {
	w := newWorld(t)
	c := w.sar(t)
	w.svc.Search("boss", c.ID, cases.Terms{})
	if _, err := w.svc.Build("boss", c.ID, false); err != nil {
		t.Fatal(err)
	}
	w.svc.Check("boss", c.ID, true)
	c, _ = w.svc.Exclude("boss", c.ID, w.calls["later"], "third party")
	if c.Bundle != nil {
		t.Error("an exclusion after the check kept the checked bundle")
	}
	if _, err := w.svc.Download("boss", c.ID, "x", &bytes.Buffer{}); !errors.Is(err, cases.ErrNotBuilt) {
		t.Errorf("download = %v, want ErrNotBuilt", err)
	}
}

func TestPoliceCase(t *testing.T) {
	w := newWorld(t)
	c, err := w.svc.OpenCase("boss", cases.Case{Kind: cases.Police, Requester: "Anyshire Constabulary", Received: t0.Add(24 * time.Hour),
		Officer: "DC 1234 Smith", Authoriser: "DI Jones", Purpose: "detection of crime: threats made by phone (DPA 2018 Sch 2 Pt 1 para 2)",
		Numbers: []string{patient}, From: t0, To: t0.Add(90 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	c, n, err := w.svc.Search("boss", c.ID, cases.Terms{})
	if err != nil || n != 2 {
		t.Fatalf("Search in the window found %d, %v; want 2", n, err)
	}
	if _, err := w.svc.Build("boss", c.ID, false); !errors.Is(err, cases.ErrNotDecided) {
		t.Errorf("build before the decision = %v", err)
	}
	if _, err := w.svc.Decide("boss", c.ID, cases.Partial, ""); !errors.Is(err, cases.ErrInvalid) {
		t.Errorf("a decision without rationale = %v", err)
	}
	if _, err := w.svc.Decide("boss", c.ID, cases.Partial, "the outbound call is not relevant"); err != nil {
		t.Fatal(err)
	}
	w.svc.Exclude("boss", c.ID, w.calls["outbound"], "not within the request's purpose")
	if _, err := w.svc.Build("boss", c.ID, false); err != nil {
		t.Fatal(err)
	}
	hs, err := w.a.Holds(w.calls["inbound"])
	if err != nil || len(hs) != 1 || !strings.Contains(hs[0].Reason, c.ID) {
		t.Errorf("holds on the exported call: %+v, %v", hs, err)
	}
	if hs, _ := w.a.Holds(w.calls["outbound"]); len(hs) != 0 {
		t.Errorf("the excluded call was held: %+v", hs)
	}
	w.svc.Check("deputy", c.ID, false)
	var zip bytes.Buffer
	if _, err := w.svc.Download("boss", c.ID, "DC 1234 Smith, exhibit JS/1", &zip); err != nil {
		t.Fatal(err)
	}
	pub, _ := w.a.DevicePublic()
	m, err := bundle.Verify(bytes.NewReader(zip.Bytes()), int64(zip.Len()), pub, "")
	if err != nil || len(m.Files) != 1 {
		t.Fatalf("Verify = %+v, %v", m, err)
	}
	var steps []string
	for _, s := range m.Custody {
		steps = append(steps, s.Action+" by "+s.By+" to "+s.To)
	}
	want := []string{"built by boss to ", "checked by deputy to ", "exported by boss to DC 1234 Smith, exhibit JS/1"}
	if !slices.Equal(steps, want) {
		t.Errorf("chain of custody %q, want %q", steps, want)
	}
	// Four years on, past retention: the purge keeps the held call.
	w.clock.add(4 * 365 * 24 * time.Hour)
	res, err := w.a.Purge()
	if err != nil || res.Held != 1 || res.Shredded != 3 {
		t.Errorf("purge = %+v, %v; want 1 held, 3 shredded", res, err)
	}
	if r, _ := w.a.Index().Get(w.calls["inbound"]); !r.Recording.State.HasAudio() {
		t.Error("the exported call was purged")
	}
}

func TestErasure(t *testing.T) {
	w := newWorld(t)
	c, err := w.svc.OpenCase("boss", cases.Case{Kind: cases.Erasure, Requester: "A. Patient", Received: t0.Add(24 * time.Hour),
		Grounds: "objection under Article 21 upheld", Numbers: []string{patient}})
	if err != nil {
		t.Fatal(err)
	}
	w.svc.Search("boss", c.ID, cases.Terms{})
	if _, err := w.a.Hold(archive.Access{Who: "boss", Why: "complaint 7"}, w.calls["later"]); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Build("boss", c.ID, false); !errors.Is(err, cases.ErrInvalid) {
		t.Errorf("an erasure case built a bundle: %v", err)
	}
	if _, err := w.svc.Erase("boss", c.ID, w.calls["inbound"], "objection upheld", "yes"); !errors.Is(err, cases.ErrConfirm) {
		t.Errorf("erase with a wrong confirmation = %v", err)
	}
	if _, err := w.svc.Erase("boss", c.ID, w.calls["other"], "objection upheld", c.ID); !errors.Is(err, cases.ErrNotInCase) {
		t.Errorf("erase of a call outside the case = %v", err)
	}
	c, err = w.svc.Erase("boss", c.ID, w.calls["inbound"], "objection upheld", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.a.Play(archive.Access{Who: "boss", Why: "check"}, w.calls["inbound"]); !errors.Is(err, archive.ErrErased) {
		t.Errorf("the erased call plays: %v", err)
	}
	if len(c.Erased) != 1 || c.Erased[0].CallID != w.calls["inbound"] || c.Erased[0].StoredSHA256 == "" || c.Erased[0].Reason != "objection upheld" {
		t.Errorf("tombstone: %+v", c.Erased)
	}
	if _, err := w.svc.Erase("boss", c.ID, w.calls["later"], "objection upheld", c.ID); !errors.Is(err, index.ErrHeld) {
		t.Errorf("erase of a held call = %v, want ErrHeld", err)
	}
	if _, err := w.a.Play(archive.Access{Who: "boss", Why: "check"}, w.calls["later"]); err != nil {
		t.Errorf("the held call: %v", err)
	}
	if !w.audited(t, "erase", w.calls["inbound"]) || !w.audited(t, "case-erase", c.ID) || !w.audited(t, "erase-refused", w.calls["later"]) {
		t.Error("the erasure is not in the audit log")
	}
	if rep, err := w.a.Verify(); err != nil || len(rep.Problems) != 0 {
		t.Errorf("verify after the erasure: %+v, %v", rep, err)
	}
}

// TestDownloadOfAChangedRecordingFails: a recording that changed on the
// disk after the check is not handed over: the download fails, audited,
// and what was written is no bundle that verifies.
func TestDownloadOfAChangedRecordingFails(t *testing.T) {
	w := newWorld(t)
	c := w.sar(t)
	w.svc.Search("boss", c.ID, cases.Terms{})
	if _, err := w.svc.Build("boss", c.ID, false); err != nil {
		t.Fatal(err)
	}
	w.svc.Check("deputy", c.ID, false)
	path := filepath.Join(w.dir, "data", "recordings", w.calls["outbound"]+".crv")
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	b := make([]byte, 1)
	f.ReadAt(b, st.Size()/2)
	b[0] ^= 1
	f.WriteAt(b, st.Size()/2)
	f.Close()
	var zip bytes.Buffer
	if _, err := w.svc.Download("boss", c.ID, "A. Patient", &zip); err == nil {
		t.Fatal("a bundle with a changed recording was downloaded")
	}
	pub, _ := w.a.DevicePublic()
	if _, err := bundle.Verify(bytes.NewReader(zip.Bytes()), int64(zip.Len()), pub, ""); err == nil {
		t.Error("what the failed download wrote verifies")
	}
	if !w.audited(t, "case-download-failed", c.ID) {
		t.Error("the failed download is not in the audit log")
	}
}
