package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"callrec/recorder/pipeline"
	"callrec/recorder/track"
)

// runInspect prints one JSON object per call in a capture, in order of
// start (a file), or as each ends (live): the technician's view of what
// the box would record.
func runInspect(ctx context.Context, args []string, log *slog.Logger, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", stderr)
	loadConfig := configFlag(fs)
	stats := fs.Bool("stats", false, "also print capture and tracking counters to stderr")
	ladder := fs.Bool("messages", false, "print the SIP messages, one line each, instead of the calls")
	open := sourceFlags(fs, log)
	file, err := parseWithFile(fs, args)
	if err != nil {
		return err
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	src, ctx, closeSrc, err := open(ctx, file)
	if err != nil {
		return err
	}
	defer closeSrc()
	if *ladder {
		return pipeline.Ladder(src, stdout)
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	live := file == ""
	st, err := pipeline.Inspect(ctx, src, cfg.Calls.Track(), live, func(c *track.Call) error {
		if err := enc.Encode(c); err != nil {
			return err
		}
		if live {
			return out.Flush()
		}
		return nil
	}, log)
	if *stats {
		fmt.Fprintf(stderr, "capture: %+v\ntracking: %+v\n", st.Capture, st.Track)
	}
	return err // bad input: the calls read so far are printed, then exit 2
}
