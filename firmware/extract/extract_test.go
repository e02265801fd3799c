package extract

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"callrec/recorder/capture"
	ct "callrec/recorder/capture/capturetest"
)

func source(t *testing.T) capture.Source {
	t.Helper()
	p := func(user, ip string) ct.Party {
		a := netip.MustParseAddr(ip)
		return ct.Party{User: user, SIP: netip.AddrPortFrom(a, 5060), RTP: netip.AddrPortFrom(a, 4000), Tag: user}
	}
	d := &ct.Dialog{CallID: "x-1", Caller: p("+441632960001", "203.0.113.5"), Callee: p("201", "10.0.0.21")}
	var b bytes.Buffer
	ct.WritePcap(&b, 1, ct.ToneCall(d, time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), 2*time.Second, 400, 900))
	src, err := capture.NewReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestRunWritesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	res, err := Run(context.Background(), source(t), Config{Dir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Calls) != 1 || res.Files != 1 || res.Calls[0].File == "" || res.Calls[0].DurationMS < 1900 {
		t.Fatalf("Result = %+v", res)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", st.Mode().Perm())
	}
	for _, name := range []string{res.Calls[0].File, "calls.json"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode().Perm() != 0o600 || st.Size() == 0 {
			t.Errorf("%s: %v, mode %v; want a private, non-empty file", name, err, st.Mode().Perm())
		}
	}
	f, _ := os.Open(filepath.Join(dir, "calls.json"))
	defer f.Close()
	var c struct {
		File string `json:"file"`
		From struct{ E164 string }
	}
	if err := json.NewDecoder(bufio.NewReader(f)).Decode(&c); err != nil || c.File != res.Calls[0].File || c.From.E164 != "+441632960001" {
		t.Errorf("calls.json = %+v, %v", c, err)
	}
}

// TestRunIntoExistingDirectory: files are private even in a directory
// others can list.
func TestRunIntoExistingDirectory(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	res, err := Run(context.Background(), source(t), Config{Dir: dir}, nil)
	if err != nil || res.Files != 1 {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	if st, err := os.Stat(filepath.Join(dir, res.Calls[0].File)); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("recording: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
}

// TestRunDoesNotFollowSymlinks: a symlink planted where calls.json goes
// is replaced, never followed: its target is untouched.
func TestRunDoesNotFollowSymlinks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	os.MkdirAll(dir, 0o700)
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("keep"), 0o644)
	os.Symlink(victim, filepath.Join(dir, "calls.json"))
	if _, err := Run(context.Background(), source(t), Config{Dir: dir}, nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("the symlink's target was written: %q", b)
	}
	if st, err := os.Lstat(filepath.Join(dir, "calls.json")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("calls.json is not a regular file: %v", err)
	}
}
