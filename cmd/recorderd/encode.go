package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"callrec/recorder/mp3"
)

// runEncode encodes raw PCM from stdin to MP3: a technician's way to hear
// exactly what the box's encoder makes of some audio. Written to a file
// (-out), the MP3 starts with an Info frame giving its exact duration.
func runEncode(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("encode", stderr)
	rate := fs.Int("rate", 16000, "sample rate in Hz")
	channels := fs.Int("channels", 1, "channels (interleaved)")
	bitrate := fs.Int("bitrate", 0, "bitrate in kbit/s (default 32 mono, 48 stereo)")
	outPath := fs.String("out", "", "output file (default: standard output, without the Info frame)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *bitrate == 0 {
		*bitrate = 32
		if *channels == 2 {
			*bitrate = 48
		}
	}
	cfg := mp3.Config{SampleRate: *rate, Channels: *channels, Bitrate: *bitrate}
	if _, err := mp3.NewEncoder(io.Discard, cfg); err != nil {
		return usageError{err.Error()}
	}
	if *outPath == "" {
		out := bufio.NewWriter(stdout)
		if _, err := encodeStream(cfg, stdin, out); err != nil {
			return err
		}
		return out.Flush()
	}
	return encodeFile(cfg, stdin, *outPath)
}

// encodeFile writes the MP3 to path behind an Info frame, which it fills in
// once the length is known.
func encodeFile(cfg mp3.Config, stdin io.Reader, path string) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("encode: %w", cerr)
		}
	}()
	tag, err := mp3.InfoFrame(cfg, 0, 0)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	if _, err := f.Write(tag); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	bw := bufio.NewWriter(f)
	cw := &countWriter{w: bw}
	frames, err := encodeStream(cfg, stdin, cw)
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	if tag, err = mp3.InfoFrame(cfg, frames, cw.n); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	if _, err := f.WriteAt(tag, 0); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// encodeStream encodes all of stdin to out and returns the frame count.
func encodeStream(cfg mp3.Config, stdin io.Reader, out io.Writer) (int64, error) {
	enc, err := mp3.NewEncoder(out, cfg)
	if err != nil {
		return 0, usageError{err.Error()}
	}
	channels := &cfg.Channels
	in := bufio.NewReader(stdin)
	buf := make([]byte, 4096*2**channels)
	pcm := make([]int16, 0, len(buf)/2)
	for {
		n, err := io.ReadFull(in, buf)
		if n%(2**channels) != 0 {
			return 0, fmt.Errorf("encode: input ends inside a sample frame (%d stray bytes)", n%(2**channels))
		}
		pcm = pcm[:0]
		for i := 0; i+1 < n; i += 2 {
			pcm = append(pcm, int16(binary.LittleEndian.Uint16(buf[i:])))
		}
		if _, werr := enc.Write(pcm); werr != nil {
			return 0, fmt.Errorf("encode: %w", werr)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("encode: read input: %w", err)
		}
	}
	if err := enc.Close(); err != nil {
		return 0, fmt.Errorf("encode: %w", err)
	}
	return enc.Frames(), nil
}
