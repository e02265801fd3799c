package codec

import "math"

// Upsampler doubles the sample rate (8 kHz to 16 kHz) with a half-band
// low-pass filter: a Kaiser-windowed sinc, flat to 3.4 kHz and at least 80 dB
// down above 4.6 kHz, so no image of the narrowband spectrum survives.
// It keeps its history across calls, so packet boundaries leave no clicks.
// The output lags the input by UpsampleDelay output samples.
type Upsampler struct {
	// The last input samples, kept twice over (at i and i+2*halfTaps) so
	// that the filter always reads them contiguously without shifting.
	hist [4 * halfTaps]float32
	pos  int
}

const halfTaps = 16 // taps each side of the centre in the odd phase

// UpsampleDelay is the filter's delay in output samples.
const UpsampleDelay = 2 * halfTaps

// oddPhase holds the interpolating taps h[2k+1] of the half-band filter.
var oddPhase = func() (h [2 * halfTaps]float32) {
	const beta = 8.0
	n := float64(2*halfTaps) - 0.5 // half-length of the window in output samples
	for k := range h {
		t := float64(2*(k-halfTaps)+1) / 2 // distance from the centre, input samples
		x := math.Pi * t
		w := bessel0(beta*math.Sqrt(1-(2*t/n)*(2*t/n))) / bessel0(beta)
		h[k] = float32(math.Sin(x) / x * w)
	}
	return h
}()

// bessel0 is the modified Bessel function of the first kind, order 0.
func bessel0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / 2 / float64(k)) * (x / 2 / float64(k))
		sum += term
		if term < 1e-12*sum {
			break
		}
	}
	return sum
}

// Upsample appends two output samples per input sample to dst.
func (u *Upsampler) Upsample(dst, src []int16) []int16 {
	const n = 2 * halfTaps
	for _, s := range src {
		v := float32(s)
		u.hist[u.pos] = v
		u.hist[u.pos+n] = v
		u.pos = (u.pos + 1) % n
		// Oldest first: x[k] = hist[pos+k]. The even phase is the sample at
		// the filter's centre; the odd phase interpolates half-way to the
		// next, with symmetric taps (h[k] = h[n-1-k]) taken in pairs.
		x := (*[n]float32)(u.hist[u.pos : u.pos+n])
		var acc float32
		for k := range halfTaps {
			acc += oddPhase[k] * (x[k] + x[n-1-k])
		}
		dst = append(dst, int16(x[halfTaps-1]), clamp16(acc))
	}
	return dst
}

func clamp16(v float32) int16 {
	switch {
	case v >= 32767:
		return 32767
	case v <= -32768:
		return -32768
	case v >= 0:
		return int16(v + 0.5)
	}
	return int16(v - 0.5)
}
