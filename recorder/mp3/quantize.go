package mp3

import "math"

// Quantization and noiseless coding (11172-3 2.4.3.4 and Annex C.1.5.4).
//
// A frequency line xr is coded as an integer ix with
// |xr| ≈ |ix|^(4/3) · 2^((global_gain-210)/4). All scalefactors are zero,
// so the quantization noise is spread evenly over the spectrum, which is
// what maximises the signal-to-noise ratio for a given number of bits.

const (
	maxIx     = 15 + 8191 // largest value table 23 or 31 can code
	roundBias = 0.4054    // rounding offset after the 3/4 power law (C.1.5.4.4.2)
)

var (
	pow43   [maxIx + 1]float32 // ix^(4/3)
	stepInv [256]float32       // 2^(-3/16 (gain-210)): scales |xr|^(3/4) to ix
	step    [256]float32       // 2^(1/4 (gain-210)): scales ix^(4/3) back to |xr|
)

func init() {
	for i := range pow43 {
		pow43[i] = float32(math.Pow(float64(i), 4.0/3))
	}
	for g := range 256 {
		stepInv[g] = float32(math.Pow(2, -0.1875*float64(g-210)))
		step[g] = float32(math.Pow(2, 0.25*float64(g-210)))
	}
}

// granule is one channel's coded granule: side information and values.
type granule struct {
	part23      int // part2_3_length, bits
	bigValues   int // pairs in the big-values region
	globalGain  int
	tableSelect [3]int
	region0     int // region0_count
	region1     int // region1_count
	count1Table int // 0: table A, 1: table B
	count1      int // quadruples in the count1 region
	ix          [576]int32
}

// spectrum is one channel's frequency lines, prepared for quantization.
type spectrum struct {
	xr     [576]float32
	x34    [576]float32 // |xr|^(3/4)
	energy float64
	maxX34 float32
	top    int // lines at and above top are zero
}

func (s *spectrum) prepare() {
	s.energy, s.maxX34, s.top = 0, 0, 0
	for i, v := range s.xr {
		a := v
		if a < 0 {
			a = -a
		}
		s.energy += float64(a * a)
		x := float32(math.Sqrt(float64(a) * math.Sqrt(float64(a))))
		s.x34[i] = x
		if x > s.maxX34 {
			s.maxX34 = x
		}
		if x != 0 {
			s.top = i + 1
		}
	}
}

// minGain is the smallest global_gain whose values all fit the tables.
func (s *spectrum) minGain() int {
	if s.maxX34 == 0 {
		return 0
	}
	// maxX34 · 2^(-3/16 (g-210)) + bias <= maxIx
	g := 210 + int(math.Ceil(16.0/3*math.Log2(float64(s.maxX34)/(maxIx-roundBias))))
	for g < 255 && s.maxX34*stepInv[max(g, 0)]+roundBias >= maxIx+1 {
		g++
	}
	return min(max(g, 0), 255)
}

// quantize fills ix at gain g; the caller ensures g >= minGain.
func (s *spectrum) quantize(g int, ix *[576]int32) {
	q := stepInv[g]
	top := s.top
	for i := range top {
		v := int32(s.x34[i]*q + roundBias)
		if s.xr[i] < 0 {
			v = -v
		}
		ix[i] = v
	}
	clear(ix[top:])
}

// noise is the squared error of ix at gain g against xr.
func (s *spectrum) noise(g int, ix *[576]int32) float64 {
	st := step[g]
	var n float64
	for i, v := range ix[:s.top] {
		if v < 0 {
			v = -v
		}
		d := abs32(s.xr[i]) - pow43[v]*st
		n += float64(d * d)
	}
	return n
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

func abs(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

// countBits sets gr's regions and tables for its ix and returns
// part2_3_length (no scalefactor bits are sent).
func countBits(gr *granule, sfb *[23]int) int {
	ix := &gr.ix
	i := 576
	for i > 1 && ix[i-1] == 0 && ix[i-2] == 0 {
		i -= 2
	}
	// count1 region: quadruples of values in -1..1.
	bitsA, bitsB := 0, 0
	gr.count1 = 0
	for i > 3 {
		a, b, c, d := abs(ix[i-4]), abs(ix[i-3]), abs(ix[i-2]), abs(ix[i-1])
		if a|b|c|d > 1 {
			break
		}
		q := a<<3 | b<<2 | c<<1 | d
		signs := int(a + b + c + d)
		bitsA += int(huffTables[32].lens[q]) + signs
		bitsB += 4 + signs
		gr.count1++
		i -= 4
	}
	gr.count1Table = 0
	bits := bitsA
	if bitsB < bitsA {
		gr.count1Table, bits = 1, bitsB
	}
	gr.bigValues = i / 2

	// Split the big values into three regions at scalefactor band edges:
	// roughly a third of the bands each.
	bands := 0
	for bands < 22 && sfb[bands] < i {
		bands++
	}
	gr.region0, gr.region1 = splitRegions(bands)
	return bits + regionBits(gr, sfb)
}

// splitRegions picks region0_count and region1_count for big values that end
// within band 'bands'.
func splitRegions(bands int) (r0, r1 int) {
	if bands <= 2 {
		return 0, 0
	}
	r0 = min(max((bands+1)/3-1, 0), 15)
	r1 = min(max((bands+1)/3-1, 0), 7)
	return r0, r1
}

// regionBits chooses each big-values region's table and counts its bits.
func regionBits(gr *granule, sfb *[23]int) int {
	end := gr.bigValues * 2
	b1 := min(sfb[min(gr.region0+1, 22)], end)
	b2 := min(sfb[min(gr.region0+gr.region1+2, 22)], end)
	bits := 0
	for r, lim := range [3][2]int{{0, b1}, {b1, b2}, {b2, end}} {
		t, n := bestTable(gr.ix[lim[0]:lim[1]])
		gr.tableSelect[r] = t
		bits += n
	}
	return bits
}

// Tables by the largest value they code without linbits.
var (
	smallTables = [16][]int{
		0: {0}, 1: {1}, 2: {2, 3}, 3: {5, 6}, 4: {7, 8, 9}, 5: {7, 8, 9},
		6: {10, 11, 12}, 7: {10, 11, 12},
		8: {13, 15}, 9: {13, 15}, 10: {13, 15}, 11: {13, 15}, 12: {13, 15}, 13: {13, 15}, 14: {13, 15}, 15: {13, 15},
	}
	// lenSigned[t][x*xlen+y] is the code length plus the sign bits.
	lenSigned [32][]uint8
)

func init() {
	for t := range 32 {
		h := &huffTables[t]
		if h.lens == nil {
			continue
		}
		lenSigned[t] = make([]uint8, len(h.lens))
		for k, l := range h.lens {
			x, y := k/h.xlen, k%h.xlen
			lenSigned[t][k] = l + uint8(boolInt(x > 0)+boolInt(y > 0))
		}
	}
}

// bestTable returns the cheapest table for a run of pairs and its bits.
func bestTable(ix []int32) (table, bits int) {
	var m int32
	for _, v := range ix {
		m = max(m, abs(v))
	}
	if m == 0 {
		return 0, 0
	}
	if m <= 15 {
		best, bestBits := 0, math.MaxInt
		for _, t := range smallTables[m] {
			if n := pairBits(ix, t); n < bestBits {
				best, bestBits = t, n
			}
		}
		return best, bestBits
	}
	// Values of 15 and above take linbits; 16-23 and 24-31 share two trees.
	best, bestBits := 0, math.MaxInt
	for _, family := range [2]int{16, 24} {
		for t := family; t < family+8; t++ {
			if int32(1)<<huffTables[t].linbits+14 >= m {
				if n := pairBits(ix, t); n < bestBits {
					best, bestBits = t, n
				}
				break
			}
		}
	}
	return best, bestBits
}

// pairBits counts the bits of coding ix in pairs with table t.
func pairBits(ix []int32, t int) int {
	h := &huffTables[t]
	ls := lenSigned[t]
	bits := 0
	if h.linbits == 0 {
		xlen := int32(h.xlen)
		for i := 0; i+1 < len(ix); i += 2 {
			bits += int(ls[abs(ix[i])*xlen+abs(ix[i+1])])
		}
		return bits
	}
	lin := h.linbits
	for i := 0; i+1 < len(ix); i += 2 {
		x, y := abs(ix[i]), abs(ix[i+1])
		if x >= 15 {
			x, bits = 15, bits+lin
		}
		if y >= 15 {
			y, bits = 15, bits+lin
		}
		bits += int(ls[x*16+y])
	}
	return bits
}
