package mp3

import (
	"math"
	mbits "math/bits"
)

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
	region0     int        // region0_count
	region1     int        // region1_count
	count1Table int        // 0: table A, 1: table B
	count1      int        // quadruples in the count1 region
	ix          [576]int32 // magnitudes; the signs are those of xr
	top         int        // ix is zero from here on
	bandMax     [22]int32  // the largest value of each scalefactor band
}

// inaudible is the magnitude below which a line is coded as zero: about
// -100 dBFS, under the rounding noise of 16-bit audio.
const inaudible = 1e-5

// spectrum is one channel's frequency lines, prepared for quantization.
type spectrum struct {
	xr      [576]float32
	ax      [576]float32 // |xr|
	x34     [576]float32 // |xr|^(3/4)
	energy  float64
	sqrtSum float64 // Σ |xr|^(1/2), for estimating noise
	maxX34  float32
	top     int // lines at and above top are zero
	lines   int // lines the filterbank may have made non-zero: xr is zero above
}

func (s *spectrum) prepare() {
	s.energy, s.sqrtSum, s.maxX34, s.top = 0, 0, 0, 0
	var energy, sqrtSum float32 // per granule; float32 sums suffice
	for i, v := range s.xr[:s.lines] {
		a := abs32(v)
		if a < inaudible {
			// Below the 16-bit input's own rounding noise: coded as zero,
			// which also keeps the empty top of band-limited telephony
			// audio out of every quantization pass.
			s.xr[i], s.ax[i], s.x34[i] = 0, 0, 0
			continue
		}
		s.ax[i] = a
		energy += a * a
		// float32(math.Sqrt(float64(x))) compiles to one single-precision
		// square root.
		r := float32(math.Sqrt(float64(a)))
		sqrtSum += r
		x := float32(math.Sqrt(float64(a * r)))
		s.x34[i] = x
		if x > s.maxX34 {
			s.maxX34 = x
		}
		if x != 0 {
			s.top = i + 1
		}
	}
	s.energy, s.sqrtSum = float64(energy), float64(sqrtSum)
}

// minGain is the smallest global_gain whose values all fit the tables.
func (s *spectrum) minGain() int {
	if s.maxX34 == 0 {
		return 0
	}
	// maxX34 · 2^(-3/16 (g-210)) + bias <= maxIx
	g := 210 + int(math.Ceil(16.0/3*log2(float64(s.maxX34)/(maxIx-roundBias))))
	for g < 255 && s.maxX34*stepInv[max(g, 0)]+roundBias >= maxIx+1 {
		g++
	}
	return min(max(g, 0), 255)
}

// quantize fills gr's values at gain g, with their top and the largest of
// each band; the caller ensures g >= minGain.
func (s *spectrum) quantize(g int, gr *granule, sfb *[23]int) {
	q := stepInv[g]
	top := s.top
	ix := &gr.ix
	gr.top = top
	for b := range 22 {
		lo, hi := sfb[b], min(sfb[b+1], top)
		if lo >= hi {
			gr.bandMax[b] = 0
			continue
		}
		xs, out := s.x34[lo:hi], ix[lo:hi]
		out = out[:len(xs)]
		var m int32
		for i, x := range xs {
			v := int32(x*q + roundBias)
			out[i] = v
			m = max(m, v)
		}
		gr.bandMax[b] = m
	}
	clear(ix[top:])
}

// quantizeNoise fills gr's values at gain g, as quantize does, and returns
// the squared error.
func (s *spectrum) quantizeNoise(g int, gr *granule, sfb *[23]int) float64 {
	q, st := stepInv[g], step[g]
	top := s.top
	ix := &gr.ix
	gr.top = top
	var n float64
	for b := range 22 {
		lo, hi := sfb[b], min(sfb[b+1], top)
		if lo >= hi {
			gr.bandMax[b] = 0
			continue
		}
		xs, ax, out := s.x34[lo:hi], s.ax[lo:hi], ix[lo:hi]
		ax, out = ax[:len(xs)], out[:len(xs)]
		var m int32
		for i, x := range xs {
			v := int32(x*q + roundBias)
			out[i] = v
			m = max(m, v)
			d := ax[i] - pow43[v]*st
			n += float64(d * d)
		}
		gr.bandMax[b] = m
	}
	clear(ix[top:])
	return n
}

// capEstimate guesses the gain at which the noise is energy*snrCap, from the
// uniform-quantizer model: each line's noise is Δ²/12 with
// Δ = (4/3)|xr|^(1/4) step^(3/4), so noise ≈ (4/27) step^(3/2) Σ|xr|^(1/2).
func (s *spectrum) capEstimate() int {
	if s.sqrtSum == 0 {
		return 255
	}
	g := 210 + log2(s.energy*snrCap/(4.0/27*s.sqrtSum))/0.375
	return int(min(max(g, 0), 255))
}

// noiseEstimate is the uniform-quantizer model's noise at gain g (see
// capEstimate).
func (s *spectrum) noiseEstimate(g int) float64 {
	return 4.0 / 27 * float64(step[g]) * math.Sqrt(float64(step[g])) * s.sqrtSum
}

// lowest returns the smallest g in [lo, hi] for which ok holds, where ok is
// false then true as g rises and ok(hi) holds. It starts at guess and
// gallops, so a good guess costs two or three calls instead of eight.
func lowest(lo, hi, guess int, ok func(int) bool) int {
	g := min(max(guess, lo), hi)
	if ok(g) {
		hi = g
		for d := 1; hi-d >= lo; d *= 2 {
			if !ok(hi - d) {
				lo = hi - d + 1
				break
			}
			hi -= d
		}
	} else {
		lo = g + 1
		for d := 1; lo+d-1 < hi; d *= 2 {
			if ok(lo + d - 1) {
				hi = lo + d - 1
				break
			}
			lo += d
		}
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if ok(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// log2 is the base-2 logarithm of a positive, finite x, to within 1e-5:
// the exponent, plus the mantissa's logarithm from the atanh series
// ln m = 2(z + z³/3 + … + z⁹/9), z = (m-1)/(m+1). math.Log2 has
// assembly only on amd64; this is a few multiplications on any machine.
func log2(x float64) float64 {
	b := math.Float64bits(x)
	e := float64(int((b>>52)&0x7ff) - 1023)
	m := math.Float64frombits(b&(1<<52-1) | 1023<<52) // in [1, 2)
	z := (m - 1) / (m + 1)
	z2 := z * z
	const invLn2 = 1 / math.Ln2
	return e + 2*invLn2*z*(1+z2*(1.0/3+z2*(1.0/5+z2*(1.0/7+z2*(1.0/9)))))
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// countBits sets gr's regions and tables for its ix and returns
// part2_3_length (no scalefactor bits are sent).
func countBits(gr *granule, sfb *[23]int) int {
	ix := &gr.ix
	i := min(gr.top+gr.top&1, 576) // zero beyond top
	for i > 1 && ix[i-1] == 0 && ix[i-2] == 0 {
		i -= 2
	}
	// count1 region: quadruples of values in -1..1.
	bitsA, bitsB := 0, 0
	gr.count1 = 0
	for i > 3 {
		a, b, c, d := ix[i-4], ix[i-3], ix[i-2], ix[i-1]
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
		t, n := bestTable(gr.ix[lim[0]:lim[1]], regionMax(gr, sfb, lim[0], lim[1]))
		gr.tableSelect[r] = t
		bits += n
	}
	return bits
}

// Candidate tables by the largest value they must code without linbits,
// grouped so that one pass counts all of a group: the lengths (with sign
// bits) of up to four tables sit in 16-bit lanes of one uint64.
type tableGroup struct {
	tables []int
	xlen   int32
	packed []uint64
}

var (
	groups     [6]tableGroup                                              // {1}, {2,3}, {5,6}, {7,8,9}, {10,11,12}, {13,15}
	groupByMax = [16]int8{0, 0, 1, 2, 3, 3, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5} // the group for a largest value
	linGroup   tableGroup                                                 // the shared trees of 16-23 and 24-31
)

func init() {
	for g, ts := range [][]int{{1}, {2, 3}, {5, 6}, {7, 8, 9}, {10, 11, 12}, {13, 15}} {
		groups[g] = newGroup(ts)
	}
	linGroup = newGroup([]int{16, 24})
}

func newGroup(tables []int) tableGroup {
	h := &huffTables[tables[0]]
	g := tableGroup{tables: tables, xlen: int32(h.xlen), packed: make([]uint64, len(h.lens))}
	for lane, t := range tables {
		for k, l := range huffTables[t].lens {
			x, y := k/h.xlen, k%h.xlen
			n := uint64(l) + uint64(boolInt(x > 0)+boolInt(y > 0))
			g.packed[k] |= n << (16 * lane)
		}
	}
	return g
}

// regionMax is the largest value in ix[lo:hi], where lo is a band edge:
// from the band maxima, and the values of a last band cut short.
func regionMax(gr *granule, sfb *[23]int, lo, hi int) int32 {
	var m int32
	b := 0
	for sfb[b] < lo {
		b++
	}
	for ; b < 22 && sfb[b+1] <= hi; b++ {
		m = max(m, gr.bandMax[b])
	}
	if b < 22 {
		for _, v := range gr.ix[sfb[b]:max(sfb[b], hi)] {
			m = max(m, v)
		}
	}
	return m
}

// bestTable returns the cheapest table for a run of pairs whose largest
// value is m, and its bits.
func bestTable(ix []int32, m int32) (table, bits int) {
	if m == 0 {
		return 0, 0
	}
	if m <= 15 {
		g := &groups[groupByMax[m]]
		sum := g.count(ix)
		return g.pick(sum)
	}
	sum, esc := linGroup.countEscapes(ix)
	return linGroup.pickLinbits(sum, esc, m)
}

// countEscapes sums the packed lengths of pairs, coding values of 15 and
// above as 15, and counts those values (each takes linbits more).
func (g *tableGroup) countEscapes(ix []int32) (sum, esc uint64) {
	p := g.packed
	for i := 0; i+1 < len(ix); i += 2 {
		x, y := ix[i], ix[i+1]
		if x >= 15 {
			x = 15
			esc++
		}
		if y >= 15 {
			y = 15
			esc++
		}
		sum += p[x*16+y]
	}
	return sum, esc
}

// pickLinbits chooses, in each family, the smallest table whose linbits
// reach the largest value m, and returns the cheaper of the two.
func (g *tableGroup) pickLinbits(sum, esc uint64, m int32) (table, bits int) {
	need := mbits.Len32(uint32(m - 15)) // linbits needed for m
	bits = math.MaxInt
	for lane := range g.tables {
		t := linbitsTable[lane][need]
		if n := int(sum>>(16*lane)&0xffff) + int(esc)*huffTables[t].linbits; n < bits {
			table, bits = t, n
		}
	}
	return table, bits
}

// linbitsTable[f][n] is the smallest table of family f (0: 16-23, 1:
// 24-31) with at least n linbits.
var linbitsTable = func() (lt [2][14]int) {
	for f, family := range []int{16, 24} {
		for n := range 14 {
			for t := family; t < family+8; t++ {
				if huffTables[t].linbits >= n {
					lt[f][n] = t
					break
				}
			}
		}
	}
	return lt
}()

// count sums the packed lengths of pairs of values, all below xlen.
func (g *tableGroup) count(ix []int32) uint64 {
	var sum uint64
	p, xlen := g.packed, g.xlen
	for i := 0; i+1 < len(ix); i += 2 {
		sum += p[ix[i]*xlen+ix[i+1]]
	}
	return sum
}

// pick returns the table with the fewest bits in a packed sum.
func (g *tableGroup) pick(sum uint64) (table, bits int) {
	table, bits = g.tables[0], int(sum&0xffff)
	for lane := 1; lane < len(g.tables); lane++ {
		if n := int(sum >> (16 * lane) & 0xffff); n < bits {
			table, bits = g.tables[lane], n
		}
	}
	return table, bits
}
