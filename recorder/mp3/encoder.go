package mp3

import (
	"errors"
	"fmt"
	"io"
	"math"
)

// ErrClosed is returned by Write and Close after Close.
var ErrClosed = errors.New("mp3: encoder closed")

// Encoder writes PCM as a constant-bitrate Layer III stream.
type Encoder struct {
	w       io.Writer
	written int64 // bytes written to w
	samples int64 // input samples per channel
	f       format
	nch     int

	in       [2][1152]float32 // one frame of pending input per channel
	narrow   bool             // all of the pending input came through WriteNarrow
	nin      int              // samples per channel in 'in'
	fb       [2]filterbank
	sp       [][2]spectrum // [granule][channel]: one granule per frame in MPEG-2
	gr       [][2]*granule
	spare    [2]*granule // each channel's scratch for the rate loop's trials
	ms       bool        // this frame is coded as mid/side
	regions  regionSearch
	lastGain [2]int // each channel's last global_gain: the next search's start
	cap      [2]capResult
	pad      int // accumulated padding fraction (numerator)

	out       []byte // frames not yet written to w
	slots     []slot // unfilled main-data space in out, oldest first
	frameEnds []int  // end of each frame in out
	main      bitWriter
	side      bitWriter

	frames int64
	err    error
}

// slot is main-data space in a pending frame: out[pos:end] is still free.
type slot struct{ pos, end int }

// NewEncoder returns an encoder writing to w.
func NewEncoder(w io.Writer, cfg Config) (*Encoder, error) {
	f, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	e := &Encoder{w: w, f: f, nch: cfg.Channels,
		sp: make([][2]spectrum, f.granules), gr: make([][2]*granule, f.granules)}
	for g := range e.gr {
		e.gr[g] = [2]*granule{{}, {}}
	}
	e.spare = [2]*granule{{}, {}}
	maxFrame := 144*320*1000/32000 + 1
	e.out = make([]byte, 0, 8*maxFrame)
	e.slots = make([]slot, 0, 8)
	e.frameEnds = make([]int, 0, 8)
	e.main.buf = make([]byte, 0, 2*maxFrame)
	e.side.buf = make([]byte, 0, 40)
	return e, nil
}

// Delay is the number of samples by which the decoded stream lags the input:
// the polyphase filterbank's and the MDCT overlap's.
const Delay = 481 + 576

// Write encodes interleaved samples (one per channel per instant). It may
// take any number of samples; a trailing partial instant is an error.
func (e *Encoder) Write(pcm []int16) (int, error) { return write(e, pcm, false) }

// WriteFloat is Write for samples on the int16 scale held as float32
// (the recorder's mixer output, never rounded to 16 bits).
func (e *Encoder) WriteFloat(pcm []float32) (int, error) { return write(e, pcm, false) }

// WriteNarrow is WriteFloat for narrowband audio zero-stuffed to the
// stream's rate: every other sample (from the stream's first, counting
// from zero: the odd ones) is zero, and what lies in the upper half of
// the band is the audio's mirror image. The encoder skips the zero
// samples' half of the polyphase filter and drops the upper half of the
// spectrum, which the image fills, in place of an upsampler's low-pass:
// half the filterbank's work. Only for 16 kHz streams fed an even number
// of samples at a time; elsewhere it is WriteFloat.
func (e *Encoder) WriteNarrow(pcm []float32) (int, error) {
	return write(e, pcm, e.f.SampleRate == 16000 && (len(pcm)/e.nch)%2 == 0)
}

func write[T int16 | float32](e *Encoder, pcm []T, narrow bool) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if len(pcm)%e.nch != 0 {
		return 0, fmt.Errorf("mp3: %d samples is not a whole number of %d-channel instants", len(pcm), e.nch)
	}
	spf := e.f.samplesPerFrame()
	const scale = 1.0 / 32767
	done := 0
	for done < len(pcm) {
		if e.nin == 0 {
			e.narrow = true // until a wide sample comes
		}
		e.narrow = e.narrow && narrow && e.samples%2 == 0
		// As much as the frame still takes, deinterleaved in one loop.
		n := min(spf-e.nin, (len(pcm)-done)/e.nch)
		if e.nch == 2 {
			src := pcm[done : done+2*n]
			l, r := e.in[0][e.nin:e.nin+n], e.in[1][e.nin:e.nin+n]
			for i := range l {
				l[i] = float32(src[2*i]) * scale
				r[i] = float32(src[2*i+1]) * scale
			}
		} else {
			for i, v := range pcm[done : done+n] {
				e.in[0][e.nin+i] = float32(v) * scale
			}
		}
		e.nin += n
		e.samples += int64(n)
		done += n * e.nch
		if e.nin == spf {
			if err := e.encodeFrame(); err != nil {
				e.err = err
				return done, err
			}
			e.nin = 0
		}
	}
	return len(pcm), nil
}

// Close encodes the remaining samples, padding with silence until the
// decoder has output every input sample, and writes the last frames.
func (e *Encoder) Close() error {
	if e.err != nil {
		if e.err == ErrClosed {
			return ErrClosed
		}
		return e.err
	}
	spf := e.f.samplesPerFrame()
	// Samples still owed to the decoder: the partial frame plus the delay.
	owed := e.nin + Delay
	for owed > 0 {
		clear(e.in[0][e.nin:spf])
		clear(e.in[1][e.nin:spf])
		owed -= spf
		if err := e.encodeFrame(); err != nil {
			e.err = err
			return err
		}
		e.nin = 0
	}
	// The reservoir's free space stays as ancillary zeros.
	e.slots = e.slots[:0]
	err := e.flush()
	if err == nil {
		err = ErrClosed
	}
	e.err = err
	if err == ErrClosed {
		return nil
	}
	return err
}

// Frames is the number of frames encoded so far.
func (e *Encoder) Frames() int64 { return e.frames }

// Bytes is the length of the stream written so far.
func (e *Encoder) Bytes() int64 { return e.written }

// Samples is the number of input samples per channel taken so far.
func (e *Encoder) Samples() int64 { return e.samples }

func (e *Encoder) encodeFrame() error {
	f := &e.f
	num, den := f.frameBytes()
	frameLen := num / den
	e.pad += num % den
	padding := 0
	if e.pad >= den {
		e.pad -= den
		padding = 1
	}
	frameLen += padding
	slotBytes := frameLen - 4 - f.sideInfoLen

	// The reservoir: free space in earlier frames, up to main_data_begin's
	// range. Space beyond it stays unused (ancillary zeros).
	free := 0
	for _, s := range e.slots {
		free += s.end - s.pos
	}
	for free > f.maxMDB {
		s := &e.slots[0]
		n := min(s.end-s.pos, free-f.maxMDB)
		s.pos += n
		free -= n
		if s.pos == s.end {
			e.popSlot()
		}
	}
	mdb := free

	for g := range f.granules {
		for ch := range e.nch {
			e.sp[g][ch].lines = e.fb[ch].analyze(e.in[ch][g*576:g*576+576], &e.sp[g][ch].xr, e.narrow)
		}
	}
	e.ms = e.nch == 2 && e.chooseMS()
	for g := range f.granules {
		if e.ms {
			n := max(e.sp[g][0].lines, e.sp[g][1].lines)
			e.sp[g][0].lines, e.sp[g][1].lines = n, n
			l, r := e.sp[g][0].xr[:n], e.sp[g][1].xr[:n]
			for i := range l {
				m, s := (l[i]+r[i])*math.Sqrt2/2, (l[i]-r[i])*math.Sqrt2/2
				l[i], r[i] = m, s
			}
		}
		for ch := range e.nch {
			e.sp[g][ch].prepare()
		}
	}

	// Rate control: each granule may spend its share of the frame plus part
	// of the reservoir; what it leaves returns to the reservoir.
	mean := slotBytes * 8 / f.granules
	resv := mdb * 8
	for g := range f.granules {
		target := mean + resv/2
		limit := mean + resv
		// Bits the last granule leaves beyond what main_data_begin can reach
		// would be wasted as padding: it spends them, SNR cap or not.
		floor := 0
		if g == f.granules-1 {
			floor = limit - f.maxMDB*8
		}
		used := e.allocate(g, target, limit, floor)
		resv += mean - used
	}

	e.writeMainData()
	e.writeSideInfo(mdb)
	return e.appendFrame(frameLen, padding)
}

// chooseMS decides mid/side coding for the frame: it is used when it lowers
// the product of the two channels' band energies, which predicts fewer bits
// at the same noise, as when both channels carry the same sound.
func (e *Encoder) chooseMS() bool {
	var lr, ms float64
	for g := range e.f.granules {
		n := max(e.sp[g][0].lines, e.sp[g][1].lines) // zero above
		l, r := &e.sp[g][0].xr, &e.sp[g][1].xr
		var total float64
		for i := range n {
			total += float64(l[i]*l[i] + r[i]*r[i])
		}
		if total == 0 {
			continue
		}
		floor := total / 576 * 1e-4
		sfb := e.f.sfb
		for b := range 22 {
			if sfb[b] >= n {
				// Empty bands: both sums are the floor alone, equal for L/R
				// and M/S.
				break
			}
			var el, er, em, es float64
			for i := sfb[b]; i < sfb[b+1]; i++ {
				a, c := float64(l[i]), float64(r[i])
				el += a * a
				er += c * c
				em += (a + c) * (a + c) / 2
				es += (a - c) * (a - c) / 2
			}
			w := float64(sfb[b+1] - sfb[b])
			fl := floor * w
			lr += w * (log2(el+fl) + log2(er+fl))
			ms += w * (log2(em+fl) + log2(es+fl))
		}
	}
	return ms < lr-1
}

// snrCap is the noise-to-signal ratio below which more bits buy nothing
// audible or measurable (about 40 dB).
const snrCap = 1e-4

// allocate codes granule g's channels within about target bits (never more
// than limit, and no fewer than floor if the values allow) and returns the
// bits used.
func (e *Encoder) allocate(g, target, limit, floor int) int {
	e.cap = [2]capResult{}
	if e.nch == 1 {
		used := e.code(g, 0, min(target, 4095), true)
		if used < floor {
			used = e.code(g, 0, min(floor, 4095), false)
		}
		return used
	}
	// First find what each channel needs to reach the SNR cap; a channel
	// that needs less than half leaves the rest to the other.
	var need [2]int
	for ch := range 2 {
		need[ch] = e.capBits(g, ch)
	}
	// Where an estimate decides the split (a channel that may need less
	// than its half, or both that may fit), it is made exact.
	both := need[0]+need[1] <= target+target/5
	for ch := range 2 {
		if both || need[ch] <= (target/2)+target/10 {
			need[ch] = e.capExact(g, ch)
		}
	}
	budget := [2]int{target / 2, target - target/2}
	switch {
	case need[0]+need[1] <= target:
		budget = need
	case need[0] < budget[0]:
		budget = [2]int{need[0], target - need[0]}
	case need[1] < budget[1]:
		budget = [2]int{target - need[1], need[1]}
	}
	used := 0
	var got [2]int
	for ch := range 2 {
		got[ch] = e.code(g, ch, min(budget[ch], limit-used, 4095), true)
		used += got[ch]
	}
	if used < floor {
		extra := floor - used
		used = 0
		for ch := range 2 {
			used += e.code(g, ch, min(got[ch]+extra/2, 4095), false)
		}
	}
	return used
}

// capBits returns about the bits channel ch of granule g needs at the SNR
// cap, from the noise model's estimate of the cap's gain (one quantization
// pass: the estimate is the exact cap's gain or next to it in nine cases
// in ten, and speech at these bitrates rarely reaches the cap at all).
// code finds the exact gain only when the cap is within the channel's
// budget.
func (e *Encoder) capBits(g, ch int) int {
	s, gr := &e.sp[g][ch], e.gr[g][ch]
	if s.energy == 0 {
		return 0
	}
	est := max(s.capEstimate(), s.minGain())
	s.quantize(est, gr, e.f.sfb)
	n := countBits(gr, e.f.sfb)
	e.cap[ch] = capResult{set: true, granule: g, gain: est, bits: n}
	return n
}

// capExact finds the exact gain of the SNR cap from capBits's estimate,
// and returns its bits.
func (e *Encoder) capExact(g, ch int) int {
	s, gr, c := &e.sp[g][ch], e.gr[g][ch], &e.cap[ch]
	if !c.set || c.exact {
		return c.bits
	}
	c.gain = e.capGain(s, gr, max(c.gain-8, s.minGain()))
	s.quantize(c.gain, gr, e.f.sfb)
	c.bits, c.exact = countBits(gr, e.f.sfb), true
	return c.bits
}

// capResult is capBits's finding for one channel of one granule: the gain
// of the SNR cap (estimated, or exact) and its bits.
type capResult struct {
	set     bool
	exact   bool
	granule int
	gain    int
	bits    int
}

// capGain is the coarsest gain at or above lo whose noise meets the SNR cap.
func (e *Encoder) capGain(s *spectrum, gr *granule, lo int) int {
	limit := s.energy * snrCap
	over := lowest(lo, 255, s.capEstimate()+1, func(g int) bool {
		return s.quantizeNoise(g, gr, e.f.sfb) > limit
	})
	return max(over-1, lo)
}

// code quantizes channel ch of granule g to at most budget bits, no finer
// than the SNR cap if capped, and leaves the result in e.gr[g][ch].
func (e *Encoder) code(g, ch, budget int, capped bool) int {
	s, gr := &e.sp[g][ch], e.gr[g][ch]
	sfb := e.f.sfb
	if s.energy == 0 {
		clear(gr.ix[:])
		gr.top, gr.bandMax = 0, [22]int32{}
		gr.globalGain = 210
		gr.part23 = countBits(gr, sfb)
		return gr.part23
	}
	// The finest quantization that fits the budget, searched from the last
	// granule's gain; then no finer than the SNR cap needs. When the cap's
	// estimate fits the budget, the exact cap is found from it instead,
	// and kept if it fits too.
	gain, coded, bits := -1, -1, 0 // coded: the gain gr.ix holds now, with its bits
	if c := &e.cap[ch]; capped && c.set && c.granule == g && c.bits <= budget {
		if bits = e.capExact(g, ch); bits <= budget {
			gain, coded = c.gain, c.gain
		}
	}
	if gain < 0 {
		// Each trial quantizes into the spare granule; one within budget
		// swaps places with gr, so the answer (the last such trial) is in
		// gr when the search ends, without quantizing it again.
		var trialBits int
		ok := func(gn int) bool {
			sp := e.spare[ch]
			s.quantize(gn, sp, sfb)
			n := countBits(sp, sfb)
			trialBits = n
			if n > budget {
				return false
			}
			e.gr[g][ch], e.spare[ch] = sp, gr
			gr, coded, bits = sp, gn, n
			return true
		}
		// The search starts at the last granule's gain. Where the cap's
		// estimate gave a second point of the bits-against-gain curve, the
		// line through both predicts where the budget is met: the search
		// goes on from there, within the side the first trial left open.
		lo, hi, guess := s.minGain(), 255, min(max(e.lastGain[ch], s.minGain()), 255)
		if c := e.cap[ch]; c.set && c.granule == g && c.gain < guess {
			if ok(guess) {
				hi = guess
			} else {
				lo = guess + 1
			}
			if trialBits < c.bits && lo < hi {
				slope := float64(c.bits-trialBits) / float64(guess-c.gain) // bits a step finer costs
				guess += int(math.Round(float64(trialBits-budget) / slope))
			}
		}
		gain = lowest(lo, hi, guess, ok)
		// Finer than the cap needs? Only where the noise model says the
		// noise may be near the cap is it measured.
		if capped && s.noiseEstimate(gain) < 4*s.energy*snrCap && s.quantizeNoise(gain, gr, sfb) < s.energy*snrCap {
			gain, coded = e.capGain(s, gr, gain), -1
		}
	}
	e.lastGain[ch] = gain
	if coded != gain {
		s.quantize(gain, gr, sfb)
		bits = countBits(gr, sfb)
	}
	gr.globalGain = gain
	gr.part23 = bits
	e.bestRegions(gr)
	return gr.part23
}

// bestRegions tries every region split for the chosen values and keeps the
// cheapest. Each band's bits under each table group are counted once and
// summed per candidate split.
func (e *Encoder) bestRegions(gr *granule) {
	sfb := e.f.sfb
	end := gr.bigValues * 2
	if end == 0 {
		return
	}
	rs := &e.regions
	nb := 0
	for nb < 22 && sfb[nb] < end {
		m := gr.bandMax[nb]
		if hi := sfb[nb+1]; hi > end { // the last band, cut short
			m = 0
			for _, v := range gr.ix[sfb[nb]:end] {
				m = max(m, v)
			}
		}
		rs.max[nb] = m
		nb++
	}
	rs.upto = [7]int8{}
	// The largest value of the bands before b (pm) and from b on (sm).
	var pm, sm [23]int32
	for b := range nb {
		pm[b+1] = max(pm[b], rs.max[b])
	}
	for b := nb - 1; b >= 0; b-- {
		sm[b] = max(sm[b+1], rs.max[b])
	}
	count1 := gr.part23 - regionBits(gr, sfb)
	r0best, r1best, tables, bestBits := gr.region0, gr.region1, gr.tableSelect, gr.part23
	// Region 2 always runs to the end: its cost depends on its start only.
	var t2s, n2s [23]int
	for b := range nb + 1 {
		t2s[b], n2s[b] = rs.cost(gr, sfb, end, b, nb, sm[b])
	}
	// Around the rate loop's split: the best split is rarely far from it,
	// and the full 16×8 search costs more than it saves.
	h0, h1 := gr.region0, gr.region1
	for r0 := max(h0-3, 0); r0 <= h0+3 && r0 < 16 && r0+1 < nb; r0++ {
		t0, n0 := rs.cost(gr, sfb, end, 0, r0+1, pm[r0+1])
		m1, b := int32(0), r0+1 // region 1's largest value so far, and its end
		for r1 := max(h1-3, 0); r1 <= h1+3 && r1 < 8; r1++ {
			b2 := min(r0+r1+2, nb)
			for ; b < b2; b++ {
				m1 = max(m1, rs.max[b])
			}
			t1, n1 := rs.cost(gr, sfb, end, r0+1, b2, m1)
			t2, n2 := t2s[b2], n2s[b2]
			if n := count1 + n0 + n1 + n2; n < bestBits {
				r0best, r1best, tables, bestBits = r0, r1, [3]int{t0, t1, t2}, n
			}
			if b2 == nb {
				break
			}
		}
	}
	gr.region0, gr.region1, gr.tableSelect, gr.part23 = r0best, r1best, tables, bestBits
}

// regionSearch caches per-band bit counts for bestRegions, as running
// sums over the bands, so that a candidate region costs two lookups.
type regionSearch struct {
	max  [22]int32
	upto [7]int8       // bands counted into pre[g]
	pre  [7][23]uint64 // pre[g][b]: packed lengths of bands [0, b) under table group g (6: linbits)
	esc  [23]uint64    // esc[b]: values of 15 and above in bands [0, b), for linbits
}

// cost returns the cheapest table for bands [b0, b1), whose largest value
// is m, and its bits.
func (rs *regionSearch) cost(gr *granule, sfb *[23]int, end, b0, b1 int, m int32) (int, int) {
	if m == 0 {
		return 0, 0
	}
	g := 6
	if m <= 15 {
		g = int(groupByMax[m])
	}
	for b := int(rs.upto[g]); b < b1; b++ {
		band := gr.ix[sfb[b]:min(sfb[b+1], end)]
		if g < 6 {
			// A band with values the group cannot code is never in a region
			// that uses it: it counts nothing, and cancels in the sums.
			var n uint64
			if rs.max[b] < groups[g].xlen {
				n = groups[g].count(band)
			}
			rs.pre[g][b+1] = rs.pre[g][b] + n
		} else {
			n, e := linGroup.countEscapes(band)
			rs.pre[g][b+1], rs.esc[b+1] = rs.pre[g][b]+n, rs.esc[b]+e
		}
		rs.upto[g] = int8(b + 1)
	}
	sum := rs.pre[g][b1] - rs.pre[g][b0]
	if g < 6 {
		return groups[g].pick(sum)
	}
	return linGroup.pickLinbits(sum, rs.esc[b1]-rs.esc[b0], m)
}
