package mix

import (
	"fmt"
	"io"
	"slices"
	"time"

	"callrec/recorder/capture"
	"callrec/recorder/mp3"
	"callrec/recorder/rtp"
	"callrec/recorder/track"
)

// Sink receives each recording's MP3 stream; storage implements it.
type Sink interface {
	// Create opens the stream for a call's recording. Close ends it.
	Create(c *track.Call) (io.WriteCloser, error)
}

// Info describes a finished recording.
type Info struct {
	Call     *track.Call
	Duration time.Duration
	Samples  int64 // per channel, at rtp.Rate: the exact length encoded
	Bytes    int64
	Flags    []string // one_way:left, one_way:right, no_media, unsupported_codec:NAME, extra_streams
	Channels [2]rtp.Stats
	Err      error // the sink or encoder failed; the recording is incomplete
}

// Config sets the recordings' format; a zero field takes the default.
type Config struct {
	Mono     bool          // one channel, both sides mixed (default stereo)
	Bitrate  int           // kbit/s (default 48 stereo, 32 mono)
	HoldBack time.Duration // how long audio waits for late packets (default 200 ms)
	// OnFinish, if set, is called when a recording is complete.
	OnFinish func(Info)
	// OnDTMF, if set, receives in-band DTMF digits heard in a call's G.711
	// audio; left says which channel (the outside party, for external calls).
	OnDTMF func(c *track.Call, digit string, left bool, at time.Time)
}

// Recorder makes the recordings. Feed it the tracker's events and RTP
// (track.Config.OnEvent and OnRTP) and Tick it when no packets come; like
// the tracker, it runs on the capture goroutine.
type Recorder struct {
	cfg  Config
	sink Sink
	recs map[*track.Call]*recording
	// optedOut are the conversations opted out of recording: no call of
	// theirs is recorded from then on, nor any call a transfer joins to
	// them.
	optedOut map[string]bool
}

// FlagOptedOut marks a recording stopped because a party asked, during
// the call, not to be recorded.
const FlagOptedOut = "opted_out"

// DefaultBitrate is the recordings' MP3 bitrate in kbit/s when none is
// set: 48 for stereo, 32 for mono (16 kHz speech).
func DefaultBitrate(mono bool) int {
	if mono {
		return 32
	}
	return 48
}

// Format is the MP3 stream the recorder writes with this configuration.
func (c Config) Format() mp3.Config {
	f := mp3.Config{SampleRate: rtp.Rate, Channels: 2, Bitrate: c.Bitrate}
	if c.Mono {
		f.Channels = 1
	}
	if f.Bitrate == 0 {
		f.Bitrate = DefaultBitrate(c.Mono)
	}
	return f
}

// New returns a recorder writing to sink.
func New(cfg Config, sink Sink) *Recorder {
	if cfg.Bitrate == 0 {
		cfg.Bitrate = DefaultBitrate(cfg.Mono)
	}
	if cfg.HoldBack == 0 {
		cfg.HoldBack = 200 * time.Millisecond
	}
	return &Recorder{cfg: cfg, sink: sink, recs: map[*track.Call]*recording{}, optedOut: map[string]bool{}}
}

// recording is one call's MP3 in the making.
type recording struct {
	call   *track.Call
	origin time.Time // the recording's time zero; zero until audio or answer
	stream *track.Stream
	ch     [2]*rtp.Channel // left, right
	left   bool            // the caller is on the left
	w      io.WriteCloser
	enc    *mp3.Encoder
	bufs   [2][]float32
	out    []float32
	flags  []string
	err    error
}

// Event handles a tracker event.
func (r *Recorder) Event(e track.Event) {
	switch e.Kind {
	case track.CallStarted:
		if _, ok := r.recs[e.Call]; !ok {
			r.recs[e.Call] = &recording{call: e.Call, left: e.Call.Direction != track.Outbound}
		}
	case track.Transferred:
		// A call joined to an opted-out conversation is not recorded.
		if rec := r.recs[e.Call]; rec != nil && r.optedOut[e.Call.ConversationID] {
			delete(r.recs, e.Call)
			r.stop(rec, e.Time)
		}
	case track.CallEnded:
		rec := r.recs[e.Call]
		if rec == nil {
			return
		}
		delete(r.recs, e.Call)
		r.finish(rec)
	}
}

// OptOut stops recording every call of a conversation at now: each
// recording is closed there, flagged opted_out and reported (what came
// before is the sink's to keep or destroy), and nothing more of the
// conversation is recorded, including calls that a transfer joins to it
// later. It returns the calls whose recordings it stopped.
func (r *Recorder) OptOut(conversation string, now time.Time) []*track.Call {
	r.optedOut[conversation] = true
	var out []*track.Call
	for c, rec := range r.recs {
		if c.ConversationID == conversation {
			delete(r.recs, c)
			r.stop(rec, now)
			out = append(out, c)
		}
	}
	return out
}

// stop ends a recording at now for an opt-out. A call with no audio yet
// gets no recording at all, only the flag.
func (r *Recorder) stop(rec *recording, now time.Time) {
	rec.flag(FlagOptedOut)
	if rec.origin.IsZero() {
		if r.cfg.OnFinish != nil {
			r.cfg.OnFinish(Info{Call: rec.call, Flags: rec.flags})
		}
		return
	}
	r.finishAt(rec, now)
}

// RTP places one packet of a call's audio.
func (r *Recorder) RTP(st *track.Stream, fromCaller bool, d *capture.Datagram) {
	rec := r.recs[st.Leg().Call()]
	if rec == nil {
		return
	}
	if rec.stream == nil {
		rec.stream = st
	} else if rec.stream != st {
		// Another leg of a B2BUA relays the same audio, or a second audio
		// line: the first stream heard is the recording.
		rec.flag("extra_streams")
		return
	}
	if rec.origin.IsZero() {
		r.start(rec, d.Time)
	}
	if rec.err != nil {
		return
	}
	r.advance(rec, d.Time.Add(-r.cfg.HoldBack), batch)
	side := 1
	if fromCaller == rec.left {
		side = 0
	}
	rec.ch[side].Push(d.Time, d.Payload)
}

// Tick writes out audio up to the hold-back before now in every recording.
func (r *Recorder) Tick(now time.Time) {
	for _, rec := range r.recs {
		if !rec.origin.IsZero() && rec.err == nil {
			r.advance(rec, now.Add(-r.cfg.HoldBack), batch)
		}
	}
}

// Close finishes every recording in progress (a clean shutdown).
func (r *Recorder) Close() {
	for c, rec := range r.recs {
		delete(r.recs, c)
		r.finish(rec)
	}
}

// start opens the recording at its origin: the answer, or the first audio
// if that came earlier (early media).
func (r *Recorder) start(rec *recording, firstAudio time.Time) {
	rec.origin = firstAudio
	if a := rec.call.Answered; !a.IsZero() && a.Before(firstAudio) {
		rec.origin = a.Time
	}
	lookup := func(pt uint8) (string, int, int, bool) {
		if rec.stream == nil {
			return "", 0, 0, false
		}
		c, ok := rec.stream.Codec(pt)
		return c.Name, c.Rate, c.Channels, ok
	}
	rec.ch = [2]*rtp.Channel{rtp.NewChannel(rec.origin, lookup), rtp.NewChannel(rec.origin, lookup)}
	if r.cfg.OnDTMF != nil {
		for i, ch := range rec.ch {
			left := i == 0
			ch.OnDigit = func(d byte, at time.Time) { r.cfg.OnDTMF(rec.call, string(d), left, at) }
		}
	}
	w, err := r.sink.Create(rec.call)
	if err != nil {
		rec.err = fmt.Errorf("mix: create recording: %w", err) // reported in Info.Err
		return
	}
	rec.w = w
	rec.enc, rec.err = mp3.NewEncoder(w, r.cfg.Format())
}

// batch is the least audio advance encodes at once while a call goes on:
// five frames (180 ms). One encoder's state (about 60 KB) then stays in
// cache for several frames, instead of being evicted by the other calls'
// between one 20 ms packet and the next.
const batch = 5 * 576

// advance encodes both channels up to time t, if at least least samples are
// due.
func (r *Recorder) advance(rec *recording, t time.Time, least int64) {
	upTo := (int64(t.Sub(rec.origin)) * rtp.Rate / int64(time.Second)) &^ 1 // channels read in pairs
	if upTo-rec.ch[0].Done() < least {
		return
	}
	for upTo > rec.ch[0].Done() {
		// A frame's worth at a time (the encoder's state stays hot through
		// the batch all the same): the buffers stay small.
		step := min(upTo, rec.ch[0].Done()+576)
		// Narrowband on both sides (G.711): zero-stuffed, and the encoder
		// drops the mirror image, instead of upsampling each side.
		narrow := rec.ch[0].Narrow(step) && rec.ch[1].Narrow(step)
		read := (*rtp.Channel).ReadFloat
		if narrow {
			read = (*rtp.Channel).ReadNarrow
		}
		rec.bufs[0] = read(rec.ch[0], rec.bufs[0][:0], step)
		rec.bufs[1] = read(rec.ch[1], rec.bufs[1][:0], step)
		l, rt := rec.bufs[0], rec.bufs[1]
		rt = rt[:len(l)]
		if r.cfg.Mono {
			rec.out = slices.Grow(rec.out[:0], len(l))[:len(l)]
			for i := range l {
				rec.out[i] = (l[i] + rt[i]) / 2
			}
		} else {
			rec.out = slices.Grow(rec.out[:0], 2*len(l))[:2*len(l)]
			for i := range l {
				rec.out[2*i], rec.out[2*i+1] = l[i], rt[i]
			}
		}
		write := rec.enc.WriteFloat
		if narrow {
			write = rec.enc.WriteNarrow
		}
		if _, err := write(rec.out); err != nil {
			rec.err = fmt.Errorf("mix: encode: %w", err) // reported in Info.Err
			return
		}
	}
}

// finish writes the recording out to the call's end and closes it.
func (r *Recorder) finish(rec *recording) {
	c := rec.call
	if rec.origin.IsZero() {
		if c.Answered.IsZero() {
			return // never answered, no audio: nothing to record
		}
		rec.flag("no_media")
		r.start(rec, c.Answered.Time)
	}
	r.finishAt(rec, c.End.Time)
}

// finishAt writes the recording out to end and closes it.
func (r *Recorder) finishAt(rec *recording, end time.Time) {
	c := rec.call
	info := Info{Call: c, Err: rec.err}
	if rec.err == nil {
		if end.Before(rec.origin) {
			end = rec.origin
		}
		r.advance(rec, end, 0)
		info.Samples = rec.ch[0].Done()
		info.Duration = time.Duration(info.Samples) * time.Second / rtp.Rate
		if rec.err == nil {
			if err := rec.enc.Close(); err != nil {
				rec.err = fmt.Errorf("mix: encode: %w", err)
			}
		}
	}
	if rec.w != nil {
		if err := rec.w.Close(); err != nil && rec.err == nil {
			rec.err = fmt.Errorf("mix: close recording: %w", err)
		}
		if rec.enc != nil {
			info.Bytes = rec.enc.Bytes()
		}
	}
	for i, name := range [2]string{"left", "right"} {
		if rec.w == nil {
			break // never recorded: what was (not) heard says nothing of the call
		}
		if rec.ch[i] != nil {
			info.Channels[i] = rec.ch[i].Stats()
		}
		if rec.ch[i] != nil && !rec.ch[i].Heard() {
			rec.flag("one_way:" + name)
		}
		if rec.ch[i] != nil && rec.ch[i].Unsupported() != "" {
			rec.flag("unsupported_codec:" + rec.ch[i].Unsupported())
		}
	}
	info.Flags, info.Err = rec.flags, rec.err
	if r.cfg.OnFinish != nil {
		r.cfg.OnFinish(info)
	}
}

func (rec *recording) flag(f string) {
	for _, x := range rec.flags {
		if x == f {
			return
		}
	}
	rec.flags = append(rec.flags, f)
}

// IsOptedOut says whether a conversation was opted out.
func (r *Recorder) IsOptedOut(conversation string) bool { return r.optedOut[conversation] }
