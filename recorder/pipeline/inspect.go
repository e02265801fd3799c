package pipeline

import (
	"context"
	"log/slog"
	"slices"

	"callrec/recorder/track"
)

// Inspect follows the calls of src without recording them (the
// technician's view of what the box would record) and hands each call to
// each: as each ends when live, or else all at the end, in order of
// start. It returns the pipeline's counters, and the source's error after
// the calls read up to it.
func Inspect(ctx context.Context, src Source, cfg track.Config, live bool, each func(*track.Call) error, log *slog.Logger) (Stats, error) {
	var calls []*track.Call
	var eachErr error
	p := New(Config{Track: cfg, OnEvent: func(e track.Event) {
		switch {
		case live && e.Kind == track.CallEnded && eachErr == nil:
			eachErr = each(e.Call)
		case !live && e.Kind == track.CallStarted && e.Detail != "revived": // a fork revived starts twice
			calls = append(calls, e.Call)
		}
	}}, log)
	runErr := p.Run(ctx, src)
	reason := "capture_end"
	if live {
		reason = "stopped"
	}
	p.Close(reason)
	slices.SortStableFunc(calls, func(a, b *track.Call) int { return a.Start.Compare(b.Start.Time) })
	for _, c := range calls {
		if eachErr != nil {
			break
		}
		eachErr = each(c)
	}
	if eachErr != nil {
		return p.Stats(), eachErr
	}
	return p.Stats(), runErr
}
