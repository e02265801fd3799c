package mp3

import (
	"bytes"
	"io"
	"math"
	"testing"

	gomp3 "github.com/hajimehoshi/go-mp3"

	"callrec/recorder/codec"
)

// TestWriteNarrow encodes narrowband audio zero-stuffed (WriteNarrow) and,
// for reference, upsampled (WriteFloat). The two decode alike, and the
// zero-stuffed input's mirror image above 4 kHz is gone.
func TestWriteNarrow(t *testing.T) {
	const n8 = 8000 * 3
	x := make([]int16, n8) // speech-like: a few harmonics with a vibrato
	for i := range x {
		tt := float64(i) / 8000
		f := 220 + 30*math.Sin(2*math.Pi*3*tt)
		for h := 1; h <= 12; h++ {
			x[i] += int16(1500 / float64(h) * math.Sin(2*math.Pi*f*float64(h)*tt))
		}
	}
	var up codec.Upsampler
	wide := up.UpsampleFloat(nil, x)
	stuffed := make([]float32, 2*n8)
	for i, v := range x {
		stuffed[2*i] = 2 * float32(v)
	}
	decode := func(narrow bool) []float64 {
		var buf bytes.Buffer
		e, _ := NewEncoder(&buf, Config{16000, 1, 32})
		for off := 0; off < len(wide); off += 2880 { // as the recorder's batches
			if narrow {
				e.WriteNarrow(stuffed[off:min(off+2880, len(stuffed))])
			} else {
				e.WriteFloat(wide[off:min(off+2880, len(wide))])
			}
		}
		e.Close()
		d, err := gomp3.NewDecoder(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(d)
		var out []float64
		for i := 4 * Delay; i+3 < len(raw); i += 4 { // go-mp3 gives stereo
			out = append(out, float64(int16(uint16(raw[i])|uint16(raw[i+1])<<8)))
		}
		return out
	}
	a, b := decode(false), decode(true)
	// Each against the narrowband original, sample for sample at the even
	// positions (where both put the original samples), at its best
	// alignment: the zero-stuffed one must be as faithful as the upsampled
	// one, within half a dB.
	snr := func(got []float64) float64 {
		best := math.Inf(-1)
		for s := -40; s <= 40; s++ {
			var sig, d2 float64
			for i := 2000; i < 20000 && 2*i+s < len(got); i++ {
				v := float64(x[i])
				d := got[2*i+s] - v
				sig, d2 = sig+v*v, d2+d*d
			}
			best = max(best, 10*math.Log10(sig/d2))
		}
		return best
	}
	sa, sb := snr(a), snr(b)
	t.Logf("SNR against the narrowband original: upsampled %.1f dB, zero-stuffed %.1f dB", sa, sb)
	if sb < sa-0.5 {
		t.Errorf("zero-stuffed %.1f dB, upsampled %.1f dB: more than half a dB worse", sb, sa)
	}
	var sig float64
	for _, v := range b[4000:36000] {
		sig += v * v
	}
	// No image: energy above 4.4 kHz far below the whole.
	hi := 0.0
	for _, f := range []float64{4500, 5000, 6000, 7000, 7500} {
		hi = max(hi, level(b[4000:36000], f))
	}
	if r := 20 * math.Log10(hi/math.Sqrt(sig/36000)); r > -50 {
		t.Errorf("image above 4 kHz at %.1f dB of the signal, want below -50 dB", r)
	}
}

// level is the amplitude of frequency f (Hz) in x at 16 kHz.
func level(x []float64, f float64) float64 {
	var re, im float64
	for i, v := range x {
		a := 2 * math.Pi * f * float64(i) / 16000
		re += v * math.Cos(a)
		im += v * math.Sin(a)
	}
	return 2 * math.Hypot(re, im) / float64(len(x))
}
