package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"callrec/firmware/optout"
	"callrec/storage/archive"
)

// runOptOut asks the running daemon to opt a live call out of recording
// (the same as the web page's button), and prints its answer.
func runOptOut(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) error {
	fs := newFlags("optout", stderr)
	load := storageFlags(fs)
	call := fs.String("call", "", "the call's id (or its conversation's)")
	access := accessFlags(fs, "why, for the audit log (the caller asked…)")
	wait := fs.Duration("wait", 10*time.Second, "how long to wait for the daemon's answer")
	if err := parse(fs, args); err != nil {
		return err
	}
	acc := access()
	if *call == "" || acc.Why == "" {
		return usageError{"optout: give -call ID and -why (the caller asked…), for the audit log"}
	}
	a, cfg, err := openArchive(load, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if running, err := archive.Running(cfg.Storage.DataDir); err != nil || !running {
		return errors.New("optout: the daemon is not running: a call is recorded, and opted out, only while it runs")
	}
	answer, err := optout.Ask(ctx, a.Index(), *call, acc.Who, acc.Why, *wait)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, answer)
	return nil
}
