package rtp

import (
	"slices"
	"time"

	pionrtp "github.com/pion/rtp"

	"callrec/recorder/codec"
)

// Rate is the timeline's sample rate.
const Rate = 16000

// Timing bounds, in timeline samples.
const (
	window    = 8192                // samples held (0.51 s): the hold-back, jitter and the largest packet fit within; a power of two, for cheap ring indices
	maxJump   = Rate                // a timestamp this far from arrival time is a jump: re-anchor
	driftTol  = Rate * 6 / 1000     // 6 ms: how far the timeline may drift before a correction is due
	hardTol   = Rate * 15 / 1000    // 15 ms: a due correction waits for a pause no longer than this
	pauseGap  = Rate / 50           // 20 ms of nothing before a packet is a pause
	quietAbs  = 200                 // mean |sample| under this (-44 dBFS) is a pause in speech
	driftSpan = Rate                // the span over which network delay's minimum is measured
	upLead    = codec.UpsampleDelay // the 8 kHz upsampler's delay, read ahead to cancel it
)

// Lookup gives the codec of a payload type: its SDP name, RTP clock rate
// and channel count; ok is false for a type the call never announced.
type Lookup func(pt uint8) (name string, clock, channels int, ok bool)

// Stats counts what happened to one direction's packets.
type Stats struct {
	Packets     uint64 // placed on the timeline
	Late        uint64 // arrived after their place was written out
	Duplicates  uint64
	Reanchors   uint64 // SSRC changes and timestamp jumps
	DriftFixes  uint64 // corrections of a drifting clock
	Undecodable uint64 // payload types the box cannot decode: silence
}

// Channel is one direction. Push packets in arrival order; Read the
// timeline in order, some hold-back behind the newest arrival.
type Channel struct {
	origin time.Time
	lookup Lookup
	stats  Stats

	anchored bool
	ssrc     uint32
	clock    int
	ts0      int64 // extended timestamp at the anchor
	pos0     int64 // timeline position at the anchor
	extTS    int64 // last extended timestamp
	lastTS   uint32

	winStart int64 // arrival position where the delay window started
	winMin   int64 // least arrival-minus-timestamp delay seen in the window
	early    int   // consecutive packets earlier than the timeline allows
	// A drift correction waits in pending until it can fall in a pause:
	// it moves the timeline, which drops or inserts that much audio.
	pending   int64
	lastEnd   int64 // timeline position where the last packet's audio ended
	lastQuiet bool  // the last packet was a pause (or comfort noise)

	seqHigh int64 // highest extended sequence number seen
	seen    [16]uint64

	pt      int // payload type of dec, -1 none
	dec     codec.Decoder
	unknown string // name of the last undecodable codec

	b16, b8 []int16 // rings: 16 kHz and 8 kHz audio by position
	up      codec.Upsampler
	fed8    int64     // 8 kHz samples fed to the upsampler so far
	done    int64     // next timeline position to read
	scratch []float32 // Read's float output before rounding
	seq     []float32 // ReadNarrow's 8 kHz samples
	end16   int64     // timeline position past the last 16 kHz audio written
	end8    int64     // 8 kHz position past the last 8 kHz audio written
	pcm     []int16
	pkt     pionrtp.Packet
	heard   bool
	dtmf    codec.DTMFDetector
	digits  []byte
	// OnDigit, if set, receives in-band DTMF digits found in 8 kHz audio
	// (G.711), with the arrival time of the packet they start in.
	OnDigit func(digit byte, at time.Time)
}

// NewChannel returns a direction whose timeline starts at origin.
func NewChannel(origin time.Time, lookup Lookup) *Channel {
	return &Channel{origin: origin, lookup: lookup, pt: -1, b16: make([]int16, window), b8: make([]int16, window/2), seqHigh: -1}
}

// Stats returns the counters so far.
func (c *Channel) Stats() Stats { return c.stats }

// Heard reports whether any audio was placed: a direction that never sent
// leaves a silent channel, which the recording flags as one-way.
func (c *Channel) Heard() bool { return c.heard }

// Unsupported names the last codec seen that could not be decoded.
func (c *Channel) Unsupported() string { return c.unknown }

// Push places one RTP packet that arrived at the given capture time.
func (c *Channel) Push(arrival time.Time, buf []byte) {
	if err := c.pkt.Unmarshal(buf); err != nil || len(c.pkt.Payload) == 0 {
		return
	}
	h := &c.pkt.Header
	name, clock, channels, ok := c.lookup(h.PayloadType)
	if !ok || clock <= 0 {
		c.stats.Undecodable++
		return
	}
	if int(h.PayloadType) != c.pt || c.dec == nil {
		dec, ok := codec.New(name, clock, channels)
		if !ok {
			c.stats.Undecodable++
			c.unknown = name
			c.pt, c.dec = int(h.PayloadType), nil
			return
		}
		c.pt, c.dec = int(h.PayloadType), dec
	}
	arrivalPos := int64(arrival.Sub(c.origin)) * Rate / int64(time.Second)
	if !c.anchored || h.SSRC != c.ssrc || clock != c.clock {
		c.anchor(h, clock, arrivalPos)
	} else if !c.fresh(h.SequenceNumber) {
		c.stats.Duplicates++
		return
	}
	pos := c.place(h.Timestamp, arrivalPos)
	c.pcm = c.dec.Decode(c.pcm[:0], c.pkt.Payload)
	quiet := isQuiet(c.pcm)
	if c.pending != 0 && c.canShift(pos, quiet) {
		c.stats.DriftFixes++
		c.pos0 += c.pending
		pos += c.pending
		c.winMin -= c.pending
		c.pending, c.early = 0, 0
	}
	c.lastQuiet = quiet
	c.lastEnd = pos + int64(len(c.pcm)*Rate/c.dec.Rate())
	if c.OnDigit != nil && c.dec.Rate() == Rate/2 {
		c.digits = c.dtmf.Feed(c.pcm, c.digits[:0])
		for _, d := range c.digits {
			c.OnDigit(d, arrival)
		}
	}
	c.write(pos, c.pcm, c.dec.Rate())
}

// anchor starts a new mapping from RTP time to the timeline at the
// packet's arrival: the first packet, a new SSRC, a new clock rate.
func (c *Channel) anchor(h *pionrtp.Header, clock int, arrivalPos int64) {
	if c.anchored {
		c.stats.Reanchors++
	}
	c.anchored, c.ssrc, c.clock = true, h.SSRC, clock
	c.extTS, c.lastTS = int64(h.Timestamp), h.Timestamp
	c.ts0, c.pos0 = c.extTS, arrivalPos&^1
	c.winStart, c.winMin = arrivalPos, 0
	c.seen = [16]uint64{}
	c.seqHigh = int64(h.SequenceNumber)
	c.mark(c.seqHigh)
}

// fresh reports whether a sequence number is new, and records it.
func (c *Channel) fresh(seq uint16) bool {
	ext := c.seqHigh + int64(int16(seq-uint16(c.seqHigh)))
	switch {
	case ext > c.seqHigh:
		for s := c.seqHigh + 1; s < ext && s <= c.seqHigh+1024; s++ {
			c.unmark(s)
		}
		c.seqHigh = ext
	case ext <= c.seqHigh-1024:
		return false // older than the window: treat as a stale copy
	case c.marked(ext):
		return false
	}
	c.mark(ext)
	return true
}

func (c *Channel) mark(s int64)        { c.seen[(s>>6)&15] |= 1 << (s & 63) }
func (c *Channel) unmark(s int64)      { c.seen[(s>>6)&15] &^= 1 << (s & 63) }
func (c *Channel) marked(s int64) bool { return c.seen[(s>>6)&15]&(1<<(s&63)) != 0 }

// place maps a timestamp to a timeline position, correcting jumps and
// drift against arrival time.
func (c *Channel) place(ts uint32, arrivalPos int64) int64 {
	c.extTS += int64(int32(ts - c.lastTS)) // unwraps 32-bit wrap-around
	c.lastTS = ts
	pos := c.pos0 + (c.extTS-c.ts0)*Rate/int64(c.clock)
	d := arrivalPos - pos // network delay plus drift; never much below 0
	switch {
	case d > maxJump || d < -maxJump:
		// A timestamp jump (a re-INVITE, a new source behind the same
		// SSRC): start again from arrival time.
		c.stats.Reanchors++
		c.ts0, c.pos0 = c.extTS, arrivalPos&^1
		c.winStart, c.winMin, c.pending = arrivalPos, 0, 0
		return c.pos0
	case d < -driftTol:
		// Early by more than the tolerance: the anchor packet was delayed,
		// or the sender's clock runs fast. Twice in a row (one packet that
		// overtook another is not enough), the timeline is due to move back.
		c.early++
		if c.early >= 2 {
			c.pending = d &^ 1
		}
	default:
		c.early = 0
	}
	if arrivalPos-c.winStart < driftSpan {
		c.winMin = min(c.winMin, d)
		if c.winStart == arrivalPos {
			c.winMin = d
		}
		return pos
	}
	// A window ended. If even the least delayed packet in it was late by
	// more than the tolerance, the sender's clock runs slow: the timeline
	// is due to move forward.
	if c.winMin > driftTol {
		c.pending = c.winMin &^ 1
	}
	c.winStart, c.winMin = arrivalPos, d
	return pos
}

// canShift reports whether a due drift correction may move the timeline
// before a packet placed at pos: in a pause (this packet and the one
// before it quiet), or in a gap in the audio at least as long as a
// backward move; or at once when the drift has grown near the limit of
// what the recording may be off (hardTol), speech or not.
func (c *Channel) canShift(pos int64, quiet bool) bool {
	switch gap := pos - c.lastEnd; {
	case c.pending > hardTol || c.pending < -hardTol:
		return true
	case quiet && c.lastQuiet:
		return true
	case c.pending > 0:
		return gap >= pauseGap // inserting silence into a pause
	default:
		return gap >= pauseGap-c.pending // moving back into a pause, never over audio
	}
}

// isQuiet reports whether decoded audio is a pause: comfort noise (no
// samples) or a level under quietAbs.
func isQuiet(pcm []int16) bool {
	if len(pcm) == 0 {
		return true
	}
	var sum int
	for _, s := range pcm {
		sum += int(max(s, -s))
	}
	return sum < quietAbs*len(pcm)
}

// write puts decoded samples at a timeline position.
func (c *Channel) write(pos int64, pcm []int16, rate int) {
	if len(pcm) == 0 {
		c.stats.Packets++ // comfort noise: placed, silent
		return
	}
	switch rate {
	case Rate:
	case Rate / 2:
		c.write8(pos/2, pcm)
		return
	default:
		pcm = codec.Resample(nil, pcm, rate, Rate)
	}
	if pos+int64(len(pcm)) <= c.done {
		c.stats.Late++
		return
	}
	if pos > c.done+window-int64(len(pcm)) {
		c.stats.Late++ // too far ahead to hold: should not happen after anchoring
		return
	}
	c.stats.Packets++
	c.heard = true
	for i, s := range pcm {
		p := pos + int64(i)
		if p >= c.done {
			c.b16[p&(window-1)] = s
		}
	}
	c.end16 = max(c.end16, pos+int64(len(pcm)))
}

// write8 stores 8 kHz audio, upsampled in order when read.
func (c *Channel) write8(pos8 int64, pcm []int16) {
	consumed := c.fed8
	if pos8+int64(len(pcm)) <= consumed || pos8 > consumed+window/2-int64(len(pcm))-upLead {
		c.stats.Late++
		return
	}
	c.stats.Packets++
	c.heard = true
	for i, s := range pcm {
		if p := pos8 + int64(i); p >= consumed {
			c.b8[p&(window/2-1)] = s
		}
	}
	c.end8 = max(c.end8, pos8+int64(len(pcm)))
}

// Read appends the timeline up to position upTo (even, at most a window
// ahead of what was read) and forgets it.
func (c *Channel) Read(dst []int16, upTo int64) []int16 {
	c.scratch = c.ReadFloat(c.scratch[:0], upTo)
	for _, v := range c.scratch {
		dst = append(dst, int16(max(min(int32(v+32768.5)-32768, 32767), -32768))) // rounded
	}
	return dst
}

// ReadFloat is Read with float output on the int16 scale: the recorder
// hands it to the encoder without rounding to 16 bits and back.
func (c *Channel) ReadFloat(dst []float32, upTo int64) []float32 {
	upTo &^= 1
	if upTo <= c.done {
		return dst
	}
	start := len(dst)
	var in [256]int16
	if c.fed8 == 0 {
		// Prime the upsampler with the first upLead/2 input samples; its
		// output for them is the filter's start-up and is dropped.
		for i := range upLead / 2 {
			in[i] = c.b8[i]
			c.b8[i] = 0
		}
		c.up.UpsampleFloat(dst[:start:start], in[:upLead/2])
		c.fed8 = upLead / 2
	}
	// 8 kHz part: the upsampler runs upLead/2 input samples ahead of the
	// timeline, which cancels its delay. Past the last 8 kHz audio and the
	// filter's length, its output is silence: nothing to filter (a 16 kHz
	// codec, or a quiet direction).
	from8, to8 := c.fed8, upTo/2+upLead/2
	if quiet := c.end8 + upLead; from8 >= quiet {
		dst = slices.Grow(dst, int(upTo-c.done))[:len(dst)+int(upTo-c.done)]
		clear(dst[start:])
		from8 = to8
	}
	for p := from8; p < to8; {
		n := int(min(to8-p, int64(len(in))))
		for i := range n {
			k := (p + int64(i)) & (window/2 - 1)
			in[i] = c.b8[k]
			c.b8[k] = 0
		}
		dst = c.up.UpsampleFloat(dst, in[:n])
		p += int64(n)
	}
	c.fed8 = to8
	// 16 kHz part: added where any was written (never, for G.711).
	out := dst[start:]
	for i := range out[:max(min(c.end16-c.done, int64(len(out))), 0)] {
		k := (c.done + int64(i)) & (window - 1)
		out[i] += float32(c.b16[k])
		c.b16[k] = 0
	}
	c.done = upTo
	return dst
}

// Narrow reports whether the timeline up to upTo holds only 8 kHz audio
// (or none): ReadNarrow can then hand it on without upsampling.
func (c *Channel) Narrow(upTo int64) bool { return c.end16 <= c.done }

// ReadNarrow is ReadFloat for a stretch Narrow allows, with the 8 kHz
// samples zero-stuffed instead of upsampled: each at twice its value on
// the even positions (the same place ReadFloat puts it), zero on the odd.
// Its spectrum holds the audio's mirror image above 4 kHz, which the
// encoder's narrowband mode drops in the frequency domain, in place of
// the upsampler's low-pass filter.
func (c *Channel) ReadNarrow(dst []float32, upTo int64) []float32 {
	upTo &^= 1
	if upTo <= c.done {
		return dst
	}
	var in [256]int16
	if c.fed8 == 0 {
		for i := range upLead / 2 {
			in[i] = c.b8[i]
			c.b8[i] = 0
		}
		c.up.Skip(in[:upLead/2])
		c.fed8 = upLead / 2
	}
	// The 8 kHz samples for [done, upTo): the first upLead/2 were taken in
	// the last read (the upsampler reads that far ahead) and are the last
	// in its history; the rest come from the ring now.
	seq := append(c.seq[:0], c.up.Recent(upLead/2)...)
	from8, to8 := c.fed8, upTo/2+upLead/2
	for p := from8; p < to8; {
		n := int(min(to8-p, int64(len(in))))
		for i := range n {
			k := (p + int64(i)) & (window/2 - 1)
			in[i] = c.b8[k]
			c.b8[k] = 0
		}
		for _, v := range in[:n] {
			seq = append(seq, float32(v))
		}
		c.up.Skip(in[:n])
		p += int64(n)
	}
	c.seq = seq
	start := len(dst)
	n := int(upTo - c.done)
	dst = slices.Grow(dst, n)[:start+n]
	out := dst[start:]
	for j, v := range seq[:n/2] {
		out[2*j], out[2*j+1] = 2*v, 0
	}
	c.fed8 = to8
	c.done = upTo
	return dst
}

// Done is the timeline position read so far.
func (c *Channel) Done() int64 { return c.done }
