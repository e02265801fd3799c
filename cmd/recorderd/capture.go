package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"callrec/recorder/capture"
)

// parseWithFile parses flags around one capture-file argument, which may
// come before or after the flags; the file is "" when none is given.
func parseWithFile(fs *flag.FlagSet, args []string) (string, error) {
	var file string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", usageError{err.Error()}
	}
	switch {
	case file == "" && fs.NArg() == 1:
		file = fs.Arg(0)
	case fs.NArg() > 0:
		return "", usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return file, nil
}

// captureLive reads an interface until ctx is done or d has passed (d > 0),
// giving each frame to handle and, when the wire is quiet, the time to
// tick so that idle calls still end. It logs the kernel's drop count at
// the end.
func captureLive(ctx context.Context, iface string, d time.Duration, log *slog.Logger,
	handle func(*capture.Decoder, []byte, time.Time), tick func(time.Time)) error {
	if d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	src, err := capture.OpenLive(capture.LiveConfig{Interface: iface})
	if err != nil {
		return err
	}
	defer src.Close()
	dec := capture.NewDecoder(capture.Config{}, log)
	log.Info("capturing", "iface", iface)
	for ctx.Err() == nil {
		data, ci, err := src.ReadPacketData()
		if capture.IsTimeout(err) {
			tick(time.Now())
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", iface, err)
		}
		handle(dec, data, ci.Timestamp)
	}
	recv, drops, _ := src.Drops()
	log.Info("capture stopped", "iface", iface, "packets", recv, "kernel_drops", drops)
	return nil
}
