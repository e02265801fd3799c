package codec

import "math"

// Upsampler doubles the sample rate (8 kHz to 16 kHz) with a half-band
// low-pass filter: a Kaiser-windowed sinc, flat to 3.4 kHz and at least 80 dB
// down above 4.6 kHz, so no image of the narrowband spectrum survives.
// It keeps its history across calls, so packet boundaries leave no clicks.
// The output lags the input by UpsampleDelay output samples.
type Upsampler struct {
	hist [2 * halfTaps]float32 // the last input samples, oldest first
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
	for _, s := range src {
		copy(u.hist[:], u.hist[1:])
		u.hist[len(u.hist)-1] = float32(s)
		// Even phase: the sample at the filter's centre; odd phase: the
		// interpolation half-way to the next one.
		var acc float32
		for k, h := range oddPhase {
			acc += h * u.hist[k]
		}
		dst = append(dst, int16(u.hist[halfTaps-1]), clamp16(acc))
	}
	return dst
}

func clamp16(v float32) int16 {
	switch {
	case v > 32767:
		return 32767
	case v < -32768:
		return -32768
	}
	return int16(math.Round(float64(v)))
}
