package mp3

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	gomp3 "github.com/hajimehoshi/go-mp3"
)

// encode runs our encoder over interleaved pcm.
func encode(tb testing.TB, cfg Config, pcm []int16) []byte {
	tb.Helper()
	var buf bytes.Buffer
	e, err := NewEncoder(&buf, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := e.Write(pcm); err != nil {
		tb.Fatal(err)
	}
	if err := e.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// decode decodes an MP3 with go-mp3 into interleaved samples of nch
// channels (go-mp3 always gives stereo).
func decode(tb testing.TB, mp3 []byte, nch int) []int16 {
	tb.Helper()
	d, err := gomp3.NewDecoder(bytes.NewReader(mp3))
	if err != nil {
		tb.Fatalf("go-mp3: %v", err)
	}
	raw, err := io.ReadAll(d)
	if err != nil {
		tb.Fatalf("go-mp3: %v", err)
	}
	out := make([]int16, 0, len(raw)/4*nch)
	for i := 0; i+3 < len(raw); i += 4 {
		out = append(out, int16(binary.LittleEndian.Uint16(raw[i:])))
		if nch == 2 {
			out = append(out, int16(binary.LittleEndian.Uint16(raw[i+2:])))
		}
	}
	return out
}

// downmix returns the mean of the channels, for comparing a mono encoding
// of stereo material.
func downmix(pcm []int16) []int16 {
	out := make([]int16, len(pcm)/2)
	for i := range out {
		out[i] = int16((int32(pcm[2*i]) + int32(pcm[2*i+1])) / 2)
	}
	return out
}

// channel returns channel c of interleaved pcm.
func channel(pcm []int16, nch, c int) []float64 {
	out := make([]float64, len(pcm)/nch)
	for i := range out {
		out[i] = float64(pcm[i*nch+c])
	}
	return out
}

// align finds the lag (0..maxLag) of got against ref by cross-correlation
// over the loudest second of ref.
func align(ref, got []float64, maxLag int) int {
	const win = 16000
	start, loudest := 0, -1.0
	for i := 0; i+win <= len(ref); i += win / 2 {
		var e float64
		for _, v := range ref[i : i+win] {
			e += v * v
		}
		if e > loudest {
			start, loudest = i, e
		}
	}
	end := min(start+win, len(ref))
	best, lag := math.Inf(-1), 0
	for d := 0; d <= maxLag; d++ {
		var s float64
		for i := start; i < end && i+d < len(got); i++ {
			s += ref[i] * got[i+d]
		}
		if s > best {
			best, lag = s, d
		}
	}
	return lag
}

const frame20ms = 320 // samples at 16 kHz

// silent reports whether a reference frame is below -50 dBFS.
func silent(ref []float64) bool {
	var e float64
	for _, v := range ref {
		e += v * v
	}
	return e/float64(len(ref)) < 32767*32767*1e-5
}

// segSNR is the mean over non-silent 20 ms frames of each frame's SNR,
// clamped to [-10, 35] dB.
func segSNR(ref, got []float64) float64 {
	var sum float64
	n := 0
	for i := 0; i+frame20ms <= len(ref) && i+frame20ms <= len(got); i += frame20ms {
		r, g := ref[i:i+frame20ms], got[i:i+frame20ms]
		if silent(r) {
			continue
		}
		var s, e float64
		for k := range r {
			s += r[k] * r[k]
			e += (r[k] - g[k]) * (r[k] - g[k])
		}
		snr := 35.0
		if e > 0 {
			snr = min(max(10*math.Log10(s/e), -10), 35)
		}
		sum += snr
		n++
	}
	return sum / float64(n)
}

// lsd is the mean over non-silent 20 ms frames of the RMS difference of
// the log power spectra (Hann window, 50 Hz bins) over 100-3800 Hz.
func lsd(ref, got []float64, rate int) float64 {
	lo, hi := 100*frame20ms/rate+1, 3800*frame20ms/rate
	// Windowed DFT basis for the bins in the band, computed once.
	type bin struct{ c, s []float64 }
	basis := make([]bin, 0, hi-lo+1)
	for b := lo; b <= hi; b++ {
		c, sn := make([]float64, frame20ms), make([]float64, frame20ms)
		for k := range frame20ms {
			w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(k)/frame20ms)
			a := 2 * math.Pi * float64(b*k) / frame20ms
			c[k], sn[k] = w*math.Cos(a), w*math.Sin(a)
		}
		basis = append(basis, bin{c, sn})
	}
	power := func(x []float64, b bin) float64 {
		var re, im float64
		for k, v := range x {
			re += v * b.c[k]
			im += v * b.s[k]
		}
		return (re*re + im*im) / frame20ms
	}
	var sum float64
	n := 0
	for i := 0; i+frame20ms <= len(ref) && i+frame20ms <= len(got); i += frame20ms {
		r, g := ref[i:i+frame20ms], got[i:i+frame20ms]
		if silent(r) {
			continue
		}
		var d2 float64
		for _, b := range basis {
			d := 10*math.Log10(power(r, b)+1e-3) - 10*math.Log10(power(g, b)+1e-3)
			d2 += d * d
		}
		sum += math.Sqrt(d2 / float64(len(basis)))
		n++
	}
	return sum / float64(n)
}

// metrics compares decoded output against the input, per channel.
type metrics struct{ segSNR, lsd float64 }

func measure(ref, got []int16, nch, rate int) metrics {
	var m metrics
	lag := align(channel(ref, nch, 0), channel(got, nch, 0), 4000)
	for c := range nch {
		r, g := channel(ref, nch, c), channel(got, nch, c)
		g = g[min(lag, len(g)):]
		m.segSNR += segSNR(r, g) / float64(nch)
		m.lsd += lsd(r, g, rate) / float64(nch)
	}
	return m
}

// lameEncode encodes pcm with the lame CLI at the same rate, bitrate and
// mode; it returns nil when lame is not installed (outside CI).
func lameEncode(tb testing.TB, cfg Config, pcm []int16, quality int) []byte {
	tb.Helper()
	path, err := exec.LookPath("lame")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("lame not installed under CI: %v", err)
		}
		return nil
	}
	dir := tb.TempDir()
	in, out := filepath.Join(dir, "in.raw"), filepath.Join(dir, "out.mp3")
	writeRaw(tb, in, pcm)
	mode := "m"
	if cfg.Channels == 2 {
		mode = "j"
	}
	cmd := exec.Command(path, "--quiet", "-r", "-s", fmt.Sprint(float64(cfg.SampleRate)/1000),
		"--bitwidth", "16", "--signed", "--little-endian", "-m", mode,
		"-b", fmt.Sprint(cfg.Bitrate), "--cbr", "-q", fmt.Sprint(quality), in, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("lame: %v: %s", err, b)
	}
	mp3, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	return mp3
}

// writeRaw writes pcm as signed 16-bit little-endian samples.
func writeRaw(tb testing.TB, path string, pcm []int16) {
	tb.Helper()
	raw := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(v))
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		tb.Fatal(err)
	}
}

// synthVoice makes a voice-like test signal: a glottal pulse train at a
// wandering pitch through two formant resonators, with syllable-rate
// amplitude and pauses, plus a little noise. Deterministic for a seed.
func synthVoice(rate, nch, n int, seed uint64) []int16 {
	out := make([]int16, n*nch)
	for c := range nch {
		rng := seed*7919 + uint64(c)*104729 + 1
		next := func() float64 {
			rng ^= rng << 13
			rng ^= rng >> 7
			rng ^= rng << 17
			return float64(rng>>11)/float64(1<<53)*2 - 1
		}
		var phase, y1, y2, z1, z2 float64
		for i := range n {
			t := float64(i) / float64(rate)
			f0 := 110 + 40*float64(c) + 20*math.Sin(2*math.Pi*0.7*t+float64(c))
			phase += f0 / float64(rate)
			pulse := 0.0
			if phase >= 1 {
				phase--
				pulse = 1
			}
			x := pulse + 0.02*next()
			// Formants near 700 Hz and 1200 Hz (two-pole resonators).
			r := 0.97
			a1 := 2 * r * math.Cos(2*math.Pi*700/float64(rate))
			y := x + a1*y1 - r*r*y2
			y2, y1 = y1, y
			b1 := 2 * r * math.Cos(2*math.Pi*1200/float64(rate))
			z := y + b1*z1 - r*r*z2
			z2, z1 = z1, z
			env := math.Max(0, math.Sin(2*math.Pi*(2+float64(c))*t/2))
			if int(t/3+float64(c))%2 == 1 {
				env = 0 // the other party talks
			}
			out[i*nch+c] = int16(max(min(z*200*env, 32767), -32768))
		}
	}
	return out
}
