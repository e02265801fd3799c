package mp3

import "math"

// dct3 computes the 32-point DCT-III, X[k] = Σ a[m] cos((2k+1)mπ/64), in
// O(N log N) by the even/odd split: the even terms form a 16-point DCT-III,
// and the odd terms, summed in neighbouring pairs, another one divided by
// 2cos((2k+1)π/2N). The recursion is flattened: four levels of splitting
// down to blocks of two, then four levels of combining. It overwrites a.
func dct3(a *[32]float32) {
	var b [32]float32
	src, dst := a, &b
	for n := 32; n > 2; n /= 2 {
		h := n / 2
		for off := 0; off < 32; off += n {
			s, d := src[off:off+n:off+n], dst[off:off+n:off+n]
			for m := range h {
				d[m] = s[2*m]
			}
			d[h] = s[1]
			for m := 1; m < h; m++ {
				d[h+m] = s[2*m+1] + s[2*m-1]
			}
		}
		src, dst = dst, src
	}
	// Four swaps: src is a again. Blocks of two: X0,1 = a0 ± a1/(2cos(π/4)).
	for off := 0; off < 32; off += 2 {
		o := src[off+1] * dct3Scale[1][0]
		src[off], src[off+1] = src[off]+o, src[off]-o
	}
	for lg := 2; lg <= 5; lg++ {
		n, h := 1<<lg, 1<<(lg-1)
		sc := dct3Scale[lg][:h]
		for off := 0; off < 32; off += n {
			even, odd, d := src[off:off+h:off+h], src[off+h:off+n:off+n], dst[off:off+n:off+n]
			for k, e := range even {
				o := odd[k] * sc[k]
				d[k] = e + o
				d[n-1-k] = e - o
			}
		}
		src, dst = dst, src
	}
}

// dct3Scale[lg][k] is 1/(2cos((2k+1)π/(2n))) for the sizes n = 2^lg.
var dct3Scale = func() (s [6][16]float32) {
	for lg := 1; lg <= 5; lg++ {
		n := 1 << lg
		for k := range n / 2 {
			s[lg][k] = float32(1 / (2 * math.Cos(float64(2*k+1)*math.Pi/float64(2*n))))
		}
	}
	return s
}()
