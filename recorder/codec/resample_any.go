package codec

import "math"

// Resample converts a block of samples from rate in to rate out with a
// windowed-sinc low-pass at the lower rate's Nyquist frequency. It is for
// the rare rates (L16 at 11.025, 22.05, 44.1 or 48 kHz); 8 kHz audio goes
// through the Upsampler, which keeps state between packets.
func Resample(dst, src []int16, in, out int) []int16 {
	if in == out {
		return append(dst, src...)
	}
	const taps = 24
	ratio := float64(in) / float64(out)
	cutoff := math.Min(1, 0.9/ratio) // fraction of the input Nyquist, with room to roll off
	n := int(math.Round(float64(len(src)) / ratio))
	for j := range n {
		center := float64(j) * ratio
		i0 := int(math.Floor(center))
		var acc, norm float64
		for i := i0 - taps + 1; i <= i0+taps; i++ {
			x := float64(i) - center
			w := 0.5 + 0.5*math.Cos(math.Pi*x/float64(taps))
			h := cutoff * sinc(cutoff*x) * w
			norm += h
			if i >= 0 && i < len(src) {
				acc += h * float64(src[i])
			}
		}
		dst = append(dst, clamp16(float32(acc/norm)))
	}
	return dst
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}
