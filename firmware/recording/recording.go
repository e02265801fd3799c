package recording

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"callrec/recorder/mix"
	"callrec/recorder/mp3"
	"callrec/recorder/pipeline"
	"callrec/recorder/rtp"
	"callrec/recorder/track"
	"callrec/storage/archive"
	"callrec/storage/index"
)

// Archive is where recordings go; *archive.Archive is one.
type Archive interface {
	Create(r *index.Record) (*archive.Writer, error)
	SaveCall(r *index.Record)
	Finish(id string, f archive.Finished)
	SaveLive(id string, state []byte)
	DropLive(ids ...string)
	Live() (map[string][]byte, error)
	BySource(source string) (string, error)
	OptedOut(id string) bool
}

// ErrAlreadyStored is a call that the archive already holds (SkipStored).
var ErrAlreadyStored = errors.New("recording: the call is already stored")

// errOptedOut is a call that continues, after a restart, one that was
// opted out: it is not recorded either.
var errOptedOut = errors.New("recording: the call continues one that was opted out")

// errDoNotRecord is a call with a number on the do-not-record list.
var errDoNotRecord = errors.New("recording: a number of the call is on the do-not-record list")

// FlagDoNotRecord marks a call not recorded because a number of it is on
// the do-not-record list.
const FlagDoNotRecord = "do_not_record"

var _ Archive = (*archive.Archive)(nil)

// Config sets the recordings' format and what else sees them.
type Config struct {
	Mix   mix.Config   // format; its OnFinish is the Sink's (use OnFinish below)
	Track track.Config // call classification; its OnEvent and OnRTP are the pipeline's
	// OnFinish, if set, also sees each finished recording.
	OnFinish func(mix.Info)
	// OnEvent, if set, also sees each tracker event.
	OnEvent func(track.Event)
	// DoNotRecord, if set, lists numbers whose calls are never recorded:
	// only their metadata is kept, flagged.
	DoNotRecord interface{ Listed(numbers []string) bool }
	// SkipStored leaves alone every call the archive already holds from
	// the same source (Record.Source): a capture ingested twice changes
	// nothing the second time. Its recordings finish with ErrAlreadyStored.
	SkipStored bool
}

// Sink records calls into an archive.
type Sink struct {
	a    Archive
	log  *slog.Logger
	mp3  mp3.Config
	cfg  Config
	skip map[*track.Call]bool // SkipStored: calls already stored (the capture goroutine's)
	live map[*track.Call]bool // calls whose state is kept for a restart (the capture goroutine's)

	attempts bucket        // unanswered attempts kept (the capture goroutine's)
	dropped  atomic.Uint64 // unanswered attempts beyond the rate, not kept
}

// attemptsPerSecond and attemptBurst bound how many unanswered attempts
// the index keeps: a real practice has a handful a minute; a flood has
// thousands a second.
const (
	attemptsPerSecond = 5
	attemptBurst      = 200
)

// bucket is a token bucket on the capture clock.
type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) allow(now time.Time) bool {
	if b.last.IsZero() {
		b.tokens = attemptBurst
	} else if d := now.Sub(b.last).Seconds(); d > 0 {
		b.tokens = min(b.tokens+d*attemptsPerSecond, attemptBurst)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// DroppedAttempts is how many unanswered attempts were not kept (beyond
// the rate): the status page shows it.
func (s *Sink) DroppedAttempts() uint64 { return s.dropped.Load() }

// attempt is the compact record of a call that nothing answered: who
// tried whom, when, and how it ended, without legs or media.
func attempt(c *track.Call) *index.Record {
	r := Record(c)
	r.Legs, r.Codecs = nil, nil
	if len(r.SIPCallIDs) > 1 {
		r.SIPCallIDs = r.SIPCallIDs[:1]
	}
	r.Flags = append(r.Flags, "unanswered_attempt")
	return r
}

// New returns a sink recording into a.
func New(a Archive, cfg Config, log *slog.Logger) *Sink {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sink{a: a, log: log, mp3: cfg.Mix.Format(), cfg: cfg, skip: map[*track.Call]bool{}, live: map[*track.Call]bool{}}
}

// Pipeline is the configuration of a recording pipeline that stores
// every call it hears in the archive.
func (s *Sink) Pipeline() pipeline.Config {
	mc := s.cfg.Mix
	mc.OnFinish = s.finished
	return pipeline.Config{Track: s.cfg.Track, Sink: s, Mix: mc, OnEvent: s.event}
}

// Create starts a call's recording in the archive (mix.Sink).
func (s *Sink) Create(c *track.Call) (io.WriteCloser, error) {
	if s.skip[c] {
		return nil, ErrAlreadyStored
	}
	if c.Continues != "" && s.a.OptedOut(c.Continues) {
		return nil, errOptedOut
	}
	if s.cfg.DoNotRecord != nil && s.cfg.DoNotRecord.Listed(c.Numbers) {
		return nil, errDoNotRecord
	}
	r := Record(c)
	r.Recording = index.Recording{Bitrate: s.mp3.Bitrate, Channels: s.mp3.Channels}
	w, err := s.a.Create(r)
	if err != nil {
		return nil, err
	}
	return w, nil
}

// event keeps the index in step with the tracker, and keeps what is
// needed to follow each call in progress after a restart.
func (s *Sink) event(e track.Event) {
	if s.cfg.SkipStored && e.Kind == track.CallStarted && !s.skip[e.Call] {
		id, err := s.a.BySource(SourceKey(e.Call))
		if err != nil || id != "" {
			s.skip[e.Call] = true // unreadable counts as stored: nothing is overwritten
		}
	}
	if s.skip[e.Call] {
		if e.Kind == track.CallEnded {
			delete(s.skip, e.Call)
		}
		if s.cfg.OnEvent != nil {
			s.cfg.OnEvent(e)
		}
		return
	}
	c := e.Call
	switch e.Kind {
	case track.CallEnded:
		// Every call that anyone answered, rang or sent audio for goes to
		// the index. An attempt that nothing answered (an INVITE and
		// nothing since, as a flood of bogus INVITEs) is kept compactly,
		// at most attemptsPerSecond on average, and counted when dropped.
		if c.Responded() {
			s.a.SaveCall(Record(c))
		} else if s.attempts.allow(c.End.Time) {
			s.a.SaveCall(attempt(c))
		} else {
			s.dropped.Add(1)
		}
		if s.live[c] {
			delete(s.live, c)
			s.a.DropLive(c.ID)
		}
	case track.Transferred:
		if c.Responded() {
			s.a.SaveCall(Record(c))
		}
	}
	switch e.Kind {
	case track.CallStarted, track.MediaChanged, track.Held, track.Resumed, track.Transferred:
		// What a restart needs to follow the call, once it is a call.
		if c.Responded() && !c.Ended() {
			if b, err := json.Marshal(c.Dialog()); err == nil {
				s.a.SaveLive(c.ID, b)
				s.live[c] = true
			}
		}
	}
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(e)
	}
}

// FlagDiskFull marks a call not recorded because the disk was full (below
// its reserve) when it was answered.
const FlagDiskFull = "not_recorded:disk_full"

// Flags of a call's media, for search: it carried video (only its audio
// is recorded), or its audio was SRTP.
const (
	FlagVideo = "video"
	FlagSRTP  = "srtp"
)

// finished notes what the recorder says of a finished recording.
func (s *Sink) finished(i mix.Info) {
	if errors.Is(i.Err, ErrAlreadyStored) {
		if s.cfg.OnFinish != nil {
			s.cfg.OnFinish(i)
		}
		return
	}
	switch {
	case errors.Is(i.Err, errOptedOut):
		i.Flags, i.Err = append(slices.Clone(i.Flags), mix.FlagOptedOut), nil
	case errors.Is(i.Err, errDoNotRecord):
		i.Flags, i.Err = append(slices.Clone(i.Flags), mix.FlagOptedOut, FlagDoNotRecord), nil
	case errors.Is(i.Err, archive.ErrDiskFull):
		// Refused at the start for lack of space: said so on the call.
		i.Flags = append(slices.Clone(i.Flags), FlagDiskFull)
	case i.Err != nil:
		s.log.Error("recording incomplete", "call_id", i.Call.ID, "err", i.Err)
	}
	s.a.Finish(i.Call.ID, archive.Finished{Duration: i.Duration, Samples: i.Samples, Flags: i.Flags})
	if s.cfg.OnFinish != nil {
		s.cfg.OnFinish(i)
	}
}

// Resumer is the pipeline a restart hands its calls in progress to.
type Resumer interface {
	Resume(ds []track.Dialog, at time.Time)
}

// Resume hands p the calls that were in progress when the recorder last
// stopped (a crash, a power cut, an update), so that each goes on being
// recorded as part two of the same conversation; and forgets them in the
// archive, where each keeps its state again once it is heard from. It
// returns how many there were.
func (s *Sink) Resume(p Resumer, at time.Time) (int, error) {
	live, err := s.a.Live()
	if err != nil {
		return 0, err
	}
	var ds []track.Dialog
	var ids []string
	for id, b := range live {
		ids = append(ids, id)
		var d track.Dialog
		if err := json.Unmarshal(b, &d); err != nil {
			s.log.Error("a call in progress at the last stop is unreadable: not resumed", "call_id", id, "err", err)
			continue
		}
		ds = append(ds, d)
	}
	p.Resume(ds, at)
	if len(ids) > 0 {
		s.a.DropLive(ids...)
		s.log.Info("calls in progress at the last stop will be followed again", "calls", len(ds))
	}
	return len(ds), nil
}

// Record copies what the tracker knows of a call into an index record.
// It runs on the capture goroutine: the disk worker must not read the
// call, which the tracker goes on changing.
func Record(c *track.Call) *index.Record {
	r := &index.Record{ID: c.ID, ConversationID: c.ConversationID, SIPCallIDs: slices.Clone(c.SIPCallIDs)}
	r.Start, r.Answered, r.End = c.Start.Time, c.Answered.Time, c.End.Time
	r.EndReason, r.Direction, r.Continues = c.EndReason, string(c.Direction), c.Continues
	r.Source = SourceKey(c)
	r.From = party(c.From)
	r.To = party(c.To)
	r.Numbers, r.Flags = slices.Clone(c.Numbers), slices.Clone(c.Flags)
	for _, e := range []string{c.From.Extension, c.To.Extension} {
		if e != "" && !slices.Contains(r.Extensions, e) {
			r.Extensions = append(r.Extensions, e)
		}
	}
	for _, l := range c.Legs {
		leg := index.Leg{CallID: l.CallID}
		if l.Caller.IsValid() {
			leg.Caller, leg.Callee = l.Caller.String(), l.Callee.String()
		}
		r.Legs = append(r.Legs, leg)
		if len(l.Video) > 0 && !slices.Contains(r.Flags, FlagVideo) {
			r.Flags = append(r.Flags, FlagVideo) // its video was seen, and not recorded
		}
		for _, m := range l.Media {
			if m.Crypto && !slices.Contains(r.Flags, FlagSRTP) {
				r.Flags = append(r.Flags, FlagSRTP)
			}
			for _, codec := range m.Codecs {
				if !slices.Contains(r.Codecs, codec) {
					r.Codecs = append(r.Codecs, codec)
				}
			}
		}
	}
	return r
}

// SourceKey names a call as the wire showed it: a digest of its first
// SIP Call-ID, the caller's tag and the start (or, for an unsignalled
// call, its addresses and start). The same capture ingested twice gives
// the same keys; nothing an attacker chooses can match another call's
// key without being that call.
func SourceKey(c *track.Call) string {
	h := sha256.New()
	if len(c.SIPCallIDs) > 0 {
		fmt.Fprintf(h, "sip\x00%s\x00", c.SIPCallIDs[0])
	}
	if len(c.Legs) > 0 {
		l := c.Legs[0]
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", l.FromTag, l.Caller, l.Callee)
	}
	fmt.Fprintf(h, "%d", c.Start.UnixNano())
	return hex.EncodeToString(h.Sum(nil))
}

func party(p track.Party) index.Party {
	return index.Party{Raw: p.Raw, E164: p.E164, Extension: p.Extension, Name: p.Name}
}

// Format is the recordings' MP3 framing, as the archive needs it.
type Format struct{}

var _ archive.Format = Format{}

func streamConfig(r index.Recording) mp3.Config {
	c := mix.Config{Mono: r.Channels == 1, Bitrate: r.Bitrate}
	return c.Format()
}

// InfoFrame makes an export's Info frame.
func (Format) InfoFrame(r index.Recording, n int64) ([]byte, error) {
	cfg := streamConfig(r)
	return mp3.InfoFrame(cfg, mp3.Written{Frames: cfg.Frames(n), Bytes: n, Samples: r.Samples})
}

// Samples is the audio, per channel, that n bytes of the stream hold.
func (Format) Samples(r index.Recording, n int64) int64 {
	cfg := streamConfig(r)
	return max(cfg.Frames(n)*int64(cfg.SamplesPerFrame())-mp3.Delay, 0)
}

// SampleRate is the recordings' sample rate.
func (Format) SampleRate() int { return rtp.Rate }
