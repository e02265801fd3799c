package console_test

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"callrec/firmware/console"
	"callrec/firmware/console/consoletest"
	"callrec/firmware/optout"
	"callrec/firmware/users"
	"callrec/hal"
	"callrec/hal/haltest"
	"callrec/recorder/pipeline"
	"callrec/recorder/track"
	"callrec/storage/archive"
	"callrec/storage/index"
)

const pw = "a long test passphrase"

// screen is the technician's end of an in-memory terminal.
type screen struct {
	*consoletest.Screen
	conn net.Conn
}

func (s *screen) typeLine(line string) { s.Type(line) }
func (s *screen) wait(text string) string {
	s.Screen.T().Helper()
	return s.Wait(text, 5*time.Second)
}

type net_ struct {
	mu      sync.Mutex
	now     hal.NetSettings
	changes []hal.NetSettings
}

func (n *net_) Show() (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.now.DHCP {
		return "eth0 dhcp", nil
	}
	return "eth0 " + n.now.Address + " gw " + n.now.Gateway + " dns " + n.now.DNS, nil
}

func (n *net_) Set(s hal.NetSettings) (func() error, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	old := n.now
	n.now = s
	n.changes = append(n.changes, s)
	return func() error { n.mu.Lock(); n.now = old; n.mu.Unlock(); return nil }, nil
}

type rig struct {
	*screen
	ix      *index.Index
	users   *users.Service
	net     *net_
	button  *haltest.Button
	optouts []string
	power   []string
	reset   int
	cancel  context.CancelFunc
	done    chan error
}

// start serves a console over an in-memory pipe, with a real users
// service over a real index, and a technician account "tech".
func start(t *testing.T, edit func(*console.Config)) *rig {
	t.Helper()
	ix, err := index.Open(filepath.Join(t.TempDir(), "index.db"), index.Options{Key: make([]byte, index.KeySize), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	us := users.New(ix, nil)
	for name, role := range map[string]string{"tech": users.Technician, "boss": users.HeadOfIG} {
		once, err := us.Add("installer", name, role)
		if err != nil {
			t.Fatal(err)
		}
		if name == "tech" {
			if err := us.ChangePassword(name, once, pw); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := &rig{ix: ix, users: us, net: &net_{now: hal.NetSettings{DHCP: true}}, button: &haltest.Button{}, done: make(chan error, 1)}
	audit := func(who, action, target, why string) error {
		_, err := ix.Audit(index.Entry{Who: who, Action: action, Target: target, Why: why})
		return err
	}
	cfg := console.Config{
		Users: us, Audit: audit,
		Banner: func() console.Banner {
			return console.Banner{Product: "callrec", Version: "1.2.3", Serial: "CR-0042", Addresses: []string{"192.0.2.10/24"}, Time: time.Now(),
				Synced: true, MaxError: 3 * time.Millisecond, Recording: "1 call in progress", Disk: "100 GB free", Fingerprint: "ab:cd"}
		},
		Status: func() string { return "capture: eth1 up\nrecording: 1" },
		Live: func() []pipeline.LiveCall {
			return []pipeline.LiveCall{{ID: "c1", Start: time.Now(), Direction: "inbound",
				From: track.Party{Raw: "01632960001", E164: "+441632960001"}, To: track.Party{Raw: "201", Extension: "201"}}}
		},
		OptOut: func(acc archive.Access, trigger, id string) (optout.Result, error) {
			if id != "c1" {
				return optout.Result{}, errors.New("no such call in progress")
			}
			r.optouts = append(r.optouts, acc.Who+" "+trigger+" "+id)
			return optout.Result{Calls: []string{id}, Stopped: time.Millisecond, Done: 50 * time.Millisecond}, nil
		},
		Network: r.net,
		Clock:   &haltest.Clock{},
		Log: func(n int) []string {
			return []string{"level=INFO msg=call number=+441632960001", "level=INFO msg=done"}[:min(n, 2)]
		},
		Faults: func() []string { return nil },
		Ping: func(_ context.Context, host string, w io.Writer) error {
			_, err := io.WriteString(w, "3 replies from "+host+"\n")
			return err
		},
		Power: func(a string) error { r.power = append(r.power, a); return nil },
		FactoryReset: func(who string) error {
			r.reset++
			return nil
		},
		Button:        r.button,
		ConfirmWindow: 300 * time.Millisecond, ButtonWindow: 300 * time.Millisecond,
	}
	if edit != nil {
		edit(&cfg)
	}
	a, b := net.Pipe()
	r.screen = &screen{Screen: consoletest.New(t, b), conn: b}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- console.New(cfg).Serve(ctx, a) }()
	t.Cleanup(func() { cancel(); a.Close(); b.Close() })
	return r
}

func (r *rig) signIn() {
	r.wait("login: ")
	r.typeLine("tech")
	r.wait("password: ")
	r.typeLine(pw)
	r.wait("tech@callrec> ")
}

func TestBannerAndSignIn(t *testing.T) {
	r := start(t, nil)
	banner := r.wait("login: ")
	for _, want := range []string{"callrec 1.2.3", "serial CR-0042", "192.0.2.10/24", "synchronised", "1 call in progress", "100 GB free", "ab:cd"} {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner lacks %q:\n%s", want, banner)
		}
	}
	r.typeLine("tech")
	r.wait("password: ")
	r.typeLine("wrong password here")
	r.wait("Sign-in refused.")
	r.wait("login: ")
	r.typeLine("boss") // a web account: refused whatever the password
	r.wait("password: ")
	r.typeLine("x")
	r.wait("Sign-in refused.")
	r.signIn()
	if strings.Contains(r.All(), pw) {
		t.Error("the password was echoed")
	}
	r.typeLine("exit")
	r.wait("login: ")
	log, _ := r.ix.AuditLog()
	var in, out bool
	for _, e := range log {
		in = in || e.Action == "console-signin" && e.Who == "tech"
		out = out || e.Action == "console-signout" && e.Who == "tech"
	}
	if !in || !out {
		t.Errorf("sign-in %v, sign-out %v in the audit log", in, out)
	}
}

func TestLockout(t *testing.T) {
	r := start(t, nil)
	for range 5 {
		r.wait("login: ")
		r.typeLine("tech")
		r.wait("password: ")
		r.typeLine("not the password")
	}
	r.wait("login: ")
	r.typeLine("tech")
	r.wait("password: ")
	r.typeLine(pw)
	r.wait("locked")
}

func TestCommands(t *testing.T) {
	r := start(t, nil)
	r.signIn()
	r.typeLine("status")
	r.wait("capture: eth1 up")
	r.typeLine("calls")
	out := r.wait("ext. 201")
	if strings.Contains(out, "1632960001") || !strings.Contains(out, "001") || !strings.Contains(out, "ext. 201") {
		t.Errorf("calls shows a number unmasked, or no party:\n%s", out)
	}
	r.typeLine("optout c1")
	r.wait("Opted out: 1 call(s)")
	if len(r.optouts) != 1 || r.optouts[0] != "tech console c1" {
		t.Errorf("opt-outs: %q", r.optouts)
	}
	r.typeLine("optout ../etc")
	r.wait("usage: optout CALL")
	r.typeLine("show log 5")
	if out := r.wait("msg=done"); strings.Contains(out, "1632960001") {
		t.Errorf("the log shows a number unmasked:\n%s", out)
	}
	r.typeLine("show time")
	r.wait("synchronised (NTP)")
	r.typeLine("show faults")
	r.wait("No fault.")
	r.typeLine("ping bad;host")
	r.wait("usage: ping HOST")
	r.typeLine("ping 192.0.2.1")
	r.wait("3 replies from 192.0.2.1")
	r.typeLine("frobnicate")
	r.wait(`Unknown command "frobnicate"`)
	r.typeLine("help")
	r.wait("factory-reset")
	// Tab completes a command.
	r.Keys("capt\t")
	r.wait("capture check")
	r.typeLine("")
}

func TestNetworkConfirmOrRevert(t *testing.T) {
	r := start(t, nil)
	r.signIn()
	r.typeLine("set network static 192.0.2.10/24 192.0.2.1 192.0.2.53")
	r.wait("Type confirm within")
	r.typeLine("confirm")
	r.wait("Kept.")
	if s, _ := r.net.Show(); !strings.Contains(s, "192.0.2.10/24") {
		t.Errorf("after confirm: %s", s)
	}
	r.typeLine("set network dhcp")
	r.wait("Type confirm within")
	r.wait("No confirmation") // the window passes
	r.wait("Reverted to the old settings.")
	if s, _ := r.net.Show(); !strings.Contains(s, "192.0.2.10/24") {
		t.Errorf("after the revert: %s", s)
	}
	r.typeLine("")
	r.typeLine("set network static 192.0.2.0/24 192.0.2.1 192.0.2.53")
	r.wait("not a host address")
	r.typeLine("set network static 192.0.2.10/24 198.51.100.1 192.0.2.53")
	r.wait("must be another address in 192.0.2.0/24")
}

// factoryReset asks for a factory reset and answers its question; with a
// yes, it waits for the console to ask for the button.
func (r *rig) factoryReset(answer string) {
	r.typeLine("factory-reset")
	r.wait("[y/N]")
	r.typeLine(answer)
	if answer != "" {
		r.wait("Press the front panel's button")
	}
}

func TestFactoryResetNeedsTheButton(t *testing.T) {
	r := start(t, nil)
	r.signIn()
	r.factoryReset("")
	r.wait("Nothing was changed.")
	r.factoryReset("y")
	r.wait("was not pressed: nothing was changed")
	if r.reset != 0 {
		t.Fatal("reset without the button")
	}
	r.factoryReset("yes")
	r.button.Press()
	r.wait("Every recording was destroyed")
	if r.reset != 1 || len(r.power) != 1 || r.power[0] != "reboot" {
		t.Errorf("reset %d, power %q", r.reset, r.power)
	}
}

func TestFactoryResetRefusedWhileHeld(t *testing.T) {
	r := start(t, func(c *console.Config) {
		c.FactoryReset = func(string) error { return errors.New("refused: 2 calls are under a legal hold") }
	})
	r.signIn()
	r.factoryReset("y")
	r.button.Press()
	r.wait("2 calls are under a legal hold")
}

func TestResetAdmin(t *testing.T) {
	r := start(t, nil)
	r.signIn()
	r.typeLine("reset-admin")
	r.wait("Give boss a new one-time password")
	r.typeLine("y")
	out := r.wait("they choose their own")
	i := strings.Index(out, "One-time password for boss: ")
	if i < 0 {
		t.Fatalf("no password shown:\n%s", out)
	}
	once := strings.Fields(out[i+len("One-time password for boss: "):])[0]
	if _, err := r.users.SignIn("boss", once, ""); err != nil {
		t.Errorf("the new one-time password does not sign in: %v", err)
	}
}

func TestUnavailableCommandsSaySo(t *testing.T) {
	r := start(t, func(c *console.Config) { c.Update = nil; c.Keys = nil })
	r.signIn()
	r.typeLine("update status")
	r.wait("not available on this box")
}

func TestRing(t *testing.T) {
	r := console.NewRing(3)
	for _, s := range []string{"one\ntwo\n", "thr", "ee\nfour\nfive"} {
		r.Write([]byte(s))
	}
	if got := strings.Join(r.Last(10), ","); got != "two,three,four" {
		t.Errorf("Last = %s", got)
	}
	if got := strings.Join(r.Last(1), ","); got != "four" {
		t.Errorf("Last(1) = %s", got)
	}
}

// TestIdleSignOut: a session nobody types in is signed out, audited, and
// the console is ready for the next sign-in.
func TestIdleSignOut(t *testing.T) {
	r := start(t, func(c *console.Config) { c.IdleTimeout = 300 * time.Millisecond })
	r.signIn()
	r.wait("Signed out after 300ms without a key pressed.")
	r.wait("login: ")
	r.typeLine("tech")
	r.wait("password: ")
	r.typeLine(pw)
	r.wait("tech@callrec> ")
	log, _ := r.ix.AuditLog()
	idle := false
	for _, e := range log {
		idle = idle || e.Action == "console-idle" && e.Who == "tech"
	}
	if !idle {
		t.Error("the idle sign-out is not in the audit log")
	}
}
