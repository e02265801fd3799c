package mp3

import "math"

// The analysis side of the hybrid filterbank: a 32-band polyphase filter
// (11172-3 C.1.3 and 2.4.3.2) followed by an 18-point MDCT per subband with
// the long-block window and the alias-reduction butterflies that the decoder
// undoes (2.4.3.4.10). Only long blocks are used: speech at these bitrates is
// served better by the finer frequency resolution than by short blocks.

var (
	analysisWindow [512]float32   // C[i] = D[i]/32 (Table 3-C.1)
	windowByPhase  [64][8]float32 // C[i+64j] at [i][j]
	aliasCS        [8]float32     // alias-reduction coefficients (Table 3-B.9)
	aliasCA        [8]float32
)

func init() {
	for i, d := range synthesisWindow {
		analysisWindow[i] = float32(d / 32)
		windowByPhase[i%64][i/64] = analysisWindow[i]
	}
	// The 36-point MDCT X[k] = Σ w[n]x[n]cos(π/72(2n+19)(2k+1)) folds into an
	// 18-point DCT-IV (dct4.go), scaled 1/9 so that the decoder's IMDCT and
	// overlap-add reconstruct the input exactly.
	ci := [8]float64{-0.6, -0.535, -0.33, -0.185, -0.095, -0.041, -0.0142, -0.0037}
	for i, c := range ci {
		sq := math.Sqrt(1 + c*c)
		aliasCS[i] = float32(1 / sq)
		aliasCA[i] = float32(c / sq)
	}
}

var mdctWindow = func() (w [36]float32) {
	for i := range w {
		w[i] = float32(math.Sin(math.Pi / 36 * (float64(i) + 0.5)))
	}
	return w
}()

// filterbank holds one channel's analysis state.
type filterbank struct {
	// The input history newest first: X[i] of the standard, the i-th
	// newest sample, is hist[p+i]. New samples go in below p; when p would
	// fall below 0, the newest 480 slide back to the end.
	hist      [1024]float32
	p         int
	started   bool
	narrowRun int             // samples since the last that was not zero-stuffed narrowband
	prev      [32][18]float32 // last granule's subband samples, for the MDCT overlap
	cur       [32][18]float32
}

// analyze turns 576 input samples into 576 frequency lines in xr, ordered
// subband by subband (xr[sb*18+k]). It returns how many lines may be
// non-zero: those above are all zero. With narrow, the input is
// zero-stuffed narrowband audio (see Encoder.WriteNarrow): the upper 16
// subbands, which hold its mirror image, are dropped.
func (fb *filterbank) analyze(in []float32, xr *[576]float32, narrow bool) int {
	if narrow {
		fb.narrowRun += 576
	} else {
		fb.narrowRun = 0
	}
	// The odd-phase half of the window sums only zeros once the whole
	// 512-sample window is zero-stuffed.
	oddOnly := fb.narrowRun >= 512+576
	for t := range 18 {
		fb.polyphase(in[t*32:t*32+32], t, oddOnly)
	}
	bands := 32
	if narrow {
		bands = 16
		clear(xr[16*18:])
	}
	lines := 0
	for sb := range bands {
		out := (*[18]float32)(xr[sb*18 : sb*18+18])
		if fb.quiet(sb) {
			// Every output would be below the inaudible level and coded as
			// zero: the empty upper band of upsampled telephony audio.
			clear(out[:])
			continue
		}
		if fb.mdct(sb, out) {
			lines = 18*sb + 18
		}
	}
	// The butterflies below spread a band's lines into the first 8 of the
	// next.
	lines = min(lines+8, 576)
	// Alias reduction: the inverse of the decoder's butterflies (between
	// bands that are both zero, nothing to do).
	for sb := 1; sb < min(lines/18+1, 32); sb++ {
		for i := range 8 {
			lo, hi := 18*sb-1-i, 18*sb+i
			l, h := xr[lo], xr[hi]
			xr[lo] = l*aliasCS[i] + h*aliasCA[i]
			xr[hi] = h*aliasCS[i] - l*aliasCA[i]
		}
	}
	fb.prev, fb.cur = fb.cur, fb.prev
	return lines
}

// polyphase shifts in 32 samples and writes subband sample t of each band.
// With oddOnly, the newest sample and every other one before it are zero
// (zero-stuffed input): the even outputs of the window, which sum only
// those, are zero and not computed.
func (fb *filterbank) polyphase(in []float32, t int, oddOnly bool) {
	if !fb.started { // the zero value: 480 samples of silence, then room
		fb.p, fb.started = len(fb.hist)-480, true
	}
	if fb.p < 32 {
		copy(fb.hist[len(fb.hist)-480:], fb.hist[fb.p:fb.p+480])
		fb.p = len(fb.hist) - 480
	}
	fb.p -= 32
	nw := (*[32]float32)(fb.hist[fb.p : fb.p+32])
	for k, v := range in[:32] {
		nw[31-k] = v // in is oldest first
	}
	x := (*[512]float32)(fb.hist[fb.p : fb.p+512])
	// Y[i] = Σ_j C[i+64j] X[i+64j]: eight taps per output, summed in
	// registers, at fixed offsets from X[i].
	var y [64]float32
	step := 1
	if oddOnly {
		step = 2
	}
	for i := step - 1; i < 64; i += step {
		w := &windowByPhase[i]
		y[i] = w[0]*x[i] + w[1]*x[i+64] + w[2]*x[i+128] + w[3]*x[i+192] +
			w[4]*x[i+256] + w[5]*x[i+320] + w[6]*x[i+384] + w[7]*x[i+448]
	}
	// S[k] = Σ_i cos((2k+1)(i-16)π/64) Y[i], folded by the cosine's symmetries
	// into a 32-point DCT-III over a[m].
	var a [32]float32
	a[0] = y[16]
	for m := 1; m < 16; m++ {
		a[m] = y[16+m] + y[16-m]
	}
	a[16] = y[32] + y[0]
	for m := 17; m < 32; m++ {
		a[m] = y[16+m] - y[80-m]
	}
	dct3(&a)
	for k, v := range a {
		fb.cur[k][t] = v
	}
}

// quiet reports whether subband sb's 36 samples are all below a quarter
// of the inaudible level, so that no MDCT output (at most the sum of their
// magnitudes over 9) can reach it.
func (fb *filterbank) quiet(sb int) bool {
	const q = inaudible / 4
	for _, v := range fb.prev[sb] {
		if v > q || v < -q {
			return false
		}
	}
	for _, v := range fb.cur[sb] {
		if v > q || v < -q {
			return false
		}
	}
	return true
}

// mdct transforms subband sb's 36 samples (previous and current granule),
// and reports whether any output may reach the inaudible level: when the
// folded samples' magnitudes sum to under 9 times it, none can (each
// output is at most that sum over 9), and the transform is skipped.
func (fb *filterbank) mdct(sb int, out *[18]float32) bool {
	p, c := &fb.prev[sb], &fb.cur[sb]
	// Window and fold the 36 samples into 18 for the DCT-IV (time-domain
	// aliasing): with the MDCT's phase offset of 9 samples,
	// u[n] = -z[26-n]-z[27+n] for n < 9 and u[n] = z[n-9]-z[26-n] after,
	// where z = window · (prev ++ cur) with odd samples of odd subbands
	// negated (frequency inversion, which the decoder undoes).
	w := &mdctWindow
	var u [18]float32
	if sb&1 == 0 {
		for n := range 9 {
			u[n] = -w[26-n]*c[8-n] - w[27+n]*c[9+n]
			u[n+9] = w[n]*p[n] - w[17-n]*p[17-n]
		}
	} else {
		// z[m] is negated for odd m: 26-n and 27+n differ in parity, as do
		// n and 17-n.
		for n := range 9 {
			s := float32(1 - 2*(n&1)) // +1 where 26-n is even
			u[n] = s * (-w[26-n]*c[8-n] + w[27+n]*c[9+n])
			u[n+9] = s * (w[n]*p[n] + w[17-n]*p[17-n])
		}
	}
	var sum float32
	for _, v := range u {
		sum += abs32(v)
	}
	if sum < 9*inaudible {
		clear(out[:])
		return false
	}
	dct4(&u, out)
	return true
}
