package mp3

import "fmt"

// Frame assembly (11172-3 2.4.1.2-2.4.1.7, 13818-3 2.4.1): header, side
// information and main data, with the main data of a frame starting up to
// main_data_begin bytes back in the free space of earlier frames.

// writeMainData codes every granule's values (no scalefactor bits: all are
// zero) into e.main.
func (e *Encoder) writeMainData() {
	w := &e.main
	w.reset()
	for g := range e.f.granules {
		for ch := range e.nch {
			gr := e.gr[g][ch]
			start := w.bits()
			xr := &e.sp[g][ch].xr
			e.writeBigValues(gr, xr)
			writeCount1(w, gr, xr)
			if n := w.bits() - start; n != gr.part23 {
				panic("mp3: part2_3_length mismatch") // a bug in countBits
			}
		}
	}
	w.align()
}

func (e *Encoder) writeBigValues(gr *granule, xr *[576]float32) {
	w := &e.main
	sfb := e.f.sfb
	end := gr.bigValues * 2
	b1 := min(sfb[min(gr.region0+1, 22)], end)
	b2 := min(sfb[min(gr.region0+gr.region1+2, 22)], end)
	for i := 0; i < end; i += 2 {
		t := gr.tableSelect[2]
		if i < b1 {
			t = gr.tableSelect[0]
		} else if i < b2 {
			t = gr.tableSelect[1]
		}
		if t == 0 {
			continue
		}
		h := &huffTables[t]
		ax, ay := gr.ix[i], gr.ix[i+1]
		if h.linbits == 0 {
			// The code and both signs in one put: at most 19+2 bits.
			k := int(ax)*h.xlen + int(ay)
			v, n := h.codes[k], int(h.lens[k])
			if ax != 0 {
				v, n = v<<1|signBit(xr[i]), n+1
			}
			if ay != 0 {
				v, n = v<<1|signBit(xr[i+1]), n+1
			}
			w.put(v, n)
			continue
		}
		cx, cy := min(ax, 15), min(ay, 15)
		k := int(cx)*h.xlen + int(cy)
		w.put(h.codes[k], int(h.lens[k]))
		if ax >= 15 {
			w.put(uint32(ax-15), h.linbits)
		}
		if ax != 0 {
			w.put(signBit(xr[i]), 1)
		}
		if ay >= 15 {
			w.put(uint32(ay-15), h.linbits)
		}
		if ay != 0 {
			w.put(signBit(xr[i+1]), 1)
		}
	}
}

func writeCount1(w *bitWriter, gr *granule, xr *[576]float32) {
	h := &huffTables[32+gr.count1Table]
	for i := gr.bigValues * 2; i < gr.bigValues*2+gr.count1*4; i += 4 {
		q := gr.ix[i : i+4 : i+4]
		k := q[0]<<3 | q[1]<<2 | q[2]<<1 | q[3]
		w.put(h.codes[k], int(h.lens[k]))
		for j, v := range q {
			if v != 0 {
				w.put(signBit(xr[i+j]), 1)
			}
		}
	}
}

// writeSideInfo writes the side information into e.side.
func (e *Encoder) writeSideInfo(mdb int) {
	w := &e.side
	w.reset()
	if e.f.mpeg1 {
		w.put(uint32(mdb), 9)
		if e.nch == 1 {
			w.put(0, 5) // private_bits
		} else {
			w.put(0, 3)
		}
		w.put(0, 4*e.nch) // scfsi: scalefactors are sent in every granule
	} else {
		w.put(uint32(mdb), 8)
		w.put(0, e.nch) // private_bits
	}
	for g := range e.f.granules {
		for ch := range e.nch {
			gr := e.gr[g][ch]
			w.put(uint32(gr.part23), 12)
			w.put(uint32(gr.bigValues), 9)
			w.put(uint32(gr.globalGain), 8)
			if e.f.mpeg1 {
				w.put(0, 4) // scalefac_compress: no scalefactor bits
			} else {
				w.put(0, 9)
			}
			w.put(0, 1) // window_switching_flag: long blocks
			for _, t := range gr.tableSelect {
				w.put(uint32(t), 5)
			}
			w.put(uint32(gr.region0), 4)
			w.put(uint32(gr.region1), 3)
			if e.f.mpeg1 {
				w.put(0, 1) // preflag
			}
			w.put(0, 1) // scalefac_scale
			w.put(uint32(gr.count1Table), 1)
		}
	}
	w.align() // a whole number of bytes: this moves the last bits into buf
}

// header returns the 4-byte frame header.
func (e *Encoder) header(padding int) [4]byte {
	f := &e.f
	version := uint32(2) // '10': MPEG-2 (13818-3)
	if f.mpeg1 {
		version = 3
	}
	mode, ext := uint32(3), uint32(0) // single channel
	if e.nch == 2 {
		mode = 1 // joint stereo; mode_extension says whether M/S is on
		if e.ms {
			ext = 2
		}
	}
	h := uint32(0x7ff)<<21 | version<<19 | 1<<17 | // Layer III
		1<<16 | // protection_bit: no CRC
		uint32(f.bitrateIndex)<<12 | uint32(f.rateIndex)<<10 |
		uint32(padding)<<9 | mode<<6 | ext<<4 |
		1<<2 // original
	return [4]byte{byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h)}
}

// appendFrame queues the frame, places its main data and writes every frame
// whose main-data space is now complete.
func (e *Encoder) appendFrame(frameLen, padding int) error {
	h := e.header(padding)
	start := len(e.out)
	e.out = append(e.out, h[:]...)
	e.out = append(e.out, e.side.buf...)
	slotStart := len(e.out)
	for range frameLen - (slotStart - start) {
		e.out = append(e.out, 0)
	}
	e.slots = append(e.slots, slot{slotStart, len(e.out)})
	e.frameEnds = append(e.frameEnds, len(e.out))

	data := e.main.buf
	for len(data) > 0 {
		s := &e.slots[0] // rate control guarantees there is room
		n := copy(e.out[s.pos:s.end], data)
		data = data[n:]
		s.pos += n
		if s.pos == s.end {
			e.popSlot()
		}
	}
	e.frames++
	return e.flush()
}

// flush writes every frame before the first one with free main-data space.
func (e *Encoder) flush() error {
	frontier := len(e.out)
	if len(e.slots) > 0 {
		frontier = e.slots[0].pos
	}
	n, done := 0, 0
	for _, end := range e.frameEnds {
		if end > frontier {
			break
		}
		n, done = end, done+1
	}
	if n == 0 {
		return nil
	}
	written, err := e.w.Write(e.out[:n])
	e.written += int64(written)
	if err != nil {
		return fmt.Errorf("mp3: write frame: %w", err)
	}
	m := copy(e.out, e.out[n:])
	e.out = e.out[:m]
	for i := range e.slots {
		e.slots[i].pos -= n
		e.slots[i].end -= n
	}
	k := copy(e.frameEnds, e.frameEnds[done:])
	e.frameEnds = e.frameEnds[:k]
	for i := range e.frameEnds {
		e.frameEnds[i] -= n
	}
	return nil
}

// popSlot drops the oldest slot, keeping the backing array.
func (e *Encoder) popSlot() {
	n := copy(e.slots, e.slots[1:])
	e.slots = e.slots[:n]
}

// signBit is 1 for a negative line.
func signBit(v float32) uint32 {
	if v < 0 {
		return 1
	}
	return 0
}
