package recording

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"callrec/recorder/mix"
	"callrec/recorder/pipeline"
	"callrec/storage/archive"
)

// Ingested says what Ingest did.
type Ingested struct {
	Stored int // recordings stored
	Known  int // calls already stored from the same wire source, left as they were
}

// Ingest records the calls of a capture into the archive exactly as the
// box records a live tap: it takes the daemon lock, closes what a crash
// left open, runs the disk worker, and leaves a call already stored (the
// same capture ingested twice) as it was. cfg.OnFinish, if set, still
// sees every recording. It returns when the source ends, with the
// worker's queue drained.
func Ingest(ctx context.Context, a *archive.Archive, src pipeline.Source, cfg Config, log *slog.Logger) (Ingested, error) {
	var res Ingested
	if err := a.Lock(); err != nil {
		return res, fmt.Errorf("ingest: %w", err)
	}
	if _, err := a.Recover(); err != nil {
		return res, err
	}
	then := cfg.OnFinish
	cfg.SkipStored = true
	cfg.OnFinish = func(i mix.Info) {
		switch {
		case i.Err == nil:
			res.Stored++
		case errors.Is(i.Err, ErrAlreadyStored):
			res.Known++
		}
		if then != nil {
			then(i)
		}
	}
	sink := New(a, cfg, log)
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(wctx) }() // returns when stop is called, after the queue drains
	p := pipeline.New(sink.Pipeline(), log)
	err := p.Run(ctx, src)
	p.Close("capture_end")
	stop()
	return res, errors.Join(err, <-done)
}
