package codec

import (
	"testing"

	ct "callrec/recorder/capture/capturetest"
)

// Values from ITU-T G.711 Tables 1a and 2a: the decoder output for the
// code words at the ends and middle of the range.
func TestG711(t *testing.T) {
	ulaw := []struct {
		code byte
		want int16
	}{{0xff, 0}, {0x7f, 0}, {0x80, 32124}, {0x00, -32124}, {0xfe, 8}, {0x7e, -8}, {0xef, 132}, {0x6f, -132}}
	for _, c := range ulaw {
		if got := DecodeULaw(nil, []byte{c.code})[0]; got != c.want {
			t.Errorf("µ-law %#02x = %d, want %d", c.code, got, c.want)
		}
	}
	alaw := []struct {
		code byte
		want int16
	}{{0xd5, 8}, {0x55, -8}, {0xaa, 32256}, {0x2a, -32256}, {0xd4, 24}}
	for _, c := range alaw {
		if got := DecodeALaw(nil, []byte{c.code})[0]; got != c.want {
			t.Errorf("A-law %#02x = %d, want %d", c.code, got, c.want)
		}
	}
}

// TestG711Monotonic checks both laws expand to a strictly ordered scale.
func TestG711Monotonic(t *testing.T) {
	for name, table := range map[string]*[256]int16{"µ-law": &ulawTable, "A-law": &alawTable} {
		seen := map[int16]bool{}
		for _, v := range table {
			seen[v] = true
		}
		if n := len(seen); n < 255 {
			t.Errorf("%s has %d distinct levels, want at least 255", name, n)
		}
	}
}

// TestULawRoundTrip checks the test helper's µ-law compressor against our
// expander: every level comes back within its quantization step.
func TestULawRoundTrip(t *testing.T) {
	for v := -32000; v <= 32000; v += 37 {
		got := DecodeULaw(nil, ct.ULaw([]int16{int16(v)}))[0]
		step := max(abs(v)/16, 8)
		if d := abs(int(got) - v); d > step {
			t.Fatalf("µ-law round trip of %d = %d (off by %d, step %d)", v, got, d, step)
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
