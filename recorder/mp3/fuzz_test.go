package mp3

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	gomp3 "github.com/hajimehoshi/go-mp3"
)

// FuzzEncoder feeds random PCM under random configurations, written in
// random chunks. Every stream must parse frame by frame, keep its reservoir
// within bounds and decode in go-mp3.
func FuzzEncoder(f *testing.F) {
	f.Add(uint8(0), uint8(0), uint8(3), uint16(100), []byte{1, 2, 3, 4})
	f.Add(uint8(5), uint8(1), uint8(13), uint16(7), bytes.Repeat([]byte{0x7f, 0xff, 0x80, 0x00}, 600))
	f.Add(uint8(2), uint8(1), uint8(1), uint16(1), []byte{})
	f.Fuzz(func(t *testing.T, rateSel, chSel, rateIdx uint8, chunk uint16, data []byte) {
		rates := []int{16000, 22050, 24000, 32000, 44100, 48000}
		rate := rates[int(rateSel)%len(rates)]
		kbps := mpeg2Bitrates[1:]
		if rate >= 32000 {
			kbps = mpeg1Bitrates[1:]
		}
		cfg := Config{rate, 1 + int(chSel)%2, kbps[int(rateIdx)%len(kbps)]}
		pcm := make([]int16, len(data)/2/cfg.Channels*cfg.Channels)
		for i := range pcm {
			pcm[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
		}
		var buf bytes.Buffer
		e, err := NewEncoder(&buf, cfg)
		if err != nil {
			t.Fatalf("NewEncoder(%+v) = %v", cfg, err)
		}
		step := max(int(chunk)*cfg.Channels, cfg.Channels)
		for rest := pcm; len(rest) > 0; {
			k := min(step, len(rest))
			if _, err := e.Write(rest[:k]); err != nil {
				t.Fatal(err)
			}
			rest = rest[k:]
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		frames, err := parseFrames(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		fm, _ := cfg.validate()
		checkReservoir(t, frames, fm.maxMDB, fm.sideInfoLen)
		if cfg.SampleRate == 22050 {
			return // go-mp3 mis-sizes padded MPEG-2 frames; see TestRoundTrip
		}
		d, err := gomp3.NewDecoder(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("go-mp3: %v", err)
		}
		if _, err := io.Copy(io.Discard, d); err != nil {
			t.Fatalf("go-mp3: %v", err)
		}
	})
}
