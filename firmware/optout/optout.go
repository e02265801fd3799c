// Package optout carries out a request, during a live call, not to be
// recorded: whatever asked (a command, the web page, a phone key, DTMF,
// the panel button), the recording stops at once for every leg of the
// conversation, the archive destroys (or, in stop mode, keeps) what was
// recorded, the call keeps its metadata flagged opted_out, and the
// request is audited with who asked, how and when.
package optout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"callrec/recorder/pipeline"
	"callrec/storage/archive"
	"callrec/storage/index"
)

// Errors, checked with errors.Is: each is a clear answer that changed
// nothing.
var (
	ErrNoCall  = errors.New("optout: no such call")
	ErrEnded   = errors.New("optout: the call has ended: an opt-out applies to a call in progress")
	ErrAlready = errors.New("optout: the call is already opted out")
)

// Pipeline is the recorder.
type Pipeline interface {
	OptOut(id string) ([]string, error)
	Live() []pipeline.LiveCall
	OptedOutLive() bool
}

// Archive is where recordings are kept.
type Archive interface {
	OptOut(acc archive.Access, id string, o index.OptOut) error
	OptedOut(id string) bool
}

// Records reads the index's calls (to tell an ended call from none).
type Records interface {
	Get(id string) (*index.Record, error)
}

// Requests are the opt-outs that commands beside the daemon ask for.
type Requests interface {
	Requests() ([]index.Request, error)
	AnswerRequest(id, answer string, refused error) error
}

// Service carries out opt-outs.
type Service struct {
	p    Pipeline
	a    Archive
	r    Records
	mode string
	log  *slog.Logger
	// Now is the clock (tests set it).
	Now func() time.Time
	// Stopped, if set, is told the calls an opt-out stopped (listen-in
	// ends with them).
	Stopped func(ids []string)

	mu       sync.Mutex
	last     time.Time // the last opt-out, for the panel's LED
	choosing time.Time // until when the panel's button waits for a choice on the web page
}

// New returns the service; mode is archive.OptOutDiscard or OptOutStop.
func New(p Pipeline, a Archive, r Records, mode string, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{p: p, a: a, r: r, mode: mode, log: log, Now: time.Now}
}

// Result is what an opt-out did.
type Result struct {
	Calls   []string      // the conversation's calls opted out
	Stopped time.Duration // from the request to the recording stopped
	Done    time.Duration // from the request to the audio destroyed, durably
}

// OptOut opts a call in progress (by its id, or its conversation's) out
// of recording. trigger names how it was asked: command, web, phone-key,
// dtmf, panel. acc.Who is who asked and acc.Why the reason, for the audit
// log.
func (s *Service) OptOut(acc archive.Access, trigger, id string) (Result, error) {
	var res Result
	if strings.TrimSpace(acc.Who) == "" || strings.TrimSpace(acc.Why) == "" {
		return res, archive.ErrNoAccountable
	}
	start := time.Now()
	ids, err := s.p.OptOut(id)
	switch {
	case errors.Is(err, pipeline.ErrNotLive):
		return res, s.notLive(id)
	case errors.Is(err, pipeline.ErrOptedOut):
		return res, ErrAlready
	}
	if err != nil {
		return res, err
	}
	res.Calls, res.Stopped = ids, time.Since(start)
	if s.Stopped != nil {
		s.Stopped(ids)
	}
	o := index.OptOut{At: s.Now().UTC(), By: acc.Who, Trigger: trigger, Mode: s.mode}
	var errs []error
	for _, cid := range ids {
		if err := s.a.OptOut(acc, cid, o); err != nil && !errors.Is(err, archive.ErrAlreadyOptedOut) {
			errs = append(errs, err)
		}
	}
	res.Done = time.Since(start)
	s.mu.Lock()
	s.last, s.choosing = s.Now(), time.Time{}
	s.mu.Unlock()
	s.log.Info("call opted out", "calls", len(ids), "trigger", trigger, "mode", s.mode, "stopped_ms", res.Stopped.Milliseconds(), "done_ms", res.Done.Milliseconds())
	if len(errs) > 0 {
		// The recording stopped; destroying what was recorded failed.
		s.log.Error("opt-out: the archive could not carry it out", "err", errors.Join(errs...))
		return res, fmt.Errorf("optout: the recording stopped, but the archive failed: %w", errors.Join(errs...))
	}
	return res, nil
}

// notLive says why a call that is not in progress cannot be opted out.
func (s *Service) notLive(id string) error {
	if s.a.OptedOut(id) {
		return ErrAlready
	}
	if _, err := s.r.Get(id); err == nil {
		return ErrEnded
	}
	return ErrNoCall
}

// LitFor is how long the opt-out LED stays lit after any opt-out.
const LitFor = 10 * time.Second

// Lit says whether the opt-out LED should be lit: an opted-out call is
// live, or an opt-out happened in the last LitFor.
func (s *Service) Lit() bool {
	s.mu.Lock()
	recent := !s.last.IsZero() && s.Now().Sub(s.last) < LitFor
	s.mu.Unlock()
	return recent || s.p.OptedOutLive()
}

// ServeRequests carries out, every interval, the opt-outs that commands
// (recorderd optout, the console) ask for, and answers each, until ctx is
// done.
func (s *Service) ServeRequests(ctx context.Context, reqs Requests, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		rs, err := reqs.Requests()
		if err != nil {
			s.log.Error("opt-out requests unreadable", "err", err)
			continue
		}
		for _, r := range rs {
			if r.Action != "optout" {
				reqs.AnswerRequest(r.ID, "", fmt.Errorf("unknown action %q", r.Action))
				continue
			}
			res, err := s.OptOut(archive.Access{Who: r.Who, Why: r.Why}, "command", r.Call)
			answer := ""
			if err == nil {
				answer = fmt.Sprintf("opted out %d call(s) of the conversation: recording stopped %.1f ms after the request reached the daemon, audio %s %.1f ms after",
					len(res.Calls), ms(res.Stopped), map[string]string{archive.OptOutDiscard: "destroyed", archive.OptOutStop: "kept up to the request"}[s.mode], ms(res.Done))
			}
			if err := reqs.AnswerRequest(r.ID, answer, err); err != nil {
				s.log.Error("opt-out request not answered", "err", err)
			}
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// ChoiceFor is how long the panel's button waits for the choice of a call
// on the web page, when several are live.
const ChoiceFor = 2 * time.Minute

// Press is the front panel's opt-out button: with one call in progress
// (not opted out already) it opts that call out; with several it asks for
// the choice on the web page, and the LED blinks until one is opted out or
// ChoiceFor passes; with none it does nothing. It returns what it did.
func (s *Service) Press() (string, error) {
	var live []pipeline.LiveCall
	for _, c := range s.p.Live() {
		if !c.OptedOut {
			live = append(live, c)
		}
	}
	switch len(live) {
	case 0:
		return "no call in progress", nil
	case 1:
		_, err := s.OptOut(archive.Access{Who: "front panel", Why: "the panel's opt-out button"}, "panel", live[0].ID)
		return "opted out the call in progress", err
	}
	s.mu.Lock()
	s.choosing = s.Now().Add(ChoiceFor)
	s.mu.Unlock()
	return fmt.Sprintf("%d calls in progress: choose on the web page", len(live)), nil
}

// Choosing says whether the panel's button waits for a choice.
func (s *Service) Choosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Now().Before(s.choosing)
}

// RunButton carries out each press of the panel's button until ctx is
// done.
func (s *Service) RunButton(ctx context.Context, wait func(context.Context) error) error {
	for {
		if err := wait(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("optout: the panel's button: %w", err)
		}
		what, err := s.Press()
		if err != nil {
			s.log.Warn("panel button: opt-out not done", "err", err)
			continue
		}
		s.log.Info("panel button pressed", "result", what)
	}
}

// Asker is where a command beside the daemon leaves its request and reads
// the answer (the index).
type Asker interface {
	AddRequest(index.Request) (index.Request, error)
	Request(id string) (index.Request, error)
	DeleteRequest(id string) error
}

// Ask has the running daemon opt a call out (as ServeRequests carries
// out), waiting up to wait for its answer, which it returns. A refusal is
// the daemon's reason, as an error.
func Ask(ctx context.Context, ix Asker, call, who, why string, wait time.Duration) (string, error) {
	if strings.TrimSpace(why) == "" {
		return "", archive.ErrNoAccountable
	}
	req, err := ix.AddRequest(index.Request{Action: "optout", Call: call, Who: who, Why: why, At: time.Now().UTC()})
	if err != nil {
		return "", err
	}
	defer ix.DeleteRequest(req.ID)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	deadline := time.After(wait)
	for {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-deadline:
			return "", fmt.Errorf("optout: the daemon did not answer within %v", wait)
		case <-t.C:
		}
		r, err := ix.Request(req.ID)
		if err != nil {
			return "", err
		}
		if r.Done {
			if r.Err != "" {
				return "", errors.New(r.Err) // the daemon's own words
			}
			return r.Answer, nil
		}
	}
}
