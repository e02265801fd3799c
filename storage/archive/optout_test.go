package archive

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"callrec/storage/index"
)

func TestOptOutDiscard(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir)
	write(t, a, "o", audio("o", 20000))
	write(t, a, "keep", audio("keep", 20000))
	acc := Access{Who: "ext 201", Why: "caller asked"}
	o := index.OptOut{At: t0, By: "ext 201", Trigger: "command", Mode: OptOutDiscard}
	if err := a.OptOut(Access{Who: "x"}, "o", o); !errors.Is(err, ErrNoAccountable) {
		t.Errorf("OptOut without why = %v", err)
	}
	if err := a.OptOut(acc, "o", o); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "recordings", "o.crv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the recording's file is still there: %v", err)
	}
	r, _ := a.index.Get("o")
	if r.OptOut == nil || r.OptOut.Trigger != "command" || r.Recording.State != index.StateOptedOut || r.Recording.SHA256 != "" ||
		!slices.Contains(r.Flags, index.FlagOptedOut) || r.Numbers[0] != "+441632960001" {
		t.Errorf("record after opt-out: %+v %+v", r.Recording, r.OptOut)
	}
	if _, err := a.Play(acc, "o"); !errors.Is(err, ErrOptedOut) {
		t.Errorf("Play = %v, want ErrOptedOut", err)
	}
	if err := a.OptOut(acc, "o", o); !errors.Is(err, ErrAlreadyOptedOut) {
		t.Errorf("second OptOut = %v, want ErrAlreadyOptedOut", err)
	}
	// The tracker's record of the call, saved when it ends, keeps the opt-out.
	later := record("o", t0)
	later.End = t0.Add(time.Minute)
	a.SaveCall(later)
	a.Wait()
	if r, _ := a.index.Get("o"); r.OptOut == nil || r.Recording.State != index.StateOptedOut {
		t.Errorf("the call's end undid the opt-out: %+v", r)
	}
	if rep, err := a.Verify(); err != nil || len(rep.Problems) != 0 {
		t.Errorf("Verify = %+v, %v", rep, err)
	}
	if !a.OptedOut("o") || a.OptedOut("keep") || a.OptedOut("nope") {
		t.Error("OptedOut is wrong")
	}
	if _, err := a.Play(acc, "keep"); err != nil {
		t.Errorf("the other call: %v", err)
	}
	log, _ := a.AuditLog()
	var seen bool
	for _, e := range log {
		seen = seen || (e.Action == "optout" && e.Target == "o" && e.Who == "ext 201")
	}
	if !seen {
		t.Error("no audit entry for the opt-out")
	}
}

func TestOptOutStopKeepsAudio(t *testing.T) {
	a := openTest(t, t.TempDir())
	write(t, a, "s", audio("s", 5000))
	if err := a.OptOut(Access{Who: "sup", Why: "asked"}, "s", index.OptOut{At: t0, By: "sup", Trigger: "web", Mode: OptOutStop}); err != nil {
		t.Fatal(err)
	}
	au, err := a.Play(Access{Who: "sup", Why: "quality"}, "s")
	if err != nil {
		t.Fatalf("stop mode keeps the audio before the request: %v", err)
	}
	au.Close()
	if r, _ := a.index.Get("s"); r.OptOut == nil || r.OptOut.Mode != OptOutStop {
		t.Errorf("record: %+v", r.OptOut)
	}
	if err := a.OptOut(Access{Who: "sup", Why: "x"}, "s", index.OptOut{Mode: "maybe"}); err == nil {
		t.Error("an unknown mode was accepted")
	}
}
