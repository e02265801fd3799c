// Package console is the technician's serial console: a banner, a
// sign-in for technician accounts (lockout and audit as on the web page),
// and the appliance's commands with line editing, history and tab
// completion (golang.org/x/term's Terminal). Every command answers in
// plain text and waits for no network. No audio, and no phone number but
// its last three digits, ever reaches the console.
//
// The console runs over any io.ReadWriter: a serial port (go.bug.st/serial
// on the box), a USB gadget, the simulated board's pty, or an in-memory
// pipe in tests.
package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"golang.org/x/term"

	"callrec/firmware/optout"
	"callrec/firmware/privacy"
	"callrec/firmware/users"
	"callrec/hal"
	"callrec/recorder/pipeline"
	"callrec/storage/archive"
	"callrec/storage/index"
)

// Users are the accounts (firmware/users).
type Users interface {
	SignIn(name, password, code string) (index.User, error)
	ChangePassword(name, old, pw string) error
	Reset(by, name string) (string, error)
	List() ([]index.User, error)
}

// Banner is what the console shows before its sign-in.
type Banner struct {
	Product, Version, Serial string
	Addresses                []string
	Time                     time.Time
	Synced                   bool
	MaxError                 time.Duration
	Recording                string // "3 calls in progress, 2 recording"
	Disk                     string // "412 GB free, 190 days left"
	Fingerprint              string // the web certificate's SHA-256
}

// PortCheck is what one capture port saw over a window.
type PortCheck struct {
	Port           string
	Packets, Drops uint64
	SIP, RTP       uint64
	Seconds        float64
}

// Updater installs and rolls back firmware (firmware/update).
type Updater interface {
	Status() string
	Apply(who, path string) (string, error)
	Rollback(who string) error
}

// Keys is the keys' side of the archive.
type Keys interface {
	Status() (string, error)
	ExportRecovery(acc archive.Access, passphrase, path string) error
}

// Config is what the console works with. A nil function's command says
// it is not available on this box.
type Config struct {
	Users Users
	Audit func(who, action, target, why string) error

	Banner   func() Banner
	Status   func() string
	Live     func() []pipeline.LiveCall
	OptOut   func(acc archive.Access, trigger, id string) (optout.Result, error)
	Network  hal.Network
	Clock    hal.Clock
	Ping     func(ctx context.Context, host string, w io.Writer) error
	Log      func(n int) []string
	Disk     func() string
	Faults   func() []string
	AckFault func(who string) error
	LEDTest  func(ctx context.Context) error
	Capture  func(ctx context.Context, window time.Duration) ([]PortCheck, error)
	Keys     Keys
	Update   Updater
	// Power asks for a reboot or a shutdown ("reboot", "shutdown"): the
	// daemon stops cleanly first.
	Power func(action string) error
	// FactoryReset crypto-shreds every recording; it refuses, saying how
	// many, when any call is held.
	FactoryReset func(who string) error
	Button       hal.Button // the front panel's, which a factory reset needs pressed

	// ConfirmWindow is how long a network change waits for its
	// confirmation before it reverts (default 60 s); ButtonWindow how
	// long a factory reset waits for the button (default 10 s).
	ConfirmWindow, ButtonWindow time.Duration
	// CaptureWindow is how long `capture check` watches (default 10 s).
	CaptureWindow time.Duration
	// IdleTimeout signs a session out when no key is pressed for so long
	// (default 15 min).
	IdleTimeout time.Duration
}

// Console serves the console.
type Console struct {
	cfg  Config
	cmds map[string]command
}

type command struct {
	args, help string
	run        func(ctx context.Context, s *session, args []string) error
}

// session is one signed-in technician on one terminal.
type session struct {
	t   *term.Terminal
	who string
}

func (s *session) say(format string, a ...any) { fmt.Fprintf(s.t, format+"\n", a...) }

// New makes the console.
func New(cfg Config) *Console {
	if cfg.ConfirmWindow <= 0 {
		cfg.ConfirmWindow = 60 * time.Second
	}
	if cfg.ButtonWindow <= 0 {
		cfg.ButtonWindow = 10 * time.Second
	}
	if cfg.CaptureWindow <= 0 {
		cfg.CaptureWindow = 10 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 15 * time.Minute
	}
	c := &Console{cfg: cfg}
	c.cmds = c.commands()
	return c
}

// errUnavailable: the command has nothing to act on in this box.
var errUnavailable = errors.New("not available on this box")

// ErrExit ends a session.
var errExit = errors.New("exit")

// Serve runs sessions on rw, one after another, until ctx is done or rw
// fails (a serial port is always there: a session's end is followed by
// the banner again). A session with no key pressed for IdleTimeout is
// signed out.
func (c *Console) Serve(ctx context.Context, rw io.ReadWriter) error {
	in := pump(rw)
	for ctx.Err() == nil {
		port := &sessionPort{in: in, w: rw}
		t := term.NewTerminal(port, "")
		c.banner(t)
		who, err := c.signIn(t)
		if err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			fmt.Fprintf(t, "%v\n\n", err)
			continue
		}
		port.idle = c.cfg.IdleTimeout
		err = c.session(ctx, t, who)
		switch {
		case errors.Is(err, errIdle):
			c.cfg.Audit(who, "console-idle", who, fmt.Sprintf("signed out after %v without a key pressed", c.cfg.IdleTimeout))
			fmt.Fprintf(t, "\nSigned out after %v without a key pressed.\n", c.cfg.IdleTimeout)
		case err == nil, errors.Is(err, errExit):
		case errors.Is(err, io.EOF) || ctx.Err() != nil:
			return nil
		default:
			return err
		}
	}
	return nil
}

// errIdle ends a session nobody types in.
var errIdle = errors.New("idle")

// input carries the port's bytes to the sessions: the port is read by
// one goroutine for the console's life, so that a session can end on its
// own (idle) while the read goes on.
type input struct {
	ch      chan []byte
	pending []byte
}

func pump(r io.Reader) *input {
	in := &input{ch: make(chan []byte, 16)}
	go func() { // until the port fails or is closed
		defer close(in.ch)
		for {
			b := make([]byte, 256)
			n, err := r.Read(b)
			if n > 0 {
				in.ch <- b[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	return in
}

// sessionPort is the port as one session's terminal sees it: reads end
// with errIdle after idle without input (0: never), and io.EOF when the
// port is gone.
type sessionPort struct {
	in   *input
	w    io.Writer
	idle time.Duration
}

func (p *sessionPort) Write(b []byte) (int, error) { return p.w.Write(b) }

func (p *sessionPort) Read(b []byte) (int, error) {
	if len(p.in.pending) == 0 {
		var timeout <-chan time.Time
		if p.idle > 0 {
			t := time.NewTimer(p.idle)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case chunk, ok := <-p.in.ch:
			if !ok {
				return 0, io.EOF
			}
			p.in.pending = chunk
		case <-timeout:
			return 0, errIdle
		}
	}
	n := copy(b, p.in.pending)
	p.in.pending = p.in.pending[n:]
	return n, nil
}

func (c *Console) banner(t *term.Terminal) {
	if c.cfg.Banner == nil {
		fmt.Fprintf(t, "\ncallrec\n\n")
		return
	}
	b := c.cfg.Banner()
	fmt.Fprintf(t, "\n%s %s   serial %s\n", b.Product, b.Version, b.Serial)
	fmt.Fprintf(t, "addresses  %s\n", strings.Join(b.Addresses, ", "))
	sync := "NOT synchronised"
	if b.Synced {
		sync = fmt.Sprintf("synchronised, max error %v", b.MaxError)
	}
	fmt.Fprintf(t, "time       %s (%s)\n", b.Time.Format("2006-01-02 15:04:05 MST"), sync)
	fmt.Fprintf(t, "recording  %s\n", b.Recording)
	fmt.Fprintf(t, "disk       %s\n", b.Disk)
	fmt.Fprintf(t, "web cert   SHA-256 %s\n\n", b.Fingerprint)
}

// refusal is a sign-in refused, as the console says it.
type refusal string

func (r refusal) Error() string { return string(r) }

// signIn asks for a technician's name and password (and code, if the
// account has one). Lockout and the audit entries are the users
// service's, as on the web page. A one-time password must be changed
// before the first command.
func (c *Console) signIn(t *term.Terminal) (string, error) {
	t.SetPrompt("login: ")
	name, err := t.ReadLine()
	if err != nil {
		return "", err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return "", refusal("")
	}
	pw, err := t.ReadPassword("password: ")
	if err != nil {
		return "", err
	}
	u, err := c.cfg.Users.SignIn(name, pw, "")
	if errors.Is(err, users.ErrCodeNeeded) {
		var code string
		if code, err = t.ReadPassword("authenticator code: "); err != nil {
			return "", err
		}
		u, err = c.cfg.Users.SignIn(name, pw, strings.TrimSpace(code))
	}
	switch {
	case errors.Is(err, users.ErrLocked):
		return "", refusal("This account is locked after repeated failed sign-ins; try again later.")
	case err != nil:
		return "", refusal("Sign-in refused.")
	case u.Role != users.Technician:
		c.cfg.Audit(u.Name, "console-refused", u.Name, "not a technician's account")
		return "", refusal("This account is for the web page; the console is for technicians.")
	}
	if u.MustChange {
		fmt.Fprintf(t, "Your password is a one-time password: choose your own.\n")
		for {
			p1, err := t.ReadPassword("new password: ")
			if err != nil {
				return "", err
			}
			p2, err := t.ReadPassword("the same again: ")
			if err != nil {
				return "", err
			}
			if p1 != p2 {
				fmt.Fprintf(t, "They differ.\n")
				continue
			}
			if err := c.cfg.Users.ChangePassword(u.Name, pw, p1); err != nil {
				fmt.Fprintf(t, "%s\n", strings.TrimPrefix(err.Error(), "users: "))
				continue
			}
			break
		}
	}
	c.cfg.Audit(u.Name, "console-signin", u.Name, "serial console")
	return u.Name, nil
}

func (c *Console) session(ctx context.Context, t *term.Terminal, who string) error {
	s := &session{t: t, who: who}
	defer c.cfg.Audit(who, "console-signout", who, "")
	names := make([]string, 0, len(c.cmds))
	for n := range c.cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	t.AutoCompleteCallback = func(line string, pos int, key rune) (string, int, bool) {
		if key != '\t' || pos != len(line) {
			return "", 0, false
		}
		var match []string
		for _, n := range names {
			if strings.HasPrefix(n, line) && n != line {
				match = append(match, n)
			}
		}
		switch {
		case len(match) == 1:
			return match[0] + " ", len(match[0]) + 1, true
		case len(match) > 1:
			p := commonPrefix(match)
			if len(p) > len(line) {
				return p, len(p), true
			}
			fmt.Fprintf(t, "%s\n", strings.Join(match, "  "))
		}
		return "", 0, false
	}
	t.SetPrompt(who + "@callrec> ")
	s.say("Signed in as %s. Type help for the commands.", who)
	for ctx.Err() == nil {
		line, err := t.ReadLine()
		if err != nil {
			return err
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		name, args := f[0], f[1:]
		if len(f) > 1 && (name == "show" || name == "set" || name == "ack" || name == "leds" || name == "capture" || name == "keys" || name == "update") {
			name, args = f[0]+" "+f[1], f[2:]
		}
		cmd, ok := c.cmds[name]
		if !ok {
			s.say("Unknown command %q. Type help.", name)
			continue
		}
		if err := cmd.run(ctx, s, args); err != nil {
			if errors.Is(err, errExit) || errors.Is(err, errIdle) || errors.Is(err, io.EOF) {
				return err
			}
			s.say("%s: %v", name, err)
		}
	}
	return ctx.Err()
}

func commonPrefix(ss []string) string {
	p := ss[0]
	for _, s := range ss[1:] {
		for !strings.HasPrefix(s, p) {
			p = p[:len(p)-1]
		}
	}
	return p
}

// ask asks a yes/no question; only y or yes is yes.
func (s *session) ask(question string) (bool, error) {
	s.t.SetPrompt(question + " [y/N] ")
	defer s.t.SetPrompt(s.who + "@callrec> ")
	a, err := s.t.ReadLine()
	if err != nil {
		return false, err
	}
	a = strings.ToLower(strings.TrimSpace(a))
	return a == "y" || a == "yes", nil
}

// mask writes a party for the console: an extension as it is, a number
// with its last three digits only.
func mask(p string) string { return privacy.MaskNumbers(p) }

func partyText(e164, ext, raw string) string {
	switch {
	case ext != "":
		return "ext. " + ext
	case e164 != "":
		return mask(e164)
	}
	return mask(raw)
}
