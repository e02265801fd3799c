package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"callrec/firmware/config"
	"callrec/recorder/capture"
	"callrec/recorder/pipeline"
)

// sourceFlags adds -iface and -duration to a command that reads a capture
// file or a live interface; open returns the source, the context to run
// it under, and its closer.
func sourceFlags(fs *flag.FlagSet, log *slog.Logger) func(ctx context.Context, file string) (pipeline.Source, context.Context, func(), error) {
	iface := fs.String("iface", "", "capture live from this interface instead of a file (needs root or CAP_NET_RAW)")
	duration := fs.Duration("duration", 0, "with -iface: stop after this long (default: until interrupted)")
	return func(ctx context.Context, file string) (pipeline.Source, context.Context, func(), error) {
		if *iface == "" {
			if file == "" {
				return nil, ctx, nil, usageError{fs.Name() + ": no capture file given (or -iface for a live capture)"}
			}
			f, err := openFile(file)
			if err != nil {
				return nil, ctx, nil, err
			}
			return f, ctx, func() { f.Close() }, nil
		}
		src, err := openLive(*iface)
		if err != nil {
			return nil, ctx, nil, err
		}
		log.Info("capturing", "iface", *iface)
		cancel := context.CancelFunc(func() {})
		if *duration > 0 {
			ctx, cancel = context.WithTimeout(ctx, *duration)
		}
		return src, ctx, func() { cancel(); src.Close() }, nil
	}
}

// openFile opens a capture file; one that cannot be read is bad input.
func openFile(file string) (*capture.File, error) {
	f, err := capture.OpenFile(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", pipeline.ErrInput, err)
	}
	return f, nil
}

func openLive(iface string) (*capture.Live, error) {
	src, err := capture.OpenLive(capture.LiveConfig{Interface: iface})
	if errors.Is(err, capture.ErrPermission) {
		return nil, fmt.Errorf("%w (run as root, or: setcap cap_net_raw+ep recorderd)", err)
	}
	return src, err
}

// configFlag adds -config; the returned function loads it (the defaults
// without one).
func configFlag(fs *flag.FlagSet) func() (config.Config, error) {
	path := fs.String("config", "", "configuration file")
	return func() (config.Config, error) {
		cfg, err := config.Open(*path)
		if err != nil {
			return cfg, usageError{err.Error()}
		}
		return cfg, nil
	}
}
