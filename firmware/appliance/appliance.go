package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"callrec/firmware/cases"
	"callrec/firmware/config"
	"callrec/firmware/console"
	"callrec/firmware/listen"
	"callrec/firmware/optout"
	"callrec/firmware/panel"
	"callrec/firmware/recording"
	"callrec/firmware/status"
	"callrec/firmware/update"
	"callrec/firmware/users"
	"callrec/firmware/web"
	"callrec/hal"
	"callrec/recorder/capture"
	"callrec/recorder/pipeline"
	"callrec/recorder/track"
	"callrec/storage/archive"
)

// Config is what the box runs with; a zero duration takes the default.
type Config struct {
	Box        config.Config // the configuration in force
	Interfaces []string      // capture interfaces
	Version    string
	// Capture opens a capture interface (a live socket on the box).
	Capture     func(iface string) (Source, error)
	Feed        time.Duration // watchdog feed interval (default 1 s)
	PurgeEvery  time.Duration // retention purge interval (default 24 h)
	StatusEvery time.Duration // status snapshot interval (default 5 s)
	// Listen and Redirect, if set, replace the configuration's [web]
	// addresses ("off": no page, or no redirect).
	Listen, Redirect string
	// Button is the panel's opt-out button, Clock the clock's
	// synchronisation (nil: none).
	Button hal.Button
	Clock  hal.Clock
	// ListenLoopback offers listen-in over the loopback interface too (a
	// browser on the box itself: the simulated board, tests).
	ListenLoopback bool
	// WatchdogReset: the last reboot was the watchdog's (the board says).
	WatchdogReset bool
	// FailBlink is how long a start-up failure's code blinks on the fault
	// LED before Run returns (default 30 s; negative: none).
	FailBlink time.Duration

	// Console is the technician's console port (nil: none); Serial is
	// the box's serial number, for its banner.
	Console hal.Serial
	Serial  string
	// Network is the management port's settings (nil: not settable).
	Network hal.Network
	// LogTail is the daemon's last log lines (nil: none).
	LogTail func(n int) []string
	// Power asks the daemon to stop and reboot or shut down ("reboot",
	// "shutdown"); nil: the console cannot.
	Power func(action string) error
	// ConfirmWindow is how long a network change waits for confirmation
	// (default 60 s); CaptureWindow how long `capture check` watches
	// (default 10 s).
	ConfirmWindow, CaptureWindow time.Duration
	// Slots are the firmware slots (nil: the box runs outside them, and
	// cannot be updated); Model is the board, which a bundle must name.
	Slots *update.Slots
	Model string
	// Trial: this firmware is on trial; once its health check passes it
	// becomes current, and if it fails the box rolls back (Power reboot).
	Trial bool
	// HealthWindow is how long a trial boot has to pass its health check
	// (default a minute).
	HealthWindow time.Duration
}

// Blink codes of start-up failures, on the fault LED (red): N pulses,
// then a pause.
const (
	codeKeys    = 2 // the key file: missing, wrong, or unreadable
	codeData    = 3 // the data directory, vault or index
	codeCapture = 4 // a capture interface would not open
	codeWeb     = 5 // the web page's port or certificate
	codeOther   = 6
)

// startError is a failure before the box is up, with its blink code.
type startError struct {
	code int
	err  error
}

func (e *startError) Error() string { return e.err.Error() }
func (e *startError) Unwrap() error { return e.err }

func failed(code int, err error) error { return &startError{code, err} }

// Source is an open capture interface.
type Source interface {
	pipeline.Source
	Close() error
}

// Run runs the box until ctx is done or a part fails: the lamp test, then
// every part; at the end every recording in progress is closed properly,
// the disk worker drains, and the fault LED shows whether it failed.
func Run(ctx context.Context, c Config, pnl *panel.Panel, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if c.Feed <= 0 {
		c.Feed = time.Second
	}
	if c.PurgeEvery <= 0 {
		c.PurgeEvery = 24 * time.Hour
	}
	if c.StatusEvery <= 0 {
		c.StatusEvery = 5 * time.Second
	}
	if len(c.Interfaces) == 0 {
		return errors.New("appliance: no capture interface")
	}
	if c.FailBlink == 0 {
		c.FailBlink = 30 * time.Second
	}
	log.Info("recorderd started", "version", c.Version)
	pnl.LampTest()
	pnl.Show(panel.Decide(panel.State{Starting: true}), 0)
	err := run(ctx, c, pnl, log)
	if err != nil {
		var se *startError
		if errors.As(err, &se) && c.FailBlink > 0 {
			log.Error("start-up failed: its code blinks on the fault LED", "code", se.code, "err", err)
			pnl.Blink(ctx, se.code, c.FailBlink)
		}
		pnl.Show(panel.Lights{Fault: panel.On, FaultRed: true}, 0)
		return err
	}
	pnl.Show(panel.Lights{}, 0)
	log.Info("recorderd stopping")
	return nil
}

func run(ctx context.Context, c Config, pnl *panel.Panel, log *slog.Logger) error {
	// Only the daemon's first start, on an empty data directory, makes a key.
	acfg := c.Box.Storage.Archive(recording.Format{})
	acfg.CreateKey = true
	a, err := archive.Open(acfg, log)
	if errors.Is(err, archive.ErrNoKeyFile) || errors.Is(err, archive.ErrWrongKey) {
		return failed(codeKeys, err)
	}
	if err != nil {
		return failed(codeData, err)
	}
	defer a.Close()
	if err := a.Lock(); err != nil {
		return failed(codeData, fmt.Errorf("run: %w", err))
	}
	if _, err := a.Recover(); err != nil {
		return failed(codeData, err)
	}
	if err := a.AuditConfig(c.Box); err != nil {
		log.Error("configuration change not audited", "err", err)
	}
	dnr, err := optout.LoadDoNotRecord(a.Index())
	if err != nil {
		log.Error("no call is recorded until the do-not-record list reads", "err", err)
	}
	// The opt-out code keyed on a call, from the practice's side: heard on
	// the capture goroutine, carried out on its own (the opt-out takes the
	// pipeline's lock).
	var opt *optout.Service
	codes := optout.NewCodes(c.Box.OptOut.Code, func(id, who string) {
		go func() {
			if _, err := opt.OptOut(archive.Access{Who: who, Why: "the opt-out code keyed during the call"}, "dtmf", id); err != nil {
				log.Warn("opt-out by DTMF not done", "call_id", id, "err", err)
			}
		}()
	})
	mixCfg := c.Box.Storage.Mix()
	mixCfg.OnDTMF = func(call *track.Call, digit string, left bool, at time.Time) {
		codes.Digit(call, digit, left == (call.Direction != track.Outbound), at) // the caller is on the left unless outbound
	}
	ears := listen.New(a.Audit, c.ListenLoopback, log)
	onEvent := func(e track.Event) {
		switch e.Kind {
		case track.DTMF:
			codes.Digit(e.Call, e.Digit, e.FromCaller, e.Time)
		case track.CallEnded:
			codes.Ended(e.Call)
			ears.EndCall(e.Call.ID, "the call ended")
		}
	}
	sink := recording.New(a, recording.Config{Mix: mixCfg, Track: c.Box.Calls.Track(), DoNotRecord: dnr, OnEvent: onEvent}, log)
	pcfg := sink.Pipeline()
	pcfg.OnRTP = func(st *track.Stream, fromCaller bool, d *capture.Datagram) {
		if !ears.Listening() || len(d.Payload) < 2 { // per packet: nothing more unless someone listens
			return
		}
		call := st.Leg().Call()
		codec, ok := st.Codec(d.Payload[1] & 0x7f)
		if !ok {
			return
		}
		ears.Packet(call.ID, fromCaller == (call.Direction != track.Outbound), codec.Name, d.Payload)
	}
	p := pipeline.New(pcfg, log)
	if _, err := sink.Resume(p, time.Now()); err != nil {
		log.Error("calls in progress at the last stop not resumed", "err", err)
	}

	wctx, stopWorker := context.WithCancel(context.Background())
	workerDone := make(chan error, 1)
	go func() { workerDone <- a.Run(wctx) }() // returns after stopWorker, with the queue drained

	col := &status.Collector{Version: c.Version, Interfaces: c.Interfaces, Archive: a, Pipeline: p, Attempts: sink}
	opt = optout.New(p, a, a.Index(), c.Box.OptOut.Mode, log)
	opt.Stopped = func(ids []string) {
		for _, id := range ids {
			ears.EndCall(id, "the call was opted out")
		}
	}
	reset := newResetFault(a.Index(), c.WatchdogReset, bootID())
	if reset.active() {
		log.Warn("the last reboot was the watchdog's: acknowledge it on the web page's status")
	}
	var updater *update.Service
	if c.Slots != nil {
		trust, err := update.Trusted()
		if err != nil {
			log.Error("the embedded firmware keys do not read: no update can be installed", "err", err)
		}
		updater = &update.Service{Slots: *c.Slots, Trust: trust, Model: c.Model, Running: c.Version, Audit: a.Audit, Log: log}
	}
	page, err := startWeb(c, a, col, pnl, opt, p, dnr, reset, ears, updater, log)
	if err != nil {
		stopWorker()
		<-workerDone
		return failed(codeWeb, err)
	}
	var cond conditions
	warnings := func() []string {
		_, w := cond.get()
		if reset.active() {
			w = append(w, warnWatchdog)
		}
		return w
	}
	var opened atomic.Int32 // capture interfaces open
	health := func() panel.Health {
		st := a.State()
		// Capture and the disk worker must both show progress: a stuck
		// daemon starves the watchdog and is rebooted; a quiet line is
		// not stuck (capture reports its timeouts).
		stalled := time.Since(p.Alive()) > 10*c.Feed+5*time.Second
		if w := a.WorkerAlive(); !w.IsZero() && time.Since(w) > 10*c.Feed+5*time.Second {
			stalled = true
		}
		low, _ := cond.get()
		return panel.Health{State: panel.State{
			Starting:     int(opened.Load()) < len(c.Interfaces),
			Recording:    st.Recording > 0,
			DiskLow:      low,
			OptOutRecent: opt.Lit(),
			Choosing:     opt.Choosing(),
			Warning:      len(warnings()) > 0,
			Critical:     st.DiskFull || st.Unwritable || stalled,
		}, Alive: !stalled}
	}
	col.Lights = pnl.Shown
	col.Warnings = warnings
	ports := &ports{}
	g, gctx := errgroup.WithContext(ctx)
	for _, iface := range c.Interfaces {
		g.Go(func() error { // returns when gctx is done, the source ends or the interface fails
			raw, err := c.Capture(iface)
			if err != nil {
				if opened.Load() == 0 {
					return failed(codeCapture, fmt.Errorf("run: %w", err))
				}
				return fmt.Errorf("run: %w", err)
			}
			defer raw.Close()
			src := &counted{Source: raw, name: iface}
			ports.add(src)
			opened.Add(1)
			log.Info("capturing", "iface", iface)
			if err := p.Run(gctx, src); err != nil {
				return fmt.Errorf("run: %s: %w", iface, err)
			}
			return nil
		})
	}
	dir := c.Box.Storage.DataDir
	g.Go(func() error { return pnl.Run(gctx, c.Feed, health) })                            // until gctx is done
	g.Go(func() error { return col.Run(gctx, dir, c.StatusEvery, log) })                   // until gctx is done
	g.Go(func() error { return a.WatchDisk(gctx, 5*time.Second) })                         // until gctx is done
	g.Go(func() error { return a.RunPurge(gctx, c.PurgeEvery) })                           // until gctx is done
	g.Go(func() error { return a.LogAuditHead(gctx, 24*time.Hour) })                       // until gctx is done
	g.Go(func() error { return opt.ServeRequests(gctx, a.Index(), 100*time.Millisecond) }) // until gctx is done
	g.Go(func() error {                                                                    // until gctx is done
		return cond.run(gctx, 5*time.Second, a, c.Clock, func() uint64 { return p.Stats().Capture.Packets + p.Stats().Kernel.Received }, log)
	})
	btn := newButtonMux()
	if c.Button != nil {
		g.Go(func() error { return btn.run(gctx, c.Button) })       // until gctx is done
		g.Go(func() error { return opt.RunButton(gctx, btn.Wait) }) // until gctx is done
	}
	var consoleUp atomic.Bool
	if c.Console != nil {
		var upd console.Updater
		if updater != nil {
			upd = updater
		}
		fp := func() string { return "" }
		if page != nil {
			fp = page.fingerprint
		}
		con := console.New(consoleConfig(c, a, col, pnl, p, opt, reset, warnings, ports, btn, upd, fp))
		g.Go(func() error { // until gctx is done: closing the port ends its read
			consoleUp.Store(true)
			err := con.Serve(gctx, c.Console)
			if gctx.Err() != nil {
				return nil
			}
			return err
		})
		g.Go(func() error { // a moment first: the console's last words ("Rebooting.") reach the terminal
			<-gctx.Done()
			time.Sleep(300 * time.Millisecond)
			return c.Console.Close()
		})
	}
	if c.Trial && c.Slots != nil {
		g.Go(func() error { return trial(gctx, c, a, page, &opened, &consoleUp, log) })
	}
	if page != nil {
		g.Go(func() error { return page.serve(gctx) }) // until gctx is done
	}
	err = g.Wait()
	// Finish what is in progress: every open recording is closed properly.
	p.Close("stopped")
	stopWorker()
	if werr := <-workerDone; werr != nil {
		err = errors.Join(err, werr)
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// webPage is the supervisors' page, listening.
type webPage struct {
	srv          *web.Server
	certs        *web.Certs
	ln, redirect net.Listener
}

func (p *webPage) serve(ctx context.Context) error { return p.srv.Serve(ctx, p.ln, p.redirect) }

func (p *webPage) fingerprint() string { return p.certs.Fingerprint() }

// startWeb makes the page and opens its listeners (nil when the page is
// off). The certificate is made at first start, and its fingerprint
// logged, shown in the status and on the console.
func startWeb(c Config, a *archive.Archive, col *status.Collector, pnl *panel.Panel, opt *optout.Service, pl *pipeline.Pipeline, dnr *optout.DoNotRecord, reset *resetFault, ears *listen.Service, updater *update.Service, log *slog.Logger) (*webPage, error) {
	w := c.Box.Web
	if c.Listen != "" {
		w.Listen = c.Listen
	}
	if c.Redirect != "" {
		w.Redirect = c.Redirect
	}
	if w.Listen == "" || w.Listen == "off" {
		return nil, nil
	}
	certs, made, err := web.LoadCerts(c.Box.Storage.DataDir, time.Now())
	if err != nil {
		return nil, err
	}
	if made {
		log.Info("web certificate made (self-signed)", "sha256", certs.Fingerprint())
	} else {
		log.Info("web certificate", "sha256", certs.Fingerprint())
	}
	col.Web = certs.Fingerprint
	phones, err := optout.LoadPhones(a.Index())
	if err != nil {
		log.Error("no phone key is accepted until the phones read", "err", err)
	}
	work := cases.New(cases.Config{Archive: a, Store: a.Index(), Plan: c.Box.Calls.Track().Plan, Practice: c.Box.Cases.Practice,
		Retention: c.Box.Storage.Retention(), DownloadDays: c.Box.Cases.DownloadDays})
	srv, err := web.New(web.Config{Archive: a, Notes: a.Index(), Users: users.New(a.Index(), log), Certs: certs,
		Cases: work, GrantAccess: c.Box.Access.Mode != cases.AccessOpen, Update: webUpdater(updater), Power: c.Power,
		Status: func() status.Snapshot { return col.Snapshot(time.Now()) },
		Plan:   c.Box.Calls.Track().Plan, Retention: c.Box.Storage.Retention(), Version: c.Version,
		IdleTimeout: w.IdleTimeout.Duration, MaxSession: w.MaxSession.Duration, Log: log,
		Live: pl.Live, OptOut: opt.OptOut, DoNotRecord: dnr, Phones: phones, Choosing: opt.Choosing, AckFault: reset.Ack, Listen: ears})
	if err != nil {
		return nil, err
	}
	p := &webPage{srv: srv, certs: certs}
	if p.ln, err = net.Listen("tcp", w.Listen); err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	if w.Redirect != "" && w.Redirect != "off" {
		if p.redirect, err = net.Listen("tcp", w.Redirect); err != nil {
			p.ln.Close()
			return nil, fmt.Errorf("web redirect: %w", err)
		}
	}
	log.Info("web page", "url", "https://"+p.ln.Addr().String()+"/")
	return p, nil
}

// webUpdater is the page's updater: none when the box runs outside the
// slots.
func webUpdater(u *update.Service) web.Updater {
	if u == nil {
		return nil
	}
	return u
}
