package tests

import (
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/term"

	"callrec/firmware/console/consoletest"
)

// The technician's console, end to end: `recorderd run -board sim`
// serves it on a real pty, which the test opens as a terminal program
// (screen, picocom) would.

// tty is the technician's end of the console's pty.
type tty struct {
	*consoletest.Screen
	t *testing.T
}

func (c *tty) typeLine(line string) { c.Type(line) }
func (c *tty) wait(text string, within time.Duration) string {
	c.t.Helper()
	return c.Wait(text, within)
}

var ptyLine = regexp.MustCompile(`msg="serial console" .*pty=(/dev/pts/[0-9]+)`)

// openConsole opens the n-th console the daemon announced (a reboot
// announces a new one).
func openConsole(t *testing.T, stderr *syncBuffer, n int) *tty {
	t.Helper()
	var path string
	waitFor(t, "the console's pty", 20*time.Second, func() bool {
		m := ptyLine.FindAllStringSubmatch(stderr.String(), -1)
		if len(m) >= n {
			path = m[n-1][1]
		}
		return path != ""
	})
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := term.MakeRaw(int(f.Fd())); err != nil {
		t.Fatal(err)
	}
	c := &tty{Screen: consoletest.New(t, f), t: t}
	t.Cleanup(func() { f.Close() })
	return c
}

// signIn signs in with a one-time password, choosing a new one.
func (c *tty) signIn(name, once string) {
	c.t.Helper()
	c.typeLine(name)
	c.wait("password: ", 5*time.Second)
	c.typeLine(once)
	c.wait("new password: ", 5*time.Second)
	c.typeLine(newPassword)
	c.wait("the same again: ", 5*time.Second)
	c.typeLine(newPassword)
	c.wait(name+"@callrec> ", 5*time.Second)
}

// TestConsoleOnThePty: a technician signs in on the simulated board's
// pty, reads the status, proves the mirror port with `capture check`
// while SIPp calls run, opts a live call out, sees a network change
// revert by itself, and is refused a factory reset while a call is held.
func TestConsoleOnThePty(t *testing.T) {
	needRoot(t)
	needTool(t, "sipp")
	b := newBox(t)
	stderr, stop, _ := b.startDaemon("-board", "sim", "-slots", "off", "-confirm-window", "2s", "-capture-window", "4s")
	once := strings.TrimSpace(lastLine(b.must("users", "add", "-name", "tech", "-role", "technician")))
	c := openConsole(t, stderr, 1)
	banner := c.wait("login: ", 10*time.Second)
	for _, want := range []string{"callrec call recorder dev", "addresses", "time", "recording", "disk", "web cert"} {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner lacks %q:\n%s", want, banner)
		}
	}
	c.signIn("tech", once)
	c.typeLine("status")
	c.wait("warnings", 5*time.Second)
	c.wait("tech@callrec> ", 5*time.Second)

	// The mirror port, proved while two calls are set up and talk.
	c.typeLine("capture check")
	c.wait("Watching the SPAN port(s) for 4s", 5*time.Second)
	wait := sippInBackground(t, 5600, "01632960411", "01632960412")
	out := c.wait("tech@callrec> ", 15*time.Second)
	if !strings.Contains(out, "OK: SIP and RTP seen") {
		t.Errorf("capture check during calls:\n%s", out)
	}
	b.recordingNow(2)
	c.typeLine("calls")
	out = c.wait("tech@callrec> ", 5*time.Second)
	if strings.Contains(out, "1632960411") || !strings.Contains(out, "•••411") {
		t.Errorf("calls shows a number unmasked (or none):\n%s", out)
	}
	var id string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "411") {
			id = strings.Fields(strings.TrimSpace(line))[0]
		}
	}
	c.typeLine("optout " + id)
	c.wait("Opted out:", 10*time.Second)
	c.wait("tech@callrec> ", 5*time.Second)
	wait()
	b.checkOptedOut(id)

	// A network change that nobody confirms comes back by itself.
	c.typeLine("set network static 192.0.2.10/24 192.0.2.1 192.0.2.53")
	c.wait("Type confirm within 2s", 5*time.Second)
	c.wait("Reverted to the old settings.", 10*time.Second)
	c.typeLine("")
	c.typeLine("show network")
	c.wait("DHCP", 5*time.Second)
	if !strings.Contains(stderr.String(), "network settings reverted (simulated)") {
		t.Error("the daemon's log does not show the revert")
	}

	// A held call stops a factory reset, after both confirmations.
	var held string
	for _, s := range b.calls() {
		if s.ID != id {
			held = s.ID
		}
	}
	b.must("hold", "-call", held, "-reason", "complaint 9")
	c.typeLine("factory-reset")
	c.wait("[y/N]", 5*time.Second)
	c.typeLine("y")
	c.wait("Press the front panel's button", 5*time.Second)
	syscall.Kill(b.pid, syscall.SIGUSR1) // the simulated board's button
	c.wait("under a legal hold: 1 held", 10*time.Second)
	if cs := b.calls(); len(cs) != 2 {
		t.Errorf("after the refused reset: %d calls", len(cs))
	}
	c.typeLine("exit")
	c.wait("login: ", 5*time.Second)
	log := b.must("audit", "list")
	for _, action := range []string{"console-signin", "optout", "network-set", "network-revert", "factory-reset-refused", "console-signout"} {
		if !strings.Contains(log, `"action":"`+action+`"`) {
			t.Errorf("the audit log lacks %s", action)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("daemon exit: %v", err)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
