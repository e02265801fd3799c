package tests

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// TestAuditRollbackDetected replays defect 6: removing the last entries
// of the audit log (here, by putting back a copy of index.db taken before
// an export) left `audit verify` saying "intact". The head kept outside
// the index now shows it.
func TestAuditRollbackDetected(t *testing.T) {
	b := newBox(t)
	b.must("ingest", writeCall(t, "audit@x", time.Now().UTC().Add(-time.Hour)))
	c := b.calls()[0]
	idx := filepath.Join(b.dir, "data", "index.db")
	before, err := os.ReadFile(idx)
	if err != nil {
		t.Fatal(err)
	}
	b.must("export", "-call", c.ID, "-out", filepath.Join(b.dir, "taken.mp3"), "-why", "SAR 12")
	if v := b.must("audit", "verify"); !strings.Contains(v, "intact") {
		t.Fatalf("audit verify before the rollback: %s", v)
	}
	os.WriteFile(idx, before, 0o600) // the export's entry is gone
	out, err := b.run("audit", "verify")
	if err == nil || !strings.Contains(out, "removed from its end") {
		t.Errorf("audit verify after the rollback: %v\n%s", err, out)
	}
}

// TestIndexHoldsNoPersonalData replays defect 15's last part: index.db
// held phone numbers and names in plain. Now a search by number still
// finds the call, and the file holds no number.
func TestIndexHoldsNoPersonalData(t *testing.T) {
	b := newBox(t)
	b.must("ingest", writeCall(t, "pd@x", time.Now().UTC().Add(-time.Hour)))
	b.calls("-number", "+441632960001", "-why", "SAR 3") // its audit entry names the number
	if cs := b.calls("-number", "+441632960001"); len(cs) != 1 {
		t.Fatalf("search by number found %d calls", len(cs))
	}
	raw, _ := os.ReadFile(filepath.Join(b.dir, "data", "index.db"))
	for _, s := range []string{"1632960001", "pd@x"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("index.db holds %q in plain", s)
		}
	}
}

// TestCutRecordingRefused replays defect 7 from the outside: a recording
// whose tail was cut off is refused by export and reported by verify.
func TestCutRecordingRefused(t *testing.T) {
	b := newBox(t)
	b.must("ingest", writeCall(t, "cut@x", time.Now().UTC().Add(-time.Hour)))
	c := b.calls()[0]
	p := filepath.Join(b.dir, "data", "recordings", c.ID+".crv")
	st, _ := os.Stat(p)
	os.Truncate(p, st.Size()-40)
	if out, err := b.run("export", "-call", c.ID, "-out", filepath.Join(b.dir, "cut.mp3")); err == nil || !strings.Contains(out, "truncated") {
		t.Errorf("export of a cut recording: %v\n%s", err, out)
	}
	if out, err := b.run("verify"); err == nil || !strings.Contains(out, "1 problems") {
		t.Errorf("verify of a cut recording: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(b.dir, "cut.mp3")); err == nil {
		t.Error("the refused export left a file")
	}
	if log := b.must("audit", "list"); !strings.Contains(log, `"action":"export-failed"`) {
		t.Error("the refused export is not audited")
	}
}

// TestExportOutRefusesLinks replays defect 9: `export -out` onto a
// symlink wrote through it, and onto an existing 0644 file kept its mode.
func TestExportOutRefusesLinks(t *testing.T) {
	b := newBox(t)
	b.must("ingest", writeCall(t, "out@x", time.Now().UTC().Add(-time.Hour)))
	c := b.calls()[0]
	victim := filepath.Join(b.dir, "victim")
	os.WriteFile(victim, []byte("precious"), 0o644)
	link := filepath.Join(b.dir, "link.mp3")
	os.Symlink(victim, link)
	existing := filepath.Join(b.dir, "existing.mp3")
	os.WriteFile(existing, []byte("old"), 0o644)
	for _, p := range []string{link, existing} {
		if out, err := b.run("export", "-call", c.ID, "-out", p); err == nil || !strings.Contains(out, "-force") {
			t.Errorf("export onto %s: %v\n%s; want refused, naming -force", filepath.Base(p), err, out)
		}
	}
	for _, p := range []string{link, existing} {
		b.must("export", "-call", c.ID, "-out", p, "-force")
		if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
			t.Errorf("%s after -force: %v %v; want a regular 0600 file", filepath.Base(p), st.Mode(), err)
		}
	}
	if v, _ := os.ReadFile(victim); string(v) != "precious" {
		t.Error("the export wrote through the symlink")
	}
}

// TestAccountabilityFromTheCommandLine replays defect 10: -who "" and
// -why "" were accepted; release needed no reason and succeeded on calls
// that do not exist; a second hold replaced the first.
func TestAccountabilityFromTheCommandLine(t *testing.T) {
	b := newBox(t)
	b.must("ingest", writeCall(t, "acc@x", time.Now().UTC().Add(-time.Hour)))
	c := b.calls()[0]
	for _, args := range [][]string{
		{"calls", "-who", "", "-why", "SAR 1"},
		{"calls", "-why", ""},
		{"export", "-call", c.ID, "-out", filepath.Join(b.dir, "x.mp3"), "-why", ""},
		{"release", "-call", c.ID},
		{"release", "-call", "c00000000000000000000000000000000", "-reason", "closed"},
	} {
		if out, err := b.run(args[0], args[1:]...); err == nil {
			t.Errorf("recorderd %v accepted:\n%s", args, out)
		}
	}
	first := b.must("hold", "-call", c.ID, "-reason", "complaint 114", "-who", "head-of-ig")
	second := b.must("hold", "-call", c.ID, "-reason", "police request 77", "-who", "head-of-ig")
	if !strings.Contains(second, "2 holds remain") {
		t.Errorf("second hold: %s", second)
	}
	if out, err := b.run("release", "-call", c.ID, "-reason", "closed"); err == nil || !strings.Contains(out, "complaint 114") || !strings.Contains(out, "police request 77") {
		t.Errorf("release without naming one of two holds: %v\n%s; want refused, listing both", err, out)
	}
	holdID := strings.Fields(strings.SplitN(first, "hold ", 2)[1])[0]
	if out := b.must("release", "-call", c.ID, "-hold", holdID, "-reason", "complaint closed"); !strings.Contains(out, "1 holds remain") {
		t.Errorf("release: %s", out)
	}
	log := b.must("audit", "list")
	if strings.Count(log, `"action":"hold"`) != 2 || !strings.Contains(log, "complaint closed") {
		t.Errorf("audit log lacks the holds and the reasoned release:\n%s", log)
	}
}

// TestRecoveryPassphraseNotEchoed replays defect 11: the passphrase was
// echoed on the terminal and asked once. On a real terminal (a pty) it is
// now read without echo, asked twice, and a weak one is refused.
func TestRecoveryPassphraseNotEchoed(t *testing.T) {
	b := newBox(t)
	const pass = "Quiet-Harbour-7391"
	for _, tt := range []struct {
		name, first, second string
		ok                  bool
		want                string
	}{
		{"weak", "short", "", false, "too weak"},
		{"different", pass, pass + "x", false, "differ"},
		{"good", pass, pass, true, "recovery key written"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "recovery.age")
			cmd := exec.Command(recorderd, b.args("keys", "export-recovery", "-out", out)...)
			tty, err := pty.Start(cmd)
			if err != nil {
				t.Fatal(err)
			}
			defer tty.Close()
			var screen bytes.Buffer
			r := bufio.NewReader(io.TeeReader(tty, &screen))
			expect := func(s string) {
				t.Helper()
				deadline := time.Now().Add(10 * time.Second)
				for !strings.Contains(screen.String(), s) && time.Now().Before(deadline) {
					if _, err := r.ReadByte(); err != nil {
						break
					}
				}
				if !strings.Contains(screen.String(), s) {
					t.Fatalf("no %q on the terminal: %q", s, screen.String())
				}
			}
			// Type only once the terminal stops echoing, as ReadPassword
			// sets it: typed before, the line discipline would echo it,
			// whatever the program does.
			quiet := func() {
				t.Helper()
				for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
					if tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS); err == nil && tio.Lflag&unix.ECHO == 0 {
						return
					}
				}
				t.Fatal("the terminal kept echoing")
			}
			expect("recovery passphrase")
			quiet()
			tty.Write([]byte(tt.first + "\r"))
			if tt.second != "" {
				expect("the same again")
				quiet()
				tty.Write([]byte(tt.second + "\r"))
			}
			io.Copy(&screen, r) // until the command ends
			err = cmd.Wait()
			if (err == nil) != tt.ok || !strings.Contains(screen.String(), tt.want) {
				t.Errorf("exit %v, terminal %q; want ok=%v and %q", err, screen.String(), tt.ok, tt.want)
			}
			if strings.Contains(screen.String(), tt.first) {
				t.Errorf("the passphrase was echoed: %q", screen.String())
			}
			if _, err := os.Stat(out); (err == nil) != tt.ok {
				t.Errorf("recovery file exists %v; want %v", err == nil, tt.ok)
			}
		})
	}
}

// TestCorruptIndexRebuilt replays defect 12: a corrupt index.db made
// every command panic with a stack trace. Now each says what is wrong and
// names `recorderd index rebuild`, which makes the index again from the
// vault alone: every call findable by number and exportable.
func TestCorruptIndexRebuilt(t *testing.T) {
	b := newBox(t)
	for i, id := range []string{"one@x", "two@x", "three@x"} {
		b.must("ingest", writeCall(t, id, time.Now().UTC().Add(-time.Duration(i+1)*time.Hour)))
	}
	before := b.calls("-number", "+441632960001")
	b.must("hold", "-call", before[1].ID, "-reason", "complaint 9")
	idx := filepath.Join(b.dir, "data", "index.db")
	raw, _ := os.ReadFile(idx)
	for i := 2 * 4096; i < len(raw); i += 53 {
		raw[i] ^= 0x5a
	}
	os.WriteFile(idx, raw, 0o600)
	for _, args := range [][]string{{"calls"}, {"verify"}, {"audit", "verify"}, {"export", "-call", before[0].ID, "-out", filepath.Join(b.dir, "x.mp3")}} {
		out, err := b.run(args[0], args[1:]...)
		if exitCode(err) != 1 || strings.Contains(out, "panic") || strings.Contains(out, "goroutine") || !strings.Contains(out, "index rebuild") {
			t.Errorf("recorderd %v on a corrupt index: exit %d\n%s\nwant exit 1 and an error naming the rebuild", args, exitCode(err), out)
		}
	}
	out := b.must("index", "rebuild", "-why", "ticket 31")
	if !strings.Contains(out, "3 recordings") || !strings.Contains(out, "1 holds") {
		t.Errorf("index rebuild: %s", out)
	}
	after := b.calls("-number", "+441632960001")
	if len(after) != 3 {
		t.Fatalf("%d calls found after the rebuild, want 3", len(after))
	}
	for i, c := range after {
		if c.ID != before[i].ID || !slices.Equal(c.Numbers, before[i].Numbers) || c.EndReason != before[i].EndReason || c.Recording != before[i].Recording {
			t.Errorf("rebuilt %+v\nwant     %+v", c, before[i])
		}
		out := filepath.Join(b.dir, c.ID+".mp3")
		b.must("export", "-call", c.ID, "-out", out)
		if l, _ := decodeMP3(t, out); len(l) < 16000 {
			t.Errorf("export of %s after the rebuild: %d samples", c.ID, len(l))
		}
	}
	if v := b.must("verify"); !strings.Contains(v, "3 recordings checked, 0 problems") {
		t.Errorf("verify after the rebuild: %s", v)
	}
	if _, err := b.run("release", "-call", before[1].ID, "-reason", "closed"); err != nil {
		t.Error("the hold did not survive the rebuild")
	}
	if v := b.must("audit", "verify"); !strings.Contains(v, "intact") {
		t.Errorf("audit verify after the rebuild: %s", v)
	}
}

// TestBadIntervalsRefused replays part of defect 15: `run -purge-every 0`
// and `-watchdog 0` panicked. Now they are usage errors.
func TestBadIntervalsRefused(t *testing.T) {
	b := newBox(t)
	for _, flag := range []string{"-purge-every", "-watchdog"} {
		out, err := b.run("run", "-iface", "lo", flag, "0")
		if exitCode(err) != 2 || strings.Contains(out, "panic") || !strings.Contains(out, "positive") {
			t.Errorf("run %s 0: exit %d\n%s\nwant a usage error (2)", flag, exitCode(err), out)
		}
	}
}
