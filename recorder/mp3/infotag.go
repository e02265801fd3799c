package mp3

import (
	"encoding/binary"
	"fmt"
)

// InfoFrame returns an "Info" frame (the CBR form of the Xing tag) for a
// stream of the given configuration holding frames audio frames in
// streamBytes bytes (without this frame). Put in front of the stream, it
// lets players show the exact duration and seek, where without it they
// estimate from the file size (ffmpeg warns that it does). To a decoder
// that does not know the tag it is one frame of silence.
//
// The Encoder writes no tag itself, so that it can stream to any writer;
// whoever knows the final length (a file on Close, an export) adds it.
func InfoFrame(cfg Config, frames, streamBytes int64) ([]byte, error) {
	f, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if frames < 0 || streamBytes < 0 || frames > 1<<32-1 {
		return nil, fmt.Errorf("mp3: info frame: %d frames in %d bytes out of range", frames, streamBytes)
	}
	// A low bitrate's frame is too small for the tag; the tag frame then
	// takes the smallest bitrate whose frame holds it, as decoders allow.
	const tagLen = 4 + 4 + 4 + 4 + 100 + 4
	rates := mpeg2Bitrates
	if f.mpeg1 {
		rates = mpeg1Bitrates
	}
	var frameLen int
	for ; f.bitrateIndex < len(rates); f.bitrateIndex++ {
		f.Bitrate = rates[f.bitrateIndex]
		num, den := f.frameBytes()
		if frameLen = num / den; frameLen >= 4+f.sideInfoLen+tagLen {
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
	t := b[4+f.sideInfoLen:]
	copy(t, "Info")
	binary.BigEndian.PutUint32(t[4:], 0x0f) // frames, bytes, TOC and quality present
	binary.BigEndian.PutUint32(t[8:], uint32(frames))
	total := streamBytes + int64(frameLen)
	binary.BigEndian.PutUint32(t[12:], uint32(min(total, 1<<32-1)))
	// TOC: the byte position (in 1/256 of the file) of each percent of the
	// duration, linear for constant bitrate.
	for i := range 100 {
		t[16+i] = byte(i * 256 / 100)
	}
	binary.BigEndian.PutUint32(t[116:], 0) // quality: not applicable
	return b, nil
}
