package extract

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
	"syscall"
	"time"

	"callrec/recorder/mix"
	"callrec/recorder/mp3"
	"callrec/recorder/pipeline"
	"callrec/recorder/rtp"
	"callrec/recorder/track"
)

// Call is one call in calls.json: what inspect prints, plus its file.
type Call struct {
	*track.Call
	File           string       `json:"file,omitempty"`
	DurationMS     int64        `json:"duration_ms"`
	RecordingFlags []string     `json:"recording_flags"`
	InbandDTMF     string       `json:"inband_dtmf,omitempty"` // digits heard in the audio, in order
	Channels       [2]rtp.Stats `json:"channel_stats"`         // left, right
}

// Result is what an extraction made.
type Result struct {
	Calls []*Call // in order of start
	Files int     // recordings written
}

// Config sets an extraction.
type Config struct {
	Dir   string       // where the files go; created 0700 if missing
	Track track.Config // call classification
	Mix   mix.Config   // format; OnFinish and OnDTMF are the extraction's
}

// Run records the calls of src into cfg.Dir until src ends or ctx is done,
// then writes calls.json. A capture that breaks part-way is reported with
// pipeline.ErrInput after what was read is written.
func Run(ctx context.Context, src pipeline.Source, cfg Config, log *slog.Logger) (Result, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var res Result
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return res, fmt.Errorf("extract: %w", err)
	}
	sink := &fileSink{dir: cfg.Dir, format: cfg.Mix.Format(), names: map[*track.Call]string{}}
	byCall := map[*track.Call]*Call{}
	mc := cfg.Mix
	mc.OnFinish = func(i mix.Info) {
		e := byCall[i.Call]
		if e == nil {
			return
		}
		e.File, e.DurationMS, e.Channels = sink.names[i.Call], i.Duration.Milliseconds(), i.Channels
		e.RecordingFlags = append(e.RecordingFlags, i.Flags...)
		if i.Err == nil {
			i.Err = sink.tag(e.File, i)
		}
		if i.Err != nil {
			e.RecordingFlags = append(e.RecordingFlags, "error")
			log.Error("recording incomplete", "call_id", i.Call.ID, "err", i.Err)
			return
		}
		res.Files++
		log.Info("recording finished", "call_id", i.Call.ID, "file", e.File, "duration", i.Duration)
	}
	mc.OnDTMF = func(c *track.Call, digit string, _ bool, _ time.Time) {
		if e := byCall[c]; e != nil {
			e.InbandDTMF += digit
		}
	}
	p := pipeline.New(pipeline.Config{Track: cfg.Track, Sink: sink, Mix: mc, OnEvent: func(e track.Event) {
		if e.Kind == track.CallStarted && byCall[e.Call] == nil {
			x := &Call{Call: e.Call, RecordingFlags: []string{}}
			byCall[e.Call] = x
			res.Calls = append(res.Calls, x)
		}
	}}, log)
	runErr := p.Run(ctx, src)
	p.Close("capture_end")
	slices.SortStableFunc(res.Calls, func(a, b *Call) int { return a.Start.Compare(b.Start.Time) })
	if err := writeJSON(filepath.Join(cfg.Dir, "calls.json"), res.Calls); err != nil {
		return res, err
	}
	return res, runErr
}

// create makes a new private file; it never follows a symlink nor
// reuses an existing file.
func create(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
}

func writeJSON(path string, calls []*Call) error {
	os.Remove(path) // a calls.json from an earlier run of the same directory
	f, err := create(path)
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, c := range calls {
		if err := enc.Encode(c); err != nil {
			f.Close()
			return fmt.Errorf("extract: calls.json: %w", err)
		}
	}
	err = errors.Join(w.Flush(), f.Close())
	if err != nil {
		return fmt.Errorf("extract: calls.json: %w", err)
	}
	return nil
}

// fileSink writes each recording to DIR/START_ID.mp3, behind a
// placeholder for its Info frame.
type fileSink struct {
	dir    string
	format mp3.Config
	names  map[*track.Call]string
}

func (s *fileSink) Create(c *track.Call) (io.WriteCloser, error) {
	name := c.Start.UTC().Format("20060102T150405.000Z") + "_" + c.ID + ".mp3"
	s.names[c] = name
	f, err := create(filepath.Join(s.dir, name))
	if err != nil {
		return nil, err
	}
	tag, err := mp3.InfoFrame(s.format, mp3.Written{})
	if err == nil {
		_, err = f.Write(tag)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// tag fills in a finished recording's Info frame: its length, and the
// encoder delay and padding that gapless decoders trim.
func (s *fileSink) tag(name string, i mix.Info) error {
	tag, err := mp3.InfoFrame(s.format, mp3.Written{Frames: s.format.Frames(i.Bytes), Bytes: i.Bytes, Samples: i.Samples})
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(s.dir, name), os.O_WRONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(tag, 0)
	return errors.Join(err, f.Close())
}
