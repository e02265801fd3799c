package mp3

// bitWriter packs values most significant bit first.
type bitWriter struct {
	buf []byte
	acc uint64 // pending bits, right-aligned
	n   uint   // number of pending bits (< 8 between calls)
}

func (w *bitWriter) reset() { w.buf, w.acc, w.n = w.buf[:0], 0, 0 }

// put appends the low n bits of v; n is at most 32.
func (w *bitWriter) put(v uint32, n int) {
	w.acc = w.acc<<uint(n) | uint64(v)&(1<<uint(n)-1)
	w.n += uint(n)
	for w.n >= 8 {
		w.n -= 8
		w.buf = append(w.buf, byte(w.acc>>w.n))
	}
}

// bits is the number of bits written so far.
func (w *bitWriter) bits() int { return len(w.buf)*8 + int(w.n) }

// align pads with zero bits to a byte boundary.
func (w *bitWriter) align() {
	if w.n > 0 {
		w.put(0, 8-int(w.n))
	}
}
