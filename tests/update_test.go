package tests

import (
	fwupdate "callrec/firmware/update"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Signed firmware updates end to end, on the simulated board, whose
// "reboot" re-executes the daemon through the slots.

// buildVersion builds recorderd as a given version, trusting the test
// keys, with more build tags if given.
func buildVersion(t *testing.T, version string, tags ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "recorderd-"+version)
	cmd := exec.Command("go", "build", "-tags", strings.Join(append([]string{"callrec_testkeys"}, tags...), ","),
		"-ldflags", "-X main.version="+version, "-o", out, "../cmd/recorderd")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", version, err, b)
	}
	return out
}

// signBundle signs a binary with the test release key (certified by the
// test root) for the simulated board.
func signBundle(t *testing.T, binary, version string, more ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "callrec-"+version+".zip")
	args := append([]string{"firmware", "sign", "-key", "testdata/update/release-TEST-ONLY.key", "-cert", "testdata/update/release-TEST-ONLY.cert",
		"-binary", binary, "-version", version, "-model", "sim", "-out", out}, more...)
	if b, err := exec.Command(recorderd, args...).CombinedOutput(); err != nil {
		t.Fatalf("sign %s: %v\n%s", version, err, b)
	}
	return out
}

// signIn signs in with a password already chosen.
func (c *tty) signInWith(name, password string) {
	c.t.Helper()
	c.typeLine(name)
	c.wait("password: ", 5*time.Second)
	c.typeLine(password)
	c.wait(name+"@callrec> ", 5*time.Second)
}

// TestUpdateFromTheConsole: firmware 1.0.0 in slot a. A downgrade and a
// bundle signed by the root key are refused on the console. 1.1.0 is
// installed; the box reboots into it on trial, it passes its health check
// (capture, vault, web page, console) and becomes current. `update
// rollback` returns to 1.0.0. 1.2.0, built to fail its health check, is
// installed; its trial boot fails and the box goes back to 1.0.0 by
// itself, and refuses to roll back to the failed firmware.
func TestUpdateFromTheConsole(t *testing.T) {
	needRoot(t)
	v1 := buildVersion(t, "1.0.0")
	v2 := buildVersion(t, "1.1.0")
	v3 := buildVersion(t, "1.2.0", "callrec_failhealth")
	slots := t.TempDir()
	b := newBox(t)
	if out, err := exec.Command(v1, b.args("update", "init", "-slots", slots)...).CombinedOutput(); err != nil || !strings.Contains(string(out), "slot a, version 1.0.0") {
		t.Fatalf("update init: %v\n%s", err, out)
	}
	good := signBundle(t, v2, "1.1.0")
	bad := signBundle(t, v3, "1.2.0")
	old := signBundle(t, v1, "0.9.0")
	rootSigned := filepath.Join(t.TempDir(), "root.zip")
	if out, err := exec.Command(recorderd, "firmware", "sign", "-key", "testdata/update/root-TEST-ONLY.key", "-binary", v2, "-version", "1.1.0",
		"-model", "sim", "-out", rootSigned).CombinedOutput(); err != nil {
		t.Fatalf("sign with the root: %v\n%s", err, out)
	}
	once := strings.TrimSpace(lastLine(b.must("users", "add", "-name", "tech", "-role", "technician")))

	b.exe = filepath.Join(slots, "current", "recorderd")
	stderr, stop, _ := b.startDaemon("-board", "sim", "-slots", slots, "-health-window", "5s")
	started := func(version string) int {
		return strings.Count(stderr.String(), `msg="recorderd started" board=sim version=`+version)
	}
	consoles := 1
	console := func() *tty { // the console of the daemon now running
		c := openConsole(t, stderr, consoles)
		consoles++
		c.wait("login: ", 10*time.Second)
		return c
	}
	c := console()
	c.signIn("tech", once)
	c.typeLine("update status")
	c.wait("current  slot a, version 1.0.0", 5*time.Second)
	for bundle, want := range map[string]string{old: "not newer than the firmware running", rootSigned: "signed by a root key"} {
		c.typeLine("update apply " + bundle)
		c.wait(want, 10*time.Second)
	}

	// A good update: a trial boot, healthy, kept.
	c.typeLine("update apply " + good)
	c.wait("installed in slot b", 10*time.Second)
	waitFor(t, "the trial boot to be kept", 60*time.Second, func() bool { return strings.Contains(stderr.String(), "firmware update kept") })
	c = console()
	c.signInWith("tech", newPassword)
	c.typeLine("update status")
	out := c.wait("tech@callrec> ", 5*time.Second)
	if !strings.Contains(out, "current  slot b, version 1.1.0") || !strings.Contains(out, "slot a, version 1.0.0 (update rollback returns to it)") {
		t.Errorf("after the good update:\n%s", out)
	}

	// Rolled back on request.
	c.typeLine("update rollback")
	c.wait("[y/N]", 5*time.Second)
	c.typeLine("y")
	waitFor(t, "1.0.0 to run again", 30*time.Second, func() bool { return started("1.0.0") == 2 })
	c = console()
	c.signInWith("tech", newPassword)

	// A bad update: its trial boot fails its health check; back to 1.0.0.
	c.typeLine("update apply " + bad)
	c.wait("installed in slot b", 10*time.Second)
	waitFor(t, "the rollback", 90*time.Second, func() bool {
		return strings.Contains(stderr.String(), "failed its health check: rolling back") && started("1.0.0") == 3
	})
	if started("1.2.0") != 1 {
		t.Errorf("1.2.0 started %d times", started("1.2.0"))
	}
	consoles++ // the failed trial's own console
	c = console()
	c.signInWith("tech", newPassword)
	c.typeLine("update status")
	out = c.wait("tech@callrec> ", 5*time.Second)
	if !strings.Contains(out, "current  slot a, version 1.0.0") || !strings.Contains(out, "never ran well") {
		t.Errorf("after the failed update:\n%s", out)
	}
	c.typeLine("update rollback")
	c.wait("[y/N]", 5*time.Second)
	c.typeLine("y")
	c.wait("nothing to roll back to", 5*time.Second)

	log := b.must("audit", "list")
	for _, action := range []string{"update-refused", "update-install", "update-good", "update-rollback"} {
		if !strings.Contains(log, `"action":"`+action+`"`) {
			t.Errorf("the audit log lacks %s", action)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("daemon exit: %v", err)
	}
}

// TestKillDuringInstall: `recorderd update apply` is killed (SIGKILL) at
// moments spread over its run, from before it writes a byte to after it
// is done. Each time, the box still boots a whole firmware: the old one,
// or the new one on trial, byte for byte.
func TestKillDuringInstall(t *testing.T) {
	v1 := buildVersion(t, "1.0.0")
	v2 := buildVersion(t, "1.1.0")
	bundle := signBundle(t, v2, "1.1.0")
	want := map[string]string{}
	for _, f := range []string{v1, v2} {
		b, _ := os.ReadFile(f)
		want[f] = string(b)
	}
	b := newBox(t)
	apply := func(slots string) *exec.Cmd {
		return exec.Command(v1, b.args("update", "apply", bundle, "-slots", slots, "-model", "sim", "-who", "tech")...)
	}
	// How long a whole install takes here.
	slots := t.TempDir()
	if out, err := exec.Command(v1, b.args("update", "init", "-slots", slots)...).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	start := time.Now()
	if out, err := apply(slots).CombinedOutput(); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	whole := time.Since(start)
	outcomes := map[string]int{}
	for i := range 12 {
		slots := t.TempDir()
		if out, err := exec.Command(v1, b.args("update", "init", "-slots", slots)...).CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		cmd := apply(slots)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(whole * time.Duration(i) / 10)
		cmd.Process.Kill()
		cmd.Wait()
		s := fwupdate.Slots{Root: slots}
		exe, trial, err := s.Boot(filepath.Join(slots, "slots", "a", "recorderd"))
		if err != nil {
			t.Fatalf("kill at %d/10: Boot: %v", i, err)
		}
		got, _ := os.ReadFile(exe)
		switch {
		case !trial && string(got) == want[v1]:
			outcomes["old firmware"]++
		case trial && string(got) == want[v2]:
			outcomes["new firmware on trial"]++
		default:
			t.Errorf("kill at %d/10 of %v: boots %s (trial %v), %d bytes, neither whole firmware", i, whole, exe, trial, len(got))
		}
	}
	t.Logf("a whole install takes %v; after a kill the box booted: %v", whole, outcomes)
	if outcomes["old firmware"] == 0 || outcomes["new firmware on trial"] == 0 {
		t.Logf("(the kills did not fall on both sides of the pointer's swap this time)")
	}
}
