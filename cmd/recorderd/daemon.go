package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"callrec/board"
)

// runDaemon runs the appliance on a board until ctx is done. Today that is
// the front panel and the watchdog; capture, recording and storage join it
// as they land.
func runDaemon(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	boardName := fs.String("board", "sim", "board to run on")
	feed := fs.Duration("watchdog", time.Second, "watchdog feed interval")
	if err := parse(fs, args); err != nil {
		return err
	}
	b, err := board.Lookup(*boardName)
	if err != nil {
		return usageError{err.Error()}
	}
	log := newLogger(stderr, slog.LevelInfo).With("board", b.Name)
	parts, err := b.Open(log)
	if err != nil {
		return fmt.Errorf("open board %s: %w", b.Name, err)
	}
	log.Info("recorderd started", "version", version)
	// Lamp test at start, as a technician expects: every LED on, then off.
	for _, l := range []interface{ Set(bool) error }{parts.RecLED, parts.OptOutLED, parts.FaultLED} {
		if err := l.Set(true); err != nil {
			return fmt.Errorf("lamp test: %w", err)
		}
	}
	for _, l := range []interface{ Set(bool) error }{parts.RecLED, parts.OptOutLED, parts.FaultLED} {
		if err := l.Set(false); err != nil {
			return fmt.Errorf("lamp test: %w", err)
		}
	}
	t := time.NewTicker(*feed)
	defer t.Stop()
	for {
		// The watchdog is fed only from this loop, which exits when ctx is
		// done; a hung daemon therefore resets the box.
		if err := parts.Watchdog.Feed(); err != nil {
			log.Error("watchdog feed failed", "err", err)
		}
		select {
		case <-ctx.Done():
			log.Info("recorderd stopping")
			return nil
		case <-t.C:
		}
	}
}
