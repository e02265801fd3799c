package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gopacket/gopacket/layers"

	"callrec/firmware/config"
	"callrec/recorder/capture"
	"callrec/recorder/mix"
	"callrec/recorder/rtp"
	"callrec/recorder/track"
)

// runExtract turns a capture into one MP3 per call, plus calls.json. The
// files are not encrypted, by design: this is for a capture the technician
// took, not for the box's own recordings.
func runExtract(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("extract", stderr)
	outDir := fs.String("out", "", "directory for the MP3 files and calls.json (required)")
	cfgPath := fs.String("config", "", "configuration file (call classification settings)")
	mono := fs.Bool("mono", false, "mix both sides into one channel (default: stereo, outside party left)")
	bitrate := fs.Int("bitrate", 0, "MP3 bitrate in kbit/s (default 48 stereo, 32 mono)")
	iface := fs.String("iface", "", "record live from this interface instead of a file (needs root or CAP_NET_RAW)")
	duration := fs.Duration("duration", 0, "with -iface: stop after this long (default: until interrupted)")
	file, err := parseWithFile(fs, args)
	if err != nil {
		return err
	}
	if (file == "" && *iface == "") || *outDir == "" {
		return usageError{"extract: usage: recorderd extract FILE -out DIR (or -iface NAME for a live capture)"}
	}
	cfg := config.Default()
	if *cfgPath != "" {
		var err error
		if cfg, err = config.Load(*cfgPath); err != nil {
			return usageError{err.Error()}
		}
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	src := source{file: file, iface: *iface, duration: *duration, ctx: ctx}
	entries, readErr, err := extract(src, *outDir, cfg, mix.Config{Mono: *mono, Bitrate: *bitrate})
	if err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(*outDir, "calls.json"))
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, e := range entries {
		enc.Encode(e)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("extract: calls.json: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("extract: calls.json: %w", err)
	}
	fmt.Fprintf(stdout, "%d calls, %d recordings in %s\n", len(entries), countFiles(entries), *outDir)
	return readErr
}

// extracted is one call in calls.json: inspect's object plus its file.
type extracted struct {
	*track.Call
	File           string       `json:"file,omitempty"`
	DurationMS     int64        `json:"duration_ms"`
	RecordingFlags []string     `json:"recording_flags"`
	InbandDTMF     string       `json:"inband_dtmf,omitempty"` // digits heard in the audio, in order
	Channels       [2]rtp.Stats `json:"channel_stats"`         // left, right
}

func countFiles(es []*extracted) int {
	n := 0
	for _, e := range es {
		if e.File != "" {
			n++
		}
	}
	return n
}

// fileSink writes each recording to DIR/START_ID.mp3.
type fileSink struct {
	dir   string
	names map[*track.Call]string
}

func (s *fileSink) Create(c *track.Call) (io.WriteCloser, error) {
	name := c.Start.UTC().Format("20060102T150405.000Z") + "_" + c.ID + ".mp3"
	s.names[c] = name
	return os.Create(filepath.Join(s.dir, name))
}

// source is a capture file, or a live interface for a while.
type source struct {
	file     string
	iface    string
	duration time.Duration
	ctx      context.Context
}

func extract(src source, dir string, cfg config.Config, mc mix.Config) ([]*extracted, error, error) {
	sink := &fileSink{dir: dir, names: map[*track.Call]string{}}
	byCall := map[*track.Call]*extracted{}
	var order []*extracted
	mc.OnFinish = func(i mix.Info) {
		e := byCall[i.Call]
		if e == nil {
			return
		}
		e.File = sink.names[i.Call]
		e.DurationMS = i.Duration.Milliseconds()
		e.RecordingFlags = append(e.RecordingFlags, i.Flags...)
		e.Channels = i.Channels
		if i.Err != nil {
			e.RecordingFlags = append(e.RecordingFlags, "error")
			slog.Error("recording incomplete", "call_id", i.Call.ID, "err", i.Err)
			return
		}
		slog.Info("recording finished", "call_id", i.Call.ID, "file", e.File, "duration", i.Duration)
	}
	mc.OnDTMF = func(c *track.Call, digit string, _ bool, _ time.Time) {
		if e := byCall[c]; e != nil {
			e.InbandDTMF += digit
		}
	}
	rec := mix.New(mc, sink, slog.Default())
	tc := trackConfig(cfg.Calls)
	tc.OnEvent = func(e track.Event) {
		if e.Kind == track.CallStarted && byCall[e.Call] == nil {
			x := &extracted{Call: e.Call, RecordingFlags: []string{}}
			byCall[e.Call] = x
			order = append(order, x)
		}
		rec.Event(e)
	}
	tc.OnRTP = rec.RTP
	if src.iface != "" {
		tr := track.New(tc, slog.Default())
		handle := tr.Handle
		err := captureLive(src.ctx, src.iface, src.duration, slog.Default(),
			func(dec *capture.Decoder, data []byte, at time.Time) {
				dec.Decode(layers.LinkTypeEthernet, data, at, handle)
			},
			func(now time.Time) { tr.Tick(now); rec.Tick(now) })
		tr.Flush("stopped")
		rec.Close()
		slices.SortStableFunc(order, func(a, b *extracted) int { return a.Start.Compare(b.Start.Time) })
		if err != nil {
			return order, nil, fmt.Errorf("extract: %w", err)
		}
		return order, nil, nil
	}
	readErr := replayFile(src.file, tc, rec)
	slices.SortStableFunc(order, func(a, b *extracted) int { return a.Start.Compare(b.Start.Time) })
	return order, readErr, nil
}

// replayFile runs a capture file through decoding, tracking and the
// recorder, ticking the recorder on the capture's clock. A file that
// cannot be read to its end is an inputError; what was read is recorded.
func replayFile(path string, tc track.Config, rec *mix.Recorder) error {
	tr := track.New(tc, slog.Default())
	dec := capture.NewDecoder(capture.Config{}, slog.Default())
	handle := tr.Handle
	f, err := capture.OpenFile(path)
	if err != nil {
		return inputError{err}
	}
	defer f.Close()
	var readErr error
	var last time.Time
	for {
		data, ci, err := f.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			readErr = inputError{fmt.Errorf("%s: %w", path, err)}
			break
		}
		dec.Decode(f.LinkType(), data, ci.Timestamp, handle)
		if ci.Timestamp.Sub(last) > 100*time.Millisecond {
			rec.Tick(ci.Timestamp)
			last = ci.Timestamp
		}
	}
	tr.Flush("capture_end")
	rec.Close()
	return readErr
}
