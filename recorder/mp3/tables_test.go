package mp3

import (
	"fmt"
	"testing"
)

// TestHuffmanTables checks each table is a complete prefix code (Kraft sum
// exactly 1, no code a prefix of another) with the dimensions and linbits
// of ISO/IEC 11172-3 Table 3-B.7.
func TestHuffmanTables(t *testing.T) {
	wantXlen := map[int]int{1: 2, 2: 3, 3: 3, 5: 4, 6: 4, 7: 6, 8: 6, 9: 6, 10: 8, 11: 8, 12: 8, 13: 16, 15: 16, 16: 16, 24: 16, 32: 16, 33: 16}
	wantLinbits := []int{16: 1, 17: 2, 18: 3, 19: 4, 20: 6, 21: 8, 22: 10, 23: 13, 24: 4, 25: 5, 26: 6, 27: 7, 28: 8, 29: 9, 30: 11, 31: 13}
	for n := range huffTables {
		h := &huffTables[n]
		if n == 0 || n == 4 || n == 14 {
			if h.lens != nil {
				t.Errorf("table %d should not exist", n)
			}
			continue
		}
		if w, ok := wantXlen[n]; ok && h.xlen != w {
			t.Errorf("table %d xlen = %d, want %d", n, h.xlen, w)
		}
		if n < len(wantLinbits) && h.linbits != wantLinbits[n] {
			t.Errorf("table %d linbits = %d, want %d", n, h.linbits, wantLinbits[n])
		}
		var kraft float64
		seen := map[string]int{}
		for k, l := range h.lens {
			if l == 0 {
				t.Errorf("table %d value %d has no code", n, k)
				continue
			}
			kraft += 1 / float64(uint64(1)<<l)
			seen[fmt.Sprintf("%0*b", l, h.codes[k])] = k
		}
		if kraft != 1 {
			t.Errorf("table %d Kraft sum = %v, want 1 (a complete code)", n, kraft)
		}
		for a := range seen {
			for b := range seen {
				if a != b && len(a) < len(b) && b[:len(a)] == a {
					t.Errorf("table %d: code %s is a prefix of %s", n, a, b)
				}
			}
		}
	}
}

// TestAnalysisWindow checks C[i] = D[i]/32 against values printed in
// ISO/IEC 11172-3 Table 3-C.1.
func TestAnalysisWindow(t *testing.T) {
	for _, c := range []struct {
		i    int
		want float32
	}{{1, -0.000000477}, {16, -0.000002384}, {256, 0.035780907}, {511, 0.000000477}} {
		if d := analysisWindow[c.i] - c.want; d > 1e-9 || d < -1e-9 {
			t.Errorf("C[%d] = %.9f, want %.9f", c.i, analysisWindow[c.i], c.want)
		}
	}
}
