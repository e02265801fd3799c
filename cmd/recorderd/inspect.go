package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/gopacket/gopacket/layers"

	"callrec/firmware/config"
	"callrec/recorder/capture"
	"callrec/recorder/sip"
	"callrec/recorder/track"
)

// runInspect prints one JSON object per call found in a capture file, in
// order of start: the technician's view of what the box would record.
func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", stderr)
	cfgPath := fs.String("config", "", "configuration file (call classification settings)")
	stats := fs.Bool("stats", false, "also print capture and tracking counters to stderr")
	ladder := fs.Bool("messages", false, "print the SIP messages, one line each, instead of the calls")
	iface := fs.String("iface", "", "capture live from this interface instead of a file (needs root or CAP_NET_RAW)")
	duration := fs.Duration("duration", 0, "with -iface: stop after this long (default: until interrupted)")
	file, err := parseWithFile(fs, args)
	if err != nil {
		return err
	}
	if file == "" && *iface == "" {
		return usageError{"inspect: no capture file given (or -iface for a live capture)"}
	}
	cfg := config.Default()
	if *cfgPath != "" {
		var err error
		if cfg, err = config.Load(*cfgPath); err != nil {
			return usageError{err.Error()}
		}
	}
	if *iface != "" {
		return inspectLive(ctx, *iface, *duration, cfg, stdout, stderr)
	}
	if *ladder {
		return printLadder(file, stdout)
	}
	calls, st, ts, readErr := inspectFile(file, cfg)
	out := bufio.NewWriter(stdout)
	enc := json.NewEncoder(out)
	for _, c := range calls {
		if err := enc.Encode(c); err != nil {
			return err
		}
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if *stats {
		fmt.Fprintf(stderr, "capture: %+v\ntracking: %+v\n", st, ts)
	}
	if readErr != nil {
		// Bad input: the calls read so far are printed, then exit 2.
		return inputError{readErr}
	}
	return nil
}

// inputError is a capture file that cannot be read to its end (exit 2).
type inputError struct{ err error }

func (e inputError) Error() string { return e.err.Error() }
func (e inputError) Unwrap() error { return e.err }

// trackConfig maps the configuration file's call settings to the tracker's.
func trackConfig(c config.Calls) track.Config {
	return track.Config{
		Plan:         sip.NumberPlan{Country: c.Country, OutsidePrefix: c.OutsidePrefix, Extension: c.Extension},
		TrunkPeers:   c.Peers,
		TrunkDomains: c.TrunkDomains,
		IdleTimeout:  c.IdleTimeout.Duration,
	}
}

// inspectFile runs a capture through the decoder and tracker and returns
// every call, sorted by start, with what stopped the reading, if anything.
func inspectFile(path string, cfg config.Config) ([]*track.Call, capture.Stats, track.Stats, error) {
	var calls []*track.Call
	tc := trackConfig(cfg.Calls)
	tc.OnEvent = func(e track.Event) {
		// A call revived after a failed fork starts twice: list it once.
		if e.Kind == track.CallStarted && e.Detail != "revived" {
			calls = append(calls, e.Call)
		}
	}
	tr := track.New(tc, slog.Default())
	dec := capture.NewDecoder(capture.Config{}, slog.Default())
	f, err := capture.OpenFile(path)
	if err != nil {
		return nil, dec.Stats(), tr.Stats(), err
	}
	defer f.Close()
	var readErr error
	handle := tr.Handle
	for {
		data, ci, err := f.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			readErr = fmt.Errorf("%s: %w", path, err)
			break
		}
		dec.Decode(f.LinkType(), data, ci.Timestamp, handle)
	}
	tr.Flush("capture_end")
	slices.SortStableFunc(calls, func(a, b *track.Call) int { return a.Start.Compare(b.Start.Time) })
	return calls, dec.Stats(), tr.Stats(), readErr
}

// printLadder prints every SIP message in a capture, one line each: time,
// addresses, start line, Call-ID, CSeq and the headers that matter for
// following calls. It is the technician's ladder diagram in text.
func printLadder(path string, stdout io.Writer) error {
	f, err := capture.OpenFile(path)
	if err != nil {
		return inputError{err}
	}
	defer f.Close()
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	dec := capture.NewDecoder(capture.Config{}, slog.Default())
	for {
		data, ci, err := f.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return inputError{fmt.Errorf("%s: %w", path, err)}
		}
		dec.Decode(f.LinkType(), data, ci.Timestamp, func(d *capture.Datagram) {
			if !sip.LooksLikeSIP(d.Payload) {
				return
			}
			m, err := sip.Parse(d.Payload)
			if err != nil {
				fmt.Fprintf(out, "%s %s > %s unparseable: %v\n", d.Time.UTC().Format("15:04:05.000"), d.Src, d.Dst, err)
				return
			}
			first := m.Method + " " + m.RequestURI
			if !m.IsRequest() {
				first = fmt.Sprintf("%d %s", m.Status, m.Reason)
			}
			fmt.Fprintf(out, "%s %s %s > %s %q call-id=%s cseq=%q from=%q to=%q",
				d.Time.UTC().Format("15:04:05.000"), d.Proto, d.Src, d.Dst, first,
				m.Get("call-id"), m.Get("cseq"), m.Get("from"), m.Get("to"))
			for _, h := range []string{"refer-to", "referred-by", "replaces", "event", "p-asserted-identity", "diversion"} {
				if v := m.Get(h); v != "" {
					fmt.Fprintf(out, " %s=%q", h, v)
				}
			}
			if b := m.SDP(); b != nil {
				if s, err := sip.ParseSDP(b); err == nil {
					for _, md := range s.Media {
						fmt.Fprintf(out, " m=%s@%s/%s", md.Type, md.Addr, md.Direction)
					}
				} else {
					fmt.Fprintf(out, " sdp-error=%q", err)
				}
			}
			fmt.Fprintln(out)
		})
	}
}

// inspectLive captures from an interface and prints each call as it ends,
// until ctx is done or the duration has passed; calls still open then are
// printed with end_reason "stopped".
func inspectLive(ctx context.Context, iface string, d time.Duration, cfg config.Config, stdout, stderr io.Writer) error {
	log := newLogger(stderr, slog.LevelInfo)
	enc := json.NewEncoder(stdout) // written only from the capture loop
	tc := trackConfig(cfg.Calls)
	tc.OnEvent = func(e track.Event) {
		if e.Kind == track.CallEnded {
			enc.Encode(e.Call)
		}
	}
	tr := track.New(tc, log)
	handle := tr.Handle
	err := captureLive(ctx, iface, d, log,
		func(dec *capture.Decoder, data []byte, at time.Time) {
			dec.Decode(layers.LinkTypeEthernet, data, at, handle)
		},
		tr.Tick)
	tr.Flush("stopped")
	if err != nil {
		return fmt.Errorf("inspect: %w", err)
	}
	return nil
}
