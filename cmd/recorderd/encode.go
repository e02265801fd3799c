package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"syscall"

	"callrec/recorder/mix"
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
		*bitrate = mix.DefaultBitrate(*channels == 1)
	}
	cfg := mp3.Config{SampleRate: *rate, Channels: *channels, Bitrate: *bitrate}
	if _, err := mp3.NewEncoder(io.Discard, cfg); err != nil {
		return usageError{err.Error()}
	}
	if *outPath == "" {
		out := bufio.NewWriter(stdout)
		if _, err := mp3.EncodeRaw(out, stdin, cfg); err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		return out.Flush()
	}
	f, err := os.OpenFile(*outPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	err = mp3.EncodeFile(f, stdin, cfg)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	return nil
}
