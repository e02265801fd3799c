package mp3

import (
	"bytes"
	"fmt"
	"testing"
)

// frameInfo is what a test reads back from one frame.
type frameInfo struct {
	mpeg1        bool
	bitrateIndex int
	rateIndex    int
	padding      int
	mode         int
	modeExt      int
	length       int   // bytes, header included
	mdb          int   // main_data_begin
	part23       []int // per granule and channel
}

// parseFrames walks a stream of frames from its headers and side
// information, independently of the encoder's own bookkeeping.
func parseFrames(b []byte) ([]frameInfo, error) {
	var out []frameInfo
	for pos := 0; pos < len(b); {
		if len(b)-pos < 4 {
			return out, fmt.Errorf("frame %d: %d trailing bytes", len(out), len(b)-pos)
		}
		h := uint32(b[pos])<<24 | uint32(b[pos+1])<<16 | uint32(b[pos+2])<<8 | uint32(b[pos+3])
		if h>>21 != 0x7ff {
			return out, fmt.Errorf("frame %d at %d: no sync (%#08x)", len(out), pos, h)
		}
		var f frameInfo
		version := h >> 19 & 3
		if version != 3 && version != 2 {
			return out, fmt.Errorf("frame %d: version bits %b", len(out), version)
		}
		f.mpeg1 = version == 3
		if layer := h >> 17 & 3; layer != 1 {
			return out, fmt.Errorf("frame %d: layer bits %b, want 01 (Layer III)", len(out), layer)
		}
		if h>>16&1 != 1 {
			return out, fmt.Errorf("frame %d: CRC flagged but not written", len(out))
		}
		f.bitrateIndex = int(h >> 12 & 15)
		f.rateIndex = int(h >> 10 & 3)
		f.padding = int(h >> 9 & 1)
		f.mode = int(h >> 6 & 3)
		f.modeExt = int(h >> 4 & 3)
		if f.bitrateIndex == 0 || f.bitrateIndex == 15 || f.rateIndex == 3 {
			return out, fmt.Errorf("frame %d: bad bitrate or rate index", len(out))
		}
		rates, kbps, slots := mpeg2Rates, mpeg2Bitrates, 72
		if f.mpeg1 {
			rates, kbps, slots = mpeg1Rates, mpeg1Bitrates, 144
		}
		f.length = slots*1000*kbps[f.bitrateIndex]/rates[f.rateIndex] + f.padding
		nch := 2
		if f.mode == 3 {
			nch = 1
		}
		r := bitReader{b: b[pos+4:]}
		ngr := 1
		if f.mpeg1 {
			ngr = 2
			f.mdb = r.get(9)
			r.get(map[int]int{1: 5, 2: 3}[nch] + 4*nch)
		} else {
			f.mdb = r.get(8)
			r.get(nch)
		}
		for range ngr {
			for range nch {
				f.part23 = append(f.part23, r.get(12))
				r.get(9 + 8) // big_values, global_gain
				if f.mpeg1 {
					r.get(4)
				} else {
					r.get(9)
				}
				if r.get(1) != 0 {
					return out, fmt.Errorf("frame %d: window switching, which the encoder never uses", len(out))
				}
				r.get(15 + 4 + 3)
				if f.mpeg1 {
					r.get(1)
				}
				r.get(2)
			}
		}
		out = append(out, f)
		pos += f.length
		if pos > len(b) {
			return out, fmt.Errorf("frame %d: truncated", len(out)-1)
		}
	}
	return out, nil
}

type bitReader struct {
	b   []byte
	pos int
}

func (r *bitReader) get(n int) int {
	v := 0
	for range n {
		bit := 0
		if r.pos/8 < len(r.b) {
			bit = int(r.b[r.pos/8]>>(7-r.pos%8)) & 1
		}
		v = v<<1 | bit
		r.pos++
	}
	return v
}

// checkReservoir verifies that every frame's main data begins within the
// free space the earlier frames left, and fits before the next frame's.
func checkReservoir(t testing.TB, frames []frameInfo, maxMDB, sideInfoLen int) {
	t.Helper()
	free := 0 // main-data bytes left unused in earlier frames
	for i, f := range frames {
		if f.mdb > maxMDB {
			t.Fatalf("frame %d: main_data_begin %d > %d", i, f.mdb, maxMDB)
		}
		if f.mdb > free {
			t.Fatalf("frame %d: main_data_begin %d but only %d bytes free before it", i, f.mdb, free)
		}
		bits := 0
		for _, p := range f.part23 {
			bits += p
		}
		used := (bits + 7) / 8
		slot := f.length - 4 - sideInfoLen
		if used > f.mdb+slot {
			t.Fatalf("frame %d: %d bytes of main data in %d of space", i, used, f.mdb+slot)
		}
		// What this frame's data does not use of its own slot and of the
		// reservoir it started in is free for the next frame.
		free = f.mdb + slot - used
	}
}

// TestFramesFromLength inverts the stream length the encoder writes, with
// and without padding.
func TestFramesFromLength(t *testing.T) {
	for _, cfg := range []Config{{16000, 2, 48}, {16000, 1, 32}, {22050, 2, 64}, {44100, 2, 128}} {
		var buf bytes.Buffer
		e, err := NewEncoder(&buf, cfg)
		if err != nil {
			t.Fatal(err)
		}
		e.Write(make([]int16, cfg.Channels*cfg.SampleRate*3/2))
		e.Close()
		if got := cfg.Frames(int64(buf.Len())); got != e.Frames() {
			t.Errorf("%+v: Frames(%d) = %d, want %d", cfg, buf.Len(), got, e.Frames())
		}
	}
}
