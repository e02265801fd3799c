package codec

import (
	"math"
	"slices"
)

// Upsampler doubles the sample rate (8 kHz to 16 kHz) with a half-band
// low-pass filter: a Kaiser-windowed sinc, flat to 3.4 kHz and at least 80 dB
// down above 4.6 kHz, so no image of the narrowband spectrum survives.
// It keeps its history across calls, so packet boundaries leave no clicks.
// The output lags the input by UpsampleDelay output samples.
type Upsampler struct {
	// buf holds the last 2*halfTaps-1 input samples, then the block being
	// filtered: the filter reads it contiguously.
	buf     []float32
	scratch []float32 // Upsample's float output before rounding
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
	start := len(dst)
	dst = slices.Grow(dst, 2*len(src))[:start+2*len(src)]
	u.scratch = u.UpsampleFloat(u.scratch[:0], src)
	for i, v := range u.scratch {
		dst[start+i] = clamp16(v)
	}
	return dst
}

// UpsampleFloat is Upsample with float output, on the int16 scale and
// unrounded: the recorder's path stays in float32 to the encoder.
func (u *Upsampler) UpsampleFloat(dst []float32, src []int16) []float32 {
	const n = 2 * halfTaps
	if u.buf == nil {
		u.buf = make([]float32, n-1, 4*n)
	}
	buf := u.buf[:n-1]
	for _, s := range src {
		buf = append(buf, float32(s))
	}
	start := len(dst)
	dst = slices.Grow(dst, 2*len(src))[:start+2*len(src)]
	out := dst[start:]
	h := &oddPhase
	for i := range src {
		// Oldest first: x[k] is the k-th of the filter's n inputs. The even
		// phase is the sample at the filter's centre; the odd phase
		// interpolates half-way to the next, with symmetric taps
		// (h[k] = h[n-1-k]) taken in pairs, summed in four independent
		// chains so the multiplies overlap.
		x := (*[n]float32)(buf[i : i+n])
		a0 := h[0]*(x[0]+x[31]) + h[4]*(x[4]+x[27]) + h[8]*(x[8]+x[23]) + h[12]*(x[12]+x[19])
		a1 := h[1]*(x[1]+x[30]) + h[5]*(x[5]+x[26]) + h[9]*(x[9]+x[22]) + h[13]*(x[13]+x[18])
		a2 := h[2]*(x[2]+x[29]) + h[6]*(x[6]+x[25]) + h[10]*(x[10]+x[21]) + h[14]*(x[14]+x[17])
		a3 := h[3]*(x[3]+x[28]) + h[7]*(x[7]+x[24]) + h[11]*(x[11]+x[20]) + h[15]*(x[15]+x[16])
		o := out[2*i : 2*i+2 : 2*i+2]
		o[0], o[1] = x[halfTaps-1], (a0+a1)+(a2+a3)
	}
	// Keep the last n-1 inputs for the next call (and the grown buffer).
	copy(buf, buf[len(buf)-(n-1):])
	u.buf = buf[:n-1]
	return dst
}

// Skip takes input samples into the filter's history without filtering
// them: the caller used them otherwise (a narrowband stretch handed on
// unfiltered), and upsampling can resume after them without a click.
func (u *Upsampler) Skip(src []int16) {
	const n = 2 * halfTaps
	if u.buf == nil {
		u.buf = make([]float32, n-1, 4*n)
	}
	buf := u.buf[:n-1]
	if len(src) >= n-1 {
		src = src[len(src)-(n-1):]
	}
	copy(buf, buf[len(src):])
	for i, s := range src {
		buf[n-1-len(src)+i] = float32(s)
	}
}

// Recent returns the last k (at most 2*halfTaps-1) input samples, oldest
// first.
func (u *Upsampler) Recent(k int) []float32 {
	const n = 2 * halfTaps
	if u.buf == nil {
		u.buf = make([]float32, n-1, 4*n)
	}
	return u.buf[n-1-k : n-1]
}

// clamp16 rounds to the nearest integer (halves up) within int16's
// range, without branches: offset to positive, truncate, clamp.
func clamp16(v float32) int16 {
	i := int32(v+32768.5) - 32768
	return int16(max(min(i, 32767), -32768))
}
