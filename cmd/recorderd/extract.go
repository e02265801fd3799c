package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"callrec/firmware/extract"
	"callrec/recorder/mix"
)

// runExtract turns a capture into one MP3 per call, plus calls.json. The
// files are not encrypted, by design: this is for a capture the technician
// took, not for the box's own recordings.
func runExtract(ctx context.Context, args []string, log *slog.Logger, stdout, stderr io.Writer) error {
	fs := newFlags("extract", stderr)
	outDir := fs.String("out", "", "directory for the MP3 files and calls.json (required; made private)")
	loadConfig := configFlag(fs)
	mono := fs.Bool("mono", false, "mix both sides into one channel (default: stereo, outside party left)")
	bitrate := fs.Int("bitrate", 0, "MP3 bitrate in kbit/s (default 48 stereo, 32 mono)")
	open := sourceFlags(fs, log)
	file, err := parseWithFile(fs, args)
	if err != nil {
		return err
	}
	if *outDir == "" {
		return usageError{"extract: usage: recorderd extract FILE -out DIR (or -iface NAME for a live capture)"}
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
	res, err := extract.Run(ctx, src, extract.Config{Dir: *outDir, Track: cfg.Calls.Track(), Mix: mix.Config{Mono: *mono, Bitrate: *bitrate}}, log)
	fmt.Fprintf(stdout, "%d calls, %d recordings in %s\n", len(res.Calls), res.Files, *outDir)
	return err
}
