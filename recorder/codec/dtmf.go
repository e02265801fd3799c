package codec

import "math"

// DTMFDetector finds in-band DTMF digits (ITU-T Q.23/Q.24) in 8 kHz
// audio with the Goertzel algorithm: 205-sample blocks (25.6 ms), one
// row and one column tone each clearly above the others and making up
// most of the block's energy, seen in two blocks running. A digit is
// reported once, when it starts.
type DTMFDetector struct {
	block   [205]float64
	n       int
	cand    byte // the digit seen in the previous block, 0 none
	current byte // the digit being reported, until a block without it
}

var (
	dtmfRows  = [4]float64{697, 770, 852, 941}
	dtmfCols  = [4]float64{1209, 1336, 1477, 1633}
	dtmfKeys  = [4][4]byte{{'1', '2', '3', 'A'}, {'4', '5', '6', 'B'}, {'7', '8', '9', 'C'}, {'*', '0', '#', 'D'}}
	dtmfCoeff = func() (c [8]float64) {
		for i, f := range append(dtmfRows[:], dtmfCols[:]...) {
			c[i] = 2 * math.Cos(2*math.Pi*f/8000)
		}
		return c
	}()
)

// Feed takes 8 kHz samples and returns the digits that started in them.
func (d *DTMFDetector) Feed(pcm []int16, digits []byte) []byte {
	for _, s := range pcm {
		d.block[d.n] = float64(s)
		d.n++
		if d.n < len(d.block) {
			continue
		}
		d.n = 0
		k := d.analyse()
		switch {
		case k == 0:
			d.cand, d.current = 0, 0
		case k == d.cand && k != d.current:
			d.current = k
			digits = append(digits, k)
		default:
			d.cand = k
		}
	}
	return digits
}

// analyse returns the digit in the current block, or 0.
func (d *DTMFDetector) analyse() byte {
	var energy float64
	for _, v := range d.block {
		energy += v * v
	}
	if energy < float64(len(d.block))*100*100 { // below about -50 dBFS
		return 0
	}
	var p [8]float64
	for i, c := range dtmfCoeff {
		var s1, s2 float64
		for _, v := range d.block {
			s1, s2 = v+c*s1-s2, s1
		}
		p[i] = s1*s1 + s2*s2 - c*s1*s2
	}
	row, col := best(p[:4]), best(p[4:])
	rp, cp := p[row], p[4+col]
	for i := range 4 { // each tone well above the others of its group (6 dB)
		if i != row && p[i]*4 > rp || i != col && p[4+i]*4 > cp {
			return 0
		}
	}
	// Twist: the two tones within 8 dB of each other (Q.24 allows 4-8).
	if rp > cp*6.3 || cp > rp*6.3 {
		return 0
	}
	// The two tones carry most of the block's energy: speech does not.
	// A tone of amplitude A over N samples gives Goertzel power A²N²/4,
	// against energy A²N/2.
	n := float64(len(d.block))
	if (rp+cp)*2/n < 0.6*energy {
		return 0
	}
	return dtmfKeys[row][col]
}

func best(p []float64) int {
	b := 0
	for i := range p {
		if p[i] > p[b] {
			b = i
		}
	}
	return b
}
