package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"callrec/recorder/capture"
	"callrec/recorder/mix"
	"callrec/recorder/track"
)

// ErrInput marks a capture that could not be read to its end: what was
// read before the fault is recorded; the caller reports bad input.
var ErrInput = errors.New("capture unreadable")

// Config assembles a pipeline; a zero field takes the default.
type Config struct {
	Track track.Config // its OnEvent and OnRTP are the pipeline's: use OnEvent below
	// Sink receives the recordings; nil tracks calls without recording
	// them (inspect).
	Sink mix.Sink
	Mix  mix.Config
	// OnEvent, if set, sees every tracker event after the recorder has:
	// on CallStarted the recording is set up, on CallEnded it is closed.
	OnEvent func(track.Event)
	// OnRTP, if set, also sees every RTP packet of a call's audio
	// (decrypted, if it was SRTP), after the recorder (listen-in).
	OnRTP func(st *track.Stream, fromCaller bool, d *capture.Datagram)
	// TickEvery is how often, in capture time, a replayed file ticks the
	// recorder and the tracker (default 100 ms).
	TickEvery time.Duration
}

// Pipeline is decode → track → record. Run may be called for several
// sources at once (one per SPAN port); they share the tracker and the
// recorder under one lock, so calls crossing two ports are one call.
type Pipeline struct {
	log       *slog.Logger
	tickEvery time.Duration

	mu      sync.Mutex // guards the tracker, the recorder and the counters below
	tr      *track.Tracker
	rec     *mix.Recorder // nil without a sink
	decoded capture.Stats // of sources that finished
	decs    map[*capture.Decoder]struct{}
	kernel  KernelStats
	closed  bool

	alive atomic.Int64 // unix nanoseconds of the last packet or timeout seen
}

// KernelStats are a live capture's counters, summed over its sources.
type KernelStats struct {
	Received uint64
	Dropped  uint64
}

// Stats is what the pipeline has seen so far.
type Stats struct {
	Capture capture.Stats
	Track   track.Stats
	Kernel  KernelStats // live sources only, counted when each ends
	Active  int         // calls in progress
}

// New assembles a pipeline.
func New(cfg Config, log *slog.Logger) *Pipeline {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.TickEvery == 0 {
		cfg.TickEvery = 100 * time.Millisecond
	}
	p := &Pipeline{log: log, tickEvery: cfg.TickEvery, decs: map[*capture.Decoder]struct{}{}}
	tc := cfg.Track
	if cfg.Sink != nil {
		p.rec = mix.New(cfg.Mix, cfg.Sink)
		tc.OnRTP = p.rec.RTP
	}
	if tap := cfg.OnRTP; tap != nil {
		record := tc.OnRTP
		tc.OnRTP = func(st *track.Stream, fromCaller bool, d *capture.Datagram) {
			if record != nil {
				record(st, fromCaller, d)
			}
			tap(st, fromCaller, d)
		}
	}
	onEvent := cfg.OnEvent
	tc.OnEvent = func(e track.Event) {
		if p.rec != nil {
			p.rec.Event(e)
		}
		if onEvent != nil {
			onEvent(e)
		}
	}
	p.tr = track.New(tc, log)
	p.alive.Store(time.Now().UnixNano())
	return p
}

// Source is where packets come from. A live source (capture.Live) also
// returns timeouts when the wire is quiet, and its kernel drop counters.
type Source = capture.Source

type dropper interface {
	Drops() (received, dropped uint64, err error)
}

// Run feeds src through the pipeline until it ends (io.EOF: nil), fails,
// or ctx is done (nil). A file is ticked on its own clock; a live source
// on the wall clock whenever it times out, so idle calls still end.
// Calls are not closed when Run returns: call Close once every source is
// done.
func (p *Pipeline) Run(ctx context.Context, src Source) error {
	dec := capture.NewDecoder(capture.Config{})
	p.mu.Lock()
	p.decs[dec] = struct{}{}
	p.mu.Unlock()
	defer p.retire(dec, src)
	handle := p.tr.Handle
	link := src.LinkType()
	var lastTick time.Time
	for ctx.Err() == nil {
		data, ci, err := src.ReadPacketData()
		switch {
		case err == nil:
		case capture.IsTimeout(err):
			p.Tick(time.Now())
			continue
		case errors.Is(err, io.EOF):
			return nil
		case ctx.Err() != nil:
			return nil
		default:
			return fmt.Errorf("%w: %w", ErrInput, err)
		}
		p.mu.Lock()
		dec.Decode(link, data, ci.Timestamp, handle)
		if ci.Timestamp.Sub(lastTick) >= p.tickEvery {
			// Between timeouts a busy wire ticks on its own clock.
			lastTick = ci.Timestamp
			p.tick(ci.Timestamp)
		}
		p.mu.Unlock()
		p.alive.Store(time.Now().UnixNano())
	}
	return nil
}

// retire folds a finished source's counters into the totals.
func (p *Pipeline) retire(dec *capture.Decoder, src Source) {
	var k KernelStats
	if d, ok := src.(dropper); ok {
		if recv, drops, err := d.Drops(); err == nil {
			k = KernelStats{Received: recv, Dropped: drops}
			p.log.Info("capture stopped", "packets", recv, "kernel_drops", drops)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.decs, dec)
	p.decoded = p.decoded.Add(dec.Stats())
	p.kernel.Received += k.Received
	p.kernel.Dropped += k.Dropped
}

// Tick advances the calls' clock to now when no packet does: idle calls
// end and recordings are written out up to the hold-back.
func (p *Pipeline) Tick(now time.Time) {
	p.mu.Lock()
	p.tick(now)
	p.mu.Unlock()
	p.alive.Store(time.Now().UnixNano())
}

func (p *Pipeline) tick(now time.Time) {
	if p.closed {
		return
	}
	p.tr.Tick(now)
	if p.rec != nil {
		p.rec.Tick(now)
	}
}

// Close ends every call still open with the given reason ("stopped" at a
// clean shutdown, "capture_end" at the end of a file) and finishes its
// recording. Call it after every Run has returned.
func (p *Pipeline) Close(reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.tr.Flush(reason)
	if p.rec != nil {
		p.rec.Close()
	}
}

// Resume hands the tracker the calls that were in progress when the
// recorder last stopped (see track.Tracker.Resume).
func (p *Pipeline) Resume(ds []track.Dialog, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tr.Resume(ds, at)
}

// Alive is when the pipeline last saw a packet or a quiet wire: a capture
// loop that stops reporting is hung, and the watchdog should notice.
func (p *Pipeline) Alive() time.Time { return time.Unix(0, p.alive.Load()) }

// Stats returns the counters so far.
func (p *Pipeline) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Capture: p.decoded, Track: p.tr.Stats(), Kernel: p.kernel, Active: len(p.tr.Active())}
	for d := range p.decs {
		s.Capture = s.Capture.Add(d.Stats())
	}
	return s
}

// Calls returns a copy of each call in progress, oldest first: safe to
// read after the lock is released.
func (p *Pipeline) Calls() []track.Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	active := p.tr.Active()
	out := make([]track.Call, 0, len(active))
	for _, c := range active {
		out = append(out, c.Snapshot())
	}
	return out
}

// Errors of OptOut.
var (
	ErrNotLive  = errors.New("pipeline: no such call in progress")
	ErrOptedOut = errors.New("pipeline: the call is already opted out")
)

// OptOut stops recording a call in progress, and every other call of its
// conversation (a transfer's legs), at once; calls that a transfer joins
// to the conversation later are not recorded either. id is a call's id or
// its conversation's. It returns the ids of the conversation's calls in
// progress; each recording is closed when it returns, so the archive can
// destroy it.
func (p *Pipeline) OptOut(id string) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rec == nil {
		return nil, errors.New("pipeline: not recording")
	}
	conv := ""
	active := p.tr.Active()
	for _, c := range active {
		if c.ID == id || c.ConversationID == id {
			conv = c.ConversationID
			break
		}
	}
	if conv == "" {
		return nil, ErrNotLive
	}
	if p.rec.IsOptedOut(conv) {
		return nil, ErrOptedOut
	}
	// At the capture clock's now: audio that arrived before the request is
	// the recording's, nothing after.
	p.rec.OptOut(conv, p.tr.Now())
	var ids []string
	for _, c := range active {
		if c.ConversationID == conv {
			ids = append(ids, c.ID)
		}
	}
	return ids, nil
}

// OptedOutLive says whether a call in progress was opted out (the
// panel's LED asks it eight times a second: it allocates nothing).
func (p *Pipeline) OptedOutLive() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rec == nil {
		return false
	}
	for _, c := range p.tr.Active() {
		if p.rec.IsOptedOut(c.ConversationID) {
			return true
		}
	}
	return false
}

// LiveCall is a call in progress, as the live-calls page shows it.
type LiveCall struct {
	ID             string      `json:"id"`
	ConversationID string      `json:"conversation_id"`
	Start          time.Time   `json:"start"`
	Answered       time.Time   `json:"answered,omitzero"`
	Direction      string      `json:"direction"`
	From           track.Party `json:"from"`
	To             track.Party `json:"to"`
	Numbers        []string    `json:"numbers"`
	Codecs         []string    `json:"codecs"`
	Legs           int         `json:"legs"`
	Video          bool        `json:"video"`
	OptedOut       bool        `json:"opted_out"`
}

// Live returns the calls in progress, oldest first.
func (p *Pipeline) Live() []LiveCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []LiveCall
	for _, c := range p.tr.Active() {
		l := LiveCall{ID: c.ID, ConversationID: c.ConversationID, Start: c.Start.Time, Answered: c.Answered.Time,
			Direction: string(c.Direction), From: c.From, To: c.To, Numbers: append([]string(nil), c.Numbers...),
			Legs: len(c.Legs), Video: c.Video}
		for _, lg := range c.Legs {
			for _, m := range lg.Media {
				for _, codec := range m.Codecs {
					if codec == "TELEPHONE-EVENT" || codec == "CN" {
						continue // not audio
					}
					if !slices.Contains(l.Codecs, codec) {
						l.Codecs = append(l.Codecs, codec)
					}
				}
			}
		}
		if p.rec != nil {
			l.OptedOut = p.rec.IsOptedOut(c.ConversationID)
		}
		out = append(out, l)
	}
	return out
}
