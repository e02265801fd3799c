package appliance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"

	"callrec/firmware/console"
	"callrec/firmware/optout"
	"callrec/firmware/panel"
	"callrec/firmware/status"
	"callrec/firmware/users"
	"callrec/hal"
	"callrec/recorder/pipeline"
	"callrec/storage/archive"
)

// counted is a capture source that counts its frames, for `capture
// check`.
type counted struct {
	Source
	name    string
	packets atomic.Uint64
}

func (c *counted) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	b, ci, err := c.Source.ReadPacketData()
	if err == nil {
		c.packets.Add(1)
	}
	return b, ci, err
}

// Drops passes the kernel's counters through, when the source has them.
func (c *counted) Drops() (received, dropped uint64, err error) {
	if d, ok := c.Source.(interface {
		Drops() (uint64, uint64, error)
	}); ok {
		return d.Drops()
	}
	return 0, 0, nil
}

// ports are the capture ports open now.
type ports struct {
	mu   sync.Mutex
	open []*counted
}

func (p *ports) add(c *counted) {
	p.mu.Lock()
	p.open = append(p.open, c)
	p.mu.Unlock()
}

func (p *ports) list() []*counted {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*counted(nil), p.open...)
}

// check watches the ports for window: frames and kernel drops per port,
// SIP messages and RTP packets over all of them (the tracker counts them
// together; with one SPAN port they are its own).
func (p *ports) check(ctx context.Context, window time.Duration, pl *pipeline.Pipeline) ([]console.PortCheck, error) {
	type snap struct{ packets, drops uint64 }
	take := func() ([]snap, uint64, uint64) {
		var out []snap
		for _, c := range p.list() {
			_, d, _ := c.Drops()
			out = append(out, snap{c.packets.Load(), d})
		}
		st := pl.Stats().Track
		return out, st.SIPMessages, st.RTPPackets
	}
	before, sip0, rtp0 := take()
	start := time.Now()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(window):
	}
	after, sip1, rtp1 := take()
	secs := time.Since(start).Seconds()
	var out []console.PortCheck
	list := p.list()
	for i := range min(len(before), len(after), len(list)) {
		pc := console.PortCheck{Port: list[i].name, Packets: after[i].packets - before[i].packets, Drops: after[i].drops - before[i].drops, Seconds: secs}
		if len(list) == 1 {
			pc.SIP, pc.RTP = sip1-sip0, rtp1-rtp0
		}
		out = append(out, pc)
	}
	if len(list) > 1 {
		var all console.PortCheck
		all.Port, all.Seconds, all.SIP, all.RTP = "all", secs, sip1-sip0, rtp1-rtp0
		for _, pc := range out {
			all.Packets += pc.Packets
			all.Drops += pc.Drops
		}
		out = append(out, all)
	}
	if len(out) == 0 {
		return nil, errors.New("no capture port is open")
	}
	return out, nil
}

// buttonMux shares the panel's button: a press goes to whoever claimed
// it (a factory reset waiting for its confirmation), else to the opt-out.
type buttonMux struct {
	mu      sync.Mutex
	claim   chan struct{}
	presses chan struct{}
}

func newButtonMux() *buttonMux { return &buttonMux{presses: make(chan struct{}, 1)} }

func (m *buttonMux) run(ctx context.Context, b hal.Button) error {
	for {
		if err := b.Wait(ctx); err != nil {
			return nil // ctx is done
		}
		m.mu.Lock()
		to := m.presses
		if m.claim != nil {
			to = m.claim
		}
		m.mu.Unlock()
		select {
		case to <- struct{}{}:
		default:
		}
	}
}

// Wait is the opt-out's button.
func (m *buttonMux) Wait(ctx context.Context) error {
	select {
	case <-m.presses:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// claimed is the button as a factory reset sees it: its press goes
// there alone.
type claimed struct{ m *buttonMux }

func (c claimed) Wait(ctx context.Context) error {
	ch := make(chan struct{}, 1)
	c.m.mu.Lock()
	c.m.claim = ch
	c.m.mu.Unlock()
	defer func() { c.m.mu.Lock(); c.m.claim = nil; c.m.mu.Unlock() }()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// keys is the archive's keys for the console.
type keys struct{ a *archive.Archive }

func (k keys) Status() (string, error) { return k.a.KeysStatus() }
func (k keys) ExportRecovery(acc archive.Access, passphrase, path string) error {
	return k.a.ExportRecoveryFile(acc, passphrase, path)
}

// ping reaches a host with the system's ping (3 echo requests).
func ping(ctx context.Context, host string, w io.Writer) error {
	cmd := exec.CommandContext(ctx, "ping", "-c", "3", "-W", "2", "--", host)
	cmd.Stdout, cmd.Stderr = w, w
	return cmd.Run()
}

// consoleConfig is the technician's console over the box's parts.
func consoleConfig(c Config, a *archive.Archive, col *status.Collector, pnl *panel.Panel, p *pipeline.Pipeline, opt *optout.Service,
	reset *resetFault, warnings func() []string, capture *ports, btn *buttonMux, updater console.Updater, fingerprint func() string) console.Config {
	snap := func() status.Snapshot { return col.Snapshot(time.Now()) }
	return console.Config{
		Users: users.New(a.Index(), nil), Audit: a.Audit,
		Banner: func() console.Banner {
			s := snap()
			b := console.Banner{Product: "callrec call recorder", Version: c.Version, Serial: c.Serial, Addresses: addresses(), Time: time.Now(),
				Recording: fmt.Sprintf("%d calls in progress, %d recording", s.Calls, s.Recording),
				Disk:      fmt.Sprintf("%d MB free, reserve %d MB, %s", s.Disk.FreeMB, s.Disk.ReserveMB, daysLeft(s.Disk.DaysLeft))}
			if c.Clock != nil {
				b.Synced, b.MaxError, _ = c.Clock.Sync()
			}
			if fingerprint != nil {
				b.Fingerprint = fingerprint()
			}
			return b
		},
		Status: func() string {
			s := snap()
			var b strings.Builder
			fmt.Fprintf(&b, "version    %s\ncapture    %s\ncalls      %d in progress, %d recording\n", s.Version, strings.Join(s.Interfaces, ", "), s.Calls, s.Recording)
			fmt.Fprintf(&b, "disk       %d MB free, reserve %d MB, %s\n", s.Disk.FreeMB, s.Disk.ReserveMB, daysLeft(s.Disk.DaysLeft))
			if s.LEDs != nil {
				l := s.LEDs
				fmt.Fprintf(&b, "LEDs       status %s, rec %s, opt-out %s, fault %s (red %v)\n", l.Status, l.Rec, l.OptOut, l.Fault, l.FaultRed)
			}
			fmt.Fprintf(&b, "faults     %s\nwarnings   %s\n", orNone(s.Faults), orNone(s.Warnings))
			if s.Audit != nil {
				fmt.Fprintf(&b, "audit      entry %d, %s\n", s.Audit.Seq, s.Audit.Hash)
			}
			return b.String()
		},
		Live: p.Live,
		OptOut: func(acc archive.Access, trigger, id string) (optout.Result, error) {
			return opt.OptOut(acc, trigger, id)
		},
		Network: c.Network,
		Clock:   c.Clock,
		Ping:    ping,
		Log:     c.LogTail,
		Disk: func() string {
			d := a.Disk(time.Now())
			return fmt.Sprintf("free      %d MB of %d MB\nreserve   %d MB (new recordings stop below it)\nrate      %.0f MB a day over the last week\nleft      %s",
				d.FreeBytes>>20, d.TotalBytes>>20, d.ReserveBytes>>20, d.BytesPerDay/(1<<20), daysLeft(d.DaysLeft))
		},
		Faults: func() []string {
			s := snap()
			return append(append([]string(nil), s.Faults...), warnings()...)
		},
		AckFault: reset.Ack,
		LEDTest:  func(ctx context.Context) error { return pnl.Test(ctx, time.Second) },
		Capture: func(ctx context.Context, window time.Duration) ([]console.PortCheck, error) {
			return capture.check(ctx, window, p)
		},
		Keys:   keys{a},
		Update: updater,
		Power:  c.Power,
		FactoryReset: func(who string) error {
			_, err := a.FactoryReset(archive.Access{Who: who, Why: "factory reset from the serial console, confirmed at the panel"})
			return err
		},
		Button:        claimed{btn},
		ConfirmWindow: c.ConfirmWindow,
		CaptureWindow: c.CaptureWindow,
	}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func daysLeft(d float64) string {
	if d < 0 {
		return "days left unknown (no recent recording)"
	}
	return fmt.Sprintf("about %.0f days left at the recent rate", d)
}

// addresses are the box's IP addresses, loopback aside.
func addresses() []string {
	var out []string
	as, _ := net.InterfaceAddrs()
	for _, a := range as {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() {
			out = append(out, n.String())
		}
	}
	if len(out) == 0 {
		out = []string{"none"}
	}
	return out
}

// healthCheck is a trial boot's: capture open on every port, the vault
// writes and reads, the web page answers, the console is up. It returns
// nil once all hold, or why not when the time is up.
func healthCheck(ctx context.Context, within time.Duration, checks map[string]func() error) error {
	deadline := time.Now().Add(within)
	for {
		var failed []string
		for name, check := range checks {
			if err := check(); err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v", name, err))
			}
		}
		if len(failed) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New(strings.Join(failed, "; "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// webAnswers asks the page for its sign-in, over HTTPS on loopback.
func webAnswers(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	cl := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // our own page, on loopback
	resp, err := cl.Get("https://127.0.0.1:" + port + "/signin")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("sign-in page: %s", resp.Status)
	}
	return nil
}

// trial runs a trial boot's health check: healthy, the firmware becomes
// current; not within a minute, it is abandoned and the box reboots into
// the one before.
func trial(ctx context.Context, c Config, a *archive.Archive, page *webPage, opened *atomic.Int32, consoleUp *atomic.Bool, log *slog.Logger) error {
	checks := map[string]func() error{
		"capture": func() error {
			if int(opened.Load()) < len(c.Interfaces) {
				return errors.New("not every port is open")
			}
			return nil
		},
		"vault": a.SelfTest,
	}
	if page != nil {
		checks["web page"] = func() error { return webAnswers(page.ln.Addr().String()) }
	}
	if c.Console != nil {
		checks["console"] = func() error {
			if !consoleUp.Load() {
				return errors.New("not serving")
			}
			return nil
		}
	}
	if healthFault != nil {
		checks["build"] = func() error { return healthFault }
	}
	within := c.HealthWindow
	if within <= 0 {
		within = time.Minute
	}
	err := healthCheck(ctx, within, checks)
	if ctx.Err() != nil {
		return nil
	}
	if err == nil {
		if err := c.Slots.MarkGood(); err != nil {
			log.Error("the trial firmware passed its health check but could not be kept", "err", err)
			return nil
		}
		a.Audit("system", "update-good", c.Version, "trial boot healthy: capture, vault, web page, console")
		log.Info("firmware update kept: the trial boot is healthy", "version", c.Version)
		return nil
	}
	log.Error("the trial firmware failed its health check: rolling back", "version", c.Version, "err", err)
	a.Audit("system", "update-rollback", c.Version, "trial boot failed its health check: "+err.Error())
	if aerr := c.Slots.Abandon(); aerr != nil {
		log.Error("rollback not recorded", "err", aerr)
	}
	if c.Power != nil {
		return c.Power("reboot")
	}
	return nil
}

// healthFault fails every health check: set only in a test build
// (failhealth.go, tag callrec_failhealth).
var healthFault error
