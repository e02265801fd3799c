package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"callrec/board"
	"callrec/firmware/appliance"
	"callrec/firmware/console"
	"callrec/firmware/panel"
	"callrec/firmware/update"
	"callrec/hal"
)

// runDaemon runs the appliance on a board until ctx is done. It makes its
// own logger: to stderr, and its last lines to the console's `show log`.
func runDaemon(ctx context.Context, args []string, _ *slog.Logger, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	load := storageFlags(fs)
	boardName := fs.String("board", "sim", "board to run on")
	feed := fs.Duration("watchdog", time.Second, "watchdog feed interval")
	ifaces := fs.String("iface", "", "capture interface(s), comma-separated (overrides capture.interfaces)")
	purgeEvery := fs.Duration("purge-every", 24*time.Hour, "how often the retention purge runs")
	webAddr := fs.String("web", "", `HTTPS address of the web page (overrides web.listen; "off": none)`)
	redirect := fs.String("web-redirect", "", `plain HTTP address that redirects to the page (overrides web.redirect; "off": none)`)
	consoleDev := fs.String("console", "", `the console's serial device (overrides console.device; "off": none)`)
	slotsDir := fs.String("slots", "", `the firmware slots' directory (overrides update.slots; "off": none)`)
	confirm := fs.Duration("confirm-window", time.Minute, "how long a network change on the console waits for its confirmation")
	captureWindow := fs.Duration("capture-window", 10*time.Second, "how long `capture check` on the console watches")
	healthWindow := fs.Duration("health-window", time.Minute, "how long a trial boot of new firmware has to pass its health check")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *feed <= 0 || *purgeEvery <= 0 {
		return usageError{"run: -watchdog and -purge-every must be positive durations"}
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	if *ifaces != "" {
		cfg.Capture.Interfaces = strings.Split(*ifaces, ",")
	}
	if len(cfg.Capture.Interfaces) == 0 {
		return usageError{"run: no capture interface: set capture.interfaces in the configuration or give -iface"}
	}
	b, err := board.Lookup(*boardName)
	if err != nil {
		return usageError{err.Error()}
	}
	// The daemon's log goes to stderr, and its last lines to the console.
	ring := console.NewRing(1000)
	log := slog.New(slog.NewTextHandler(io.MultiWriter(stderr, ring), &slog.HandlerOptions{Level: slog.LevelInfo})).With("board", b.Name)
	// The firmware slots: the boot decides which firmware runs.
	if *slotsDir != "" {
		cfg.Update.Slots = *slotsDir
	}
	self, _ := os.Executable()
	start, err := update.Starting(cfg.Update.Slots, self)
	switch {
	case err != nil:
		log.Warn("firmware slots not in use", "dir", cfg.Update.Slots, "err", err)
	case start.Exec != "":
		log.Info("booting the firmware of the slots", "exe", start.Exec, "trial", start.Trial)
		return syscall.Exec(start.Exec, append([]string{start.Exec}, os.Args[1:]...), os.Environ())
	case start.Trial:
		log.Info("trial boot of new firmware", "version", version)
	}
	parts, err := b.Open(log)
	if err != nil {
		return fmt.Errorf("open board %s: %w", b.Name, err)
	}
	if *consoleDev != "" {
		cfg.Console.Device = *consoleDev
	}
	var port hal.Serial
	if cfg.Console.Device != "off" {
		if port, err = b.OpenConsole(cfg.Console.Device, log); err != nil {
			log.Error("no serial console", "err", err)
		}
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var power atomic.Value // the action asked for: "reboot", "shutdown"
	pnl := &panel.Panel{Status: parts.StatusLED, Rec: parts.RecLED, OptOut: parts.OptOutLED, Fault: parts.FaultLED, FaultRed: parts.FaultRedLED,
		Watchdog: parts.Watchdog, Log: log}
	if c, ok := parts.Watchdog.(interface{ Close() error }); ok {
		defer c.Close() // a clean stop disarms the watchdog (its magic close)
	}
	err = appliance.Run(ctx, appliance.Config{Box: cfg, Interfaces: cfg.Capture.Interfaces, Version: version,
		Capture: func(iface string) (appliance.Source, error) { return openLive(iface) },
		Feed:    *feed, PurgeEvery: *purgeEvery, Listen: *webAddr, Redirect: *redirect,
		Button: parts.OptOut, Clock: parts.Clock, WatchdogReset: cardReset(parts.Watchdog),
		ListenLoopback: b.Simulated,
		Console:        port, Serial: board.SerialNumber(), Network: parts.Network, LogTail: ring.Last,
		Power: func(action string) error {
			power.Store(action)
			stop()
			return nil
		},
		ConfirmWindow: *confirm, CaptureWindow: *captureWindow,
		Slots: start.Slots, Model: b.Name, Trial: start.Trial, HealthWindow: *healthWindow}, pnl, log)
	action, _ := power.Load().(string)
	if err != nil && start.Trial {
		// The trial firmware did not even start: back to the one before.
		log.Error("the trial firmware failed to start: rolling back", "err", err)
		start.Slots.Abandon()
		action = "reboot"
	}
	switch action {
	case "reboot":
		return b.Restart(start.RestartBinary(self), log)
	case "shutdown":
		return b.PowerOff(log)
	}
	return err
}

// cardReset says whether the board's watchdog caused the last reboot.
func cardReset(w any) bool {
	r, ok := w.(interface{ CardReset() bool })
	return ok && r.CardReset()
}
