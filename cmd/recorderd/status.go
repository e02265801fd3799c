package main

import (
	"io"
	"time"

	"callrec/firmware/status"
)

// runStatus prints the daemon's status snapshot.
func runStatus(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("status", stderr)
	load := storageFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	_, raw, err := status.Read(cfg.Storage.DataDir, time.Now())
	stdout.Write(raw)
	return err
}
