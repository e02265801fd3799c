package mp3

import (
	"math"
	"math/bits"
)

// dct3 computes the 32-point DCT-III, X[k] = Σ a[m] cos((2k+1)mπ/64), in
// O(N log N) by the even/odd split: the even terms form a 16-point DCT-III,
// and the odd terms, summed in neighbouring pairs, another one divided by
// 2cos((2k+1)π/2N). It overwrites a.
func dct3(a *[32]float32) {
	var scratch [32]float32
	dct3n(a[:], scratch[:])
}

// dct3Scale[n][k] is 1/(2cos((2k+1)π/(2n))) for the sizes n = 2..32.
var dct3Scale = func() (s [6][16]float32) {
	for lg := 1; lg <= 5; lg++ {
		n := 1 << lg
		for k := range n / 2 {
			s[lg][k] = float32(1 / (2 * math.Cos(float64(2*k+1)*math.Pi/float64(2*n))))
		}
	}
	return s
}()

func dct3n(a, scratch []float32) {
	n := len(a)
	if n == 2 {
		o := a[1] * dct3Scale[1][0]
		a[0], a[1] = a[0]+o, a[0]-o
		return
	}
	h := n / 2
	even, odd := scratch[:h:h], scratch[h:n:n]
	a = a[:n:n]
	for m := range h {
		even[m] = a[2*m]
	}
	odd[0] = a[1]
	for m := 1; m < h; m++ {
		odd[m] = a[2*m+1] + a[2*m-1]
	}
	dct3n(even, a[:h])
	dct3n(odd, a[h:])
	sc := dct3Scale[bits.TrailingZeros(uint(n))][:h]
	for k, o := range odd {
		o *= sc[k]
		a[k] = even[k] + o
		a[n-1-k] = even[k] - o
	}
}
