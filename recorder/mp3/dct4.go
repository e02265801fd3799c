package mp3

import (
	"math"
	"math/cmplx"
)

// dct4 computes the scaled 18-point DCT-IV of the MDCT,
// X[k] = (1/9) Σ u[n] cos(π/18 (n+½)(k+½)), through a 9-point complex DFT:
// pre-rotate the pairs (u[2n], u[17-2n]), transform, post-rotate, and
// read the even outputs from the real parts and the odd ones, reversed,
// from the imaginary parts. The 9-point DFT is two passes of 3-point DFTs
// (Cooley-Tukey, 9 = 3×3). About a third of the multiplications of the
// direct sum.
func dct4(u *[18]float32, out *[18]float32) {
	var t [9]complex64
	for n := range 9 {
		t[n] = complex(u[2*n], u[17-2*n]) * dct4Pre[n]
	}
	// First pass: a 3-point DFT over n1 for each n2 (n = 3n1 + n2), then
	// the twiddle W9^(n2·k1).
	var b [3][3]complex64 // [n2][k1]
	for n2 := range 3 {
		x0, x1, x2 := dft3(t[n2], t[3+n2], t[6+n2])
		b[n2] = [3]complex64{x0, x1 * dct4Tw[n2][1], x2 * dct4Tw[n2][2]}
	}
	// Second pass: a 3-point DFT over n2 for each k1 gives T[k1 + 3k2].
	for k1 := range 3 {
		y0, y1, y2 := dft3(b[0][k1], b[1][k1], b[2][k1])
		for k2, y := range [3]complex64{y0, y1, y2} {
			k := k1 + 3*k2
			y *= dct4Post[k]
			out[2*k] = real(y)
			out[17-2*k] = -imag(y)
		}
	}
}

// dft3 is the 3-point DFT with W = e^(-2πi/3).
func dft3(a, b, c complex64) (complex64, complex64, complex64) {
	const h = 0.8660254037844386 // √3/2
	s, d := b+c, b-c
	m := complex(real(a)-real(s)*0.5, imag(a)-imag(s)*0.5) // a - s/2, without a complex division
	r := complex(h*imag(d), -h*real(d))                    // -i·(√3/2)·d
	return a + s, m + r, m - r
}

var (
	dct4Pre  [9]complex64    // e^(-iπ(n+¼)/18)
	dct4Post [9]complex64    // e^(-iπk/18) / 9
	dct4Tw   [3][3]complex64 // e^(-2πi·n2·k1/9)
)

func init() {
	for n := range 9 {
		dct4Pre[n] = complex64(cmplx.Exp(complex(0, -math.Pi*(float64(n)+0.25)/18)))
		dct4Post[n] = complex64(cmplx.Exp(complex(0, -math.Pi*float64(n)/18)) / 9)
	}
	for n2 := range 3 {
		for k1 := range 3 {
			dct4Tw[n2][k1] = complex64(cmplx.Exp(complex(0, -2*math.Pi*float64(n2*k1)/9)))
		}
	}
}
