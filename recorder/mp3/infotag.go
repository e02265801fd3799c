package mp3

import (
	"encoding/binary"
	"fmt"
)

// DecoderDelay is what decoders that honour the LAME tag add to the tag's
// encoder delay when trimming the start: the synthesis filterbank's delay
// plus one (528 + 1), as LAME, ffmpeg and mpg123 count it.
const DecoderDelay = 529

// InfoFrame returns an "Info" frame (the CBR form of the Xing tag) with a
// LAME extension, for the stream w describes (without this frame). Put in
// front of the stream, it lets players show the exact duration and seek,
// where without it they estimate from the file size; and its encoder delay
// and padding fields let gapless decoders (ffmpeg, mpg123) trim the
// encoder's Delay at the start and the padding at the end, so the decoded
// file is exactly w.Samples long. With w.Samples <= 0 (unknown) all of
// the stream after the delay counts as audio. To a decoder that does not
// know the tag it is one frame of silence.
//
// The Encoder writes no tag itself, so that it can stream to any writer;
// whoever knows the final length (a file on Close, an export) adds it.
func InfoFrame(cfg Config, w Written) ([]byte, error) {
	f, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if w.Frames < 0 || w.Bytes < 0 || w.Frames > 1<<32-1 {
		return nil, fmt.Errorf("mp3: info frame: %d frames in %d bytes out of range", w.Frames, w.Bytes)
	}
	total := w.Frames * int64(f.samplesPerFrame())
	samples := w.Samples
	if samples <= 0 || samples > total-Delay {
		samples = max(total-Delay, 0)
	}
	// The tag's convention (LAME's): the frames hold startPad + samples +
	// endPad, and decoders trim startPad + DecoderDelay at the start and
	// stop at the same offset past the audio.
	startPad := int64(Delay - DecoderDelay)
	endPad := total - startPad - samples
	if endPad > 4095 {
		return nil, fmt.Errorf("mp3: info frame: %d samples of padding do not fit the tag (%d frames for %d samples)", endPad, w.Frames, samples)
	}
	// A low bitrate's frame is too small for the tag; the tag frame then
	// takes the smallest bitrate whose frame holds it, as decoders allow.
	const xingLen = 4 + 4 + 4 + 4 + 100 + 4
	const lameLen = 36
	rates := mpeg2Bitrates
	if f.mpeg1 {
		rates = mpeg1Bitrates
	}
	var frameLen int
	for ; f.bitrateIndex < len(rates); f.bitrateIndex++ {
		f.Bitrate = rates[f.bitrateIndex]
		num, den := f.frameBytes()
		if frameLen = num / den; frameLen >= 4+f.sideInfoLen+xingLen+lameLen {
			break
		}
	}
	if f.bitrateIndex == len(rates) {
		return nil, fmt.Errorf("mp3: info frame: no frame at %d Hz holds the tag", cfg.SampleRate)
	}
	e := Encoder{f: f, nch: cfg.Channels}
	b := make([]byte, frameLen)
	h := e.header(0)
	copy(b, h[:])
	// Side information stays zero: no main data, so the frame is silence.
	start := 4 + f.sideInfoLen
	t := b[start:]
	copy(t, "Info")
	binary.BigEndian.PutUint32(t[4:], 0x0f) // frames, bytes, TOC and quality present
	binary.BigEndian.PutUint32(t[8:], uint32(w.Frames))
	fileBytes := w.Bytes + int64(frameLen)
	binary.BigEndian.PutUint32(t[12:], uint32(min(fileBytes, 1<<32-1)))
	// TOC: the byte position (in 1/256 of the file) of each percent of the
	// duration, linear for constant bitrate.
	for i := range 100 {
		t[16+i] = byte(i * 256 / 100)
	}
	binary.BigEndian.PutUint32(t[116:], 0) // quality: not applicable

	// The LAME extension (the "LAME tag", revision 0), as gapless
	// decoders read it. Decoders look for "LAME" to trust the delays.
	l := t[xingLen:]
	copy(l, "LAMEcrec0")                 // encoder short version
	l[9] = 0x01                          // tag revision 0, CBR
	l[10] = byte(f.SampleRate / 2 / 100) // lowpass, in 100 Hz: the band's edge
	// 11-19: peak and replay gain unknown, no flags, no ATH type.
	l[20] = byte(min(cfg.Bitrate, 255))
	delays := uint32(startPad)<<12 | uint32(endPad)
	l[21], l[22], l[23] = byte(delays>>16), byte(delays>>8), byte(delays)
	if cfg.Channels == 2 {
		l[24] = 1 << 2 // stereo mode: joint (mid/side per frame)
	}
	binary.BigEndian.PutUint32(l[28:], uint32(min(fileBytes, 1<<32-1)))
	// 32-33: music CRC, not kept. 34-35: CRC-16 of the frame up to here.
	crcEnd := start + xingLen + 34
	binary.BigEndian.PutUint16(b[crcEnd:], crc16(b[:crcEnd]))
	return b, nil
}

// crc16 is the CRC-16 of the LAME tag (polynomial 0x8005, reflected,
// initial value 0: CRC-16/ARC).
func crc16(p []byte) uint16 {
	var crc uint16
	for _, c := range p {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xa001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}
