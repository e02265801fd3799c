package mp3

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Written says what an encoding wrote.
type Written struct {
	Frames  int64 // MP3 frames
	Bytes   int64 // stream bytes
	Samples int64 // input samples per channel
}

// EncodeRaw encodes raw 16-bit little-endian PCM (interleaved when
// stereo) from r to w until r ends, and closes the stream.
func EncodeRaw(w io.Writer, r io.Reader, cfg Config) (Written, error) {
	var out Written
	enc, err := NewEncoder(w, cfg)
	if err != nil {
		return out, err
	}
	in := bufio.NewReader(r)
	frame := 2 * cfg.Channels
	buf := make([]byte, 4096*frame)
	pcm := make([]int16, 0, len(buf)/2)
	for {
		n, err := io.ReadFull(in, buf)
		if n%frame != 0 {
			return out, fmt.Errorf("mp3: input ends inside a sample frame (%d stray bytes)", n%frame)
		}
		pcm = pcm[:0]
		for i := 0; i+1 < n; i += 2 {
			pcm = append(pcm, int16(binary.LittleEndian.Uint16(buf[i:])))
		}
		if _, werr := enc.Write(pcm); werr != nil {
			return out, werr
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("mp3: read input: %w", err)
		}
	}
	if err := enc.Close(); err != nil {
		return out, err
	}
	return Written{Frames: enc.Frames(), Bytes: enc.Bytes(), Samples: enc.Samples()}, nil
}

// EncodeFile encodes raw PCM from r into f behind an Info frame, which it
// fills in once the length is known.
func EncodeFile(f io.WriteSeeker, r io.Reader, cfg Config) error {
	tag, err := InfoFrame(cfg, Written{})
	if err != nil {
		return err
	}
	if _, err := f.Write(tag); err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	out, err := EncodeRaw(bw, r, cfg)
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if tag, err = InfoFrame(cfg, out); err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err = f.Write(tag)
	return err
}
