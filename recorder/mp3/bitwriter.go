package mp3

import "encoding/binary"

// bitWriter packs values most significant bit first, 32 bits at a time.
type bitWriter struct {
	buf []byte
	acc uint64 // pending bits, right-aligned (older bits above them are stale)
	n   uint   // number of pending bits (< 32 between calls)
}

func (w *bitWriter) reset() { w.buf, w.acc, w.n = w.buf[:0], 0, 0 }

// put appends the low n bits of v; n is at most 32.
func (w *bitWriter) put(v uint32, n int) {
	w.acc = w.acc<<uint(n) | uint64(v)&(1<<uint(n)-1)
	w.n += uint(n)
	if w.n >= 32 {
		w.n -= 32
		w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(w.acc>>w.n))
	}
}

// bits is the number of bits written so far.
func (w *bitWriter) bits() int { return len(w.buf)*8 + int(w.n) }

// align pads with zero bits to a byte boundary and moves every pending bit
// into buf.
func (w *bitWriter) align() {
	if r := w.n % 8; r != 0 {
		w.acc <<= 8 - r
		w.n += 8 - r
	}
	for w.n >= 8 {
		w.n -= 8
		w.buf = append(w.buf, byte(w.acc>>w.n))
	}
}
