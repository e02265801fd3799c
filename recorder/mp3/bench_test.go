package mp3

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// benchInput is speech when the shared captures are present, else a
// synthetic voice-like signal, repeated to about 90 s so that lame's start-up
// cost is small against its encoding time.
func benchInput(b *testing.B, nch int) []int16 {
	b.Helper()
	var st []int16
	if _, err := os.Stat(filepath.Join("..", "..", "..", "shared", "testdata", "pcap", "wsw-rtp_conversacion.pcap")); err == nil {
		st = speechStereo(b, sharedPcap(b, "wsw-rtp_conversacion.pcap"))
	} else {
		st = synthVoice(16000, 2, 23*16000, 1)
	}
	if nch == 1 {
		st = downmix(st)
	}
	var pcm []int16
	for range 4 {
		pcm = append(pcm, st...)
	}
	return pcm
}

// BenchmarkEncode measures CPU time per second of audio and its ratio to
// the lame CLI at -q 7 (its fastest) and -q 5 on the same input.
func BenchmarkEncode(b *testing.B) {
	for _, cfg := range []Config{{16000, 1, 32}, {16000, 2, 48}} {
		name := fmt.Sprintf("%dHz_%dch_%dk", cfg.SampleRate, cfg.Channels, cfg.Bitrate)
		b.Run(name, func(b *testing.B) {
			pcm := benchInput(b, cfg.Channels)
			seconds := float64(len(pcm)/cfg.Channels) / float64(cfg.SampleRate)
			q7 := lameCPU(b, cfg, pcm, 7)
			q5 := lameCPU(b, cfg, pcm, 5)
			b.SetBytes(int64(2 * len(pcm)))
			b.ReportAllocs()
			b.ResetTimer()
			// Both sides are taken as their best run: the least disturbed
			// by whatever else this machine is doing.
			fastest := time.Duration(1 << 62)
			for b.Loop() {
				start := time.Now()
				e, err := NewEncoder(io.Discard, cfg)
				if err != nil {
					b.Fatal(err)
				}
				e.Write(pcm)
				e.Close()
				fastest = min(fastest, time.Since(start))
			}
			per := fastest.Seconds()
			b.ReportMetric(per/seconds*1000, "cpu-ms/audio-s")
			if q7 > 0 {
				b.ReportMetric(per/q7, "x-lame-q7")
				b.ReportMetric(per/q5, "x-lame-q5")
			}
		})
	}
}

// lameCPU is the lame CLI's CPU time (user+system, best of five) to encode
// pcm, or 0 when lame is not installed.
func lameCPU(b *testing.B, cfg Config, pcm []int16, quality int) float64 {
	b.Helper()
	if _, err := exec.LookPath("lame"); err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatal("lame not installed under CI")
		}
		return 0
	}
	dir := b.TempDir()
	in := filepath.Join(dir, "in.raw")
	writeRaw(b, in, pcm)
	mode := "m"
	if cfg.Channels == 2 {
		mode = "j"
	}
	best := time.Duration(1 << 62)
	for range 5 {
		cmd := exec.Command("lame", "--quiet", "-r", "-s", fmt.Sprint(float64(cfg.SampleRate)/1000),
			"--bitwidth", "16", "--signed", "--little-endian", "-m", mode,
			"-b", fmt.Sprint(cfg.Bitrate), "--cbr", "-q", fmt.Sprint(quality), in, filepath.Join(dir, "out.mp3"))
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("lame: %v: %s", err, out)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		best = min(best, cpu)
	}
	return best.Seconds()
}
