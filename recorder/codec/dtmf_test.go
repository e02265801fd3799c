package codec

import (
	"math"
	"testing"

	ct "callrec/recorder/capture/capturetest"
)

// dial synthesises 8 kHz DTMF: each digit on for onMs, then offMs quiet.
func dial(keys string, onMs, offMs int, noise float64) []int16 {
	var out []int16
	seed := uint32(1)
	rnd := func() float64 {
		seed = seed*1664525 + 1013904223
		return float64(int32(seed)) / (1 << 31)
	}
	for _, k := range []byte(keys) {
		var fr, fc float64
		for r := range 4 {
			for c := range 4 {
				if dtmfKeys[r][c] == k {
					fr, fc = dtmfRows[r], dtmfCols[c]
				}
			}
		}
		for i := range onMs * 8 {
			t := float64(i) / 8000
			out = append(out, int16(6000*math.Sin(2*math.Pi*fr*t)+5000*math.Sin(2*math.Pi*fc*t)+noise*rnd()))
		}
		for range offMs * 8 {
			out = append(out, int16(noise*rnd()))
		}
	}
	return out
}

func TestDTMFDetector(t *testing.T) {
	tests := []struct {
		name        string
		keys        string
		onMs, offMs int
		noise       float64
		want        string
	}{
		{"clean", "159#*0AD", 100, 60, 0, "159#*0AD"},
		{"noisy", "2486", 80, 50, 800, "2486"},
		{"repeated digit", "55", 100, 60, 0, "55"},
		{"too short to count", "7", 30, 60, 0, ""},
	}
	for _, tt := range tests {
		var d DTMFDetector
		// Through µ-law, as it arrives in G.711.
		var law []int16
		for _, s := range dial(tt.keys, tt.onMs, tt.offMs, tt.noise) {
			law = append(law, ulawTable[ct.ULaw([]int16{s})[0]])
		}
		if got := string(d.Feed(law, nil)); got != tt.want {
			t.Errorf("%s: detected %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestDTMFIgnoresTones checks a single tone and a chord of non-DTMF
// frequencies are not digits.
func TestDTMFIgnoresTones(t *testing.T) {
	var x []int16
	for i := range 8000 {
		tt := float64(i) / 8000
		x = append(x, int16(8000*math.Sin(2*math.Pi*697*tt)))
	}
	for i := range 8000 {
		tt := float64(i) / 8000
		x = append(x, int16(5000*math.Sin(2*math.Pi*440*tt)+5000*math.Sin(2*math.Pi*1000*tt)))
	}
	var d DTMFDetector
	if got := d.Feed(x, nil); len(got) != 0 {
		t.Fatalf("detected %q in plain tones", got)
	}
}
