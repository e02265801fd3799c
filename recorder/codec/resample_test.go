package codec

import (
	"math"
	"slices"
	"testing"
)

func sine(freq float64, n int, amp float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(i)/8000))
	}
	return out
}

// level returns the amplitude of frequency f (Hz) in x sampled at 16 kHz.
func level(x []int16, f float64) float64 {
	var re, im float64
	for i, v := range x {
		a := 2 * math.Pi * f * float64(i) / 16000
		re += float64(v) * math.Cos(a)
		im += float64(v) * math.Sin(a)
	}
	return 2 * math.Hypot(re, im) / float64(len(x))
}

// TestUpsamplePassband checks speech frequencies pass at unit gain and
// their images above 4 kHz are suppressed.
func TestUpsamplePassband(t *testing.T) {
	for _, f := range []float64{300, 1000, 2000, 3000, 3400} {
		var u Upsampler
		out := u.Upsample(nil, sine(f, 8000, 10000))[1000:] // skip the filter's start
		gain := 20 * math.Log10(level(out, f)/10000)
		image := 20 * math.Log10(level(out, 8000-f)/10000+1e-12)
		if math.Abs(gain) > 0.1 {
			t.Errorf("%.0f Hz: gain %.2f dB, want within 0.1 dB of 0", f, gain)
		}
		if f <= 3000 && image > -70 {
			t.Errorf("%.0f Hz: image at %.0f Hz is %.1f dB, want below -70 dB", f, 8000-f, image)
		}
	}
}

// TestUpsampleChunking checks the output does not depend on how the input
// is split into packets: no clicks at packet boundaries.
func TestUpsampleChunking(t *testing.T) {
	in := sine(440, 4000, 12000)
	var whole, parts Upsampler
	want := whole.Upsample(nil, in)
	var got []int16
	for i := 0; i < len(in); i += 160 {
		got = parts.Upsample(got, in[i:min(i+160, len(in))])
	}
	if !slices.Equal(got, want) {
		t.Fatal("20 ms chunks gave different output from one call")
	}
}

// TestUpsampleDelay checks an impulse appears UpsampleDelay samples late.
func TestUpsampleDelay(t *testing.T) {
	in := make([]int16, 100)
	in[10] = 10000
	var u Upsampler
	out := u.Upsample(nil, in)
	peak := 0
	for i, v := range out {
		if v > out[peak] {
			peak = i
		}
	}
	if peak != 20+UpsampleDelay {
		t.Fatalf("impulse at output %d, want %d", peak, 20+UpsampleDelay)
	}
}
