package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"callrec/board"
	"callrec/firmware/appliance"
	"callrec/firmware/panel"
)

// runDaemon runs the appliance on a board until ctx is done.
func runDaemon(ctx context.Context, args []string, log *slog.Logger, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	load := storageFlags(fs)
	boardName := fs.String("board", "sim", "board to run on")
	feed := fs.Duration("watchdog", time.Second, "watchdog feed interval")
	ifaces := fs.String("iface", "", "capture interface(s), comma-separated (overrides capture.interfaces)")
	purgeEvery := fs.Duration("purge-every", 24*time.Hour, "how often the retention purge runs")
	webAddr := fs.String("web", "", `HTTPS address of the web page (overrides web.listen; "off": none)`)
	redirect := fs.String("web-redirect", "", `plain HTTP address that redirects to the page (overrides web.redirect; "off": none)`)
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
	log = log.With("board", b.Name)
	parts, err := b.Open(log)
	if err != nil {
		return fmt.Errorf("open board %s: %w", b.Name, err)
	}
	pnl := &panel.Panel{Status: parts.StatusLED, Rec: parts.RecLED, OptOut: parts.OptOutLED, Fault: parts.FaultLED, FaultRed: parts.FaultRedLED,
		Watchdog: parts.Watchdog, Log: log}
	if c, ok := parts.Watchdog.(interface{ Close() error }); ok {
		defer c.Close() // a clean stop disarms the watchdog (its magic close)
	}
	return appliance.Run(ctx, appliance.Config{Box: cfg, Interfaces: cfg.Capture.Interfaces, Version: version,
		Capture: func(iface string) (appliance.Source, error) { return openLive(iface) },
		Feed:    *feed, PurgeEvery: *purgeEvery, Listen: *webAddr, Redirect: *redirect,
		Button: parts.OptOut, Clock: parts.Clock, WatchdogReset: cardReset(parts.Watchdog),
		ListenLoopback: b.Name == "sim"}, pnl, log)
}

// cardReset says whether the board's watchdog caused the last reboot.
func cardReset(w any) bool {
	r, ok := w.(interface{ CardReset() bool })
	return ok && r.CardReset()
}
