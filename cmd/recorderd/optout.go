package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"callrec/storage/archive"
	"callrec/storage/index"
)

// runOptOut asks the running daemon to opt a live call out of recording
// (the same as the web page's button), and prints its answer.
func runOptOut(args []string, stdout, stderr io.Writer, log *slog.Logger) error {
	fs := newFlags("optout", stderr)
	load := storageFlags(fs)
	call := fs.String("call", "", "the call's id (or its conversation's)")
	access := accessFlags(fs, "why, for the audit log (the caller asked…)")
	wait := fs.Duration("wait", 10*time.Second, "how long to wait for the daemon's answer")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *call == "" {
		return usageError{"optout: give -call ID"}
	}
	acc := access()
	if acc.Why == "" {
		return usageError{"optout: give -why (the caller asked…), for the audit log"}
	}
	a, cfg, err := openArchive(load, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if running, err := archive.Running(cfg.Storage.DataDir); err != nil || !running {
		return errors.New("optout: the daemon is not running: a call is recorded, and opted out, only while it runs")
	}
	ix := a.Index()
	req, err := ix.AddRequest(index.Request{Action: "optout", Call: *call, Who: acc.Who, Why: acc.Why, At: time.Now().UTC()})
	if err != nil {
		return err
	}
	defer ix.DeleteRequest(req.ID)
	deadline := time.Now().Add(*wait)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		r, err := ix.Request(req.ID)
		if err != nil {
			return err
		}
		if r.Done {
			if r.Err != "" {
				return fmt.Errorf("optout: %s", r.Err)
			}
			fmt.Fprintln(stdout, r.Answer)
			return nil
		}
	}
	return fmt.Errorf("optout: the daemon did not answer within %v", *wait)
}
