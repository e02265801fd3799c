package mp3

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// allConfigs lists every rate and channel count at the lowest, a middle and
// the highest bitrate of its version.
func allConfigs() []Config {
	var out []Config
	for _, rate := range []int{16000, 22050, 24000, 32000, 44100, 48000} {
		kbps := mpeg2Bitrates[1:]
		if rate >= 32000 {
			kbps = mpeg1Bitrates[1:]
		}
		for _, ch := range []int{1, 2} {
			for _, b := range []int{kbps[0], kbps[len(kbps)/2], kbps[len(kbps)-1]} {
				out = append(out, Config{rate, ch, b})
			}
		}
	}
	return out
}

// tones makes a sum of sines, a different set per channel.
func tones(rate, nch, n int) []int16 {
	out := make([]int16, n*nch)
	for i := range n {
		t := float64(i) / float64(rate)
		for c := range nch {
			f := 300.0 * float64(c+1)
			v := 6000*math.Sin(2*math.Pi*f*t) + 3000*math.Sin(2*math.Pi*(f*2.7)*t)
			out[i*nch+c] = int16(v)
		}
	}
	return out
}

// noise makes white noise at about -20 dBFS.
func noise(nch, n int, seed uint64) []int16 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]int16, n*nch)
	for i := range out {
		out[i] = int16(max(min(r.NormFloat64()*3000, 32767), -32768))
	}
	return out
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{8000, 1, 32}, "sample rate 8000 Hz not supported"},
		{Config{11025, 1, 32}, "sample rate"},
		{Config{16000, 3, 32}, "3 channels not supported"},
		{Config{16000, 0, 32}, "channels"},
		{Config{16000, 1, 192}, "bitrate 192 kbit/s not allowed at 16000 Hz"},
		{Config{44100, 2, 8}, "bitrate 8 kbit/s not allowed"},
		{Config{44100, 2, 0}, "use one of [32 40"},
	}
	for _, tt := range tests {
		_, err := NewEncoder(&bytes.Buffer{}, tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewEncoder(%+v) = %v, want an error containing %q", tt.cfg, err, tt.want)
		}
	}
}

// TestRoundTrip encodes tones and noise in every configuration, decodes
// with go-mp3 and checks length, frame structure and fidelity.
func TestRoundTrip(t *testing.T) {
	for _, cfg := range allConfigs() {
		for _, sig := range []string{"tones", "noise"} {
			t.Run(fmt.Sprintf("%d_%dch_%dk_%s", cfg.SampleRate, cfg.Channels, cfg.Bitrate, sig), func(t *testing.T) {
				n := cfg.SampleRate * 3 / 2 // 1.5 s: not a whole number of frames
				pcm := tones(cfg.SampleRate, cfg.Channels, n)
				if sig == "noise" {
					pcm = noise(cfg.Channels, n, 7)
				}
				mp3 := encode(t, cfg, pcm)
				f, _ := cfg.validate()

				frames, err := parseFrames(mp3)
				if err != nil {
					t.Fatal(err)
				}
				checkReservoir(t, frames, f.maxMDB, f.sideInfoLen)
				for i, fr := range frames {
					if fr.mpeg1 != f.mpeg1 || fr.bitrateIndex != f.bitrateIndex || fr.rateIndex != f.rateIndex {
						t.Fatalf("frame %d header = %+v, want version/bitrate/rate of %+v", i, fr, cfg)
					}
					if wantMode := map[int]int{1: 3, 2: 1}[cfg.Channels]; fr.mode != wantMode {
						t.Fatalf("frame %d mode = %d, want %d", i, fr.mode, wantMode)
					}
				}

				got := decode(t, mp3, cfg.Channels)
				if cfg.SampleRate == 22050 {
					// go-mp3 v0.3.4 sizes padded MPEG-2 frames one byte short
					// ((144*bitrate/rate+padding)>>1), which breaks the bit
					// reservoir after such a frame; ffmpeg decodes them right.
					path := t.TempDir() + "/a.mp3"
					os.WriteFile(path, mp3, 0o600)
					got = decodeFFmpeg(t, path, cfg.Channels)
				}
				out := len(got)/cfg.Channels - Delay
				if out < n || out-n >= f.samplesPerFrame() {
					t.Fatalf("decoded %d samples after the %d-sample delay, want %d to %d", out, Delay, n, n+f.samplesPerFrame()-1)
				}
				// Fidelity: SNR over the whole signal, per channel, at a lag
				// of exactly Delay (so this also checks Delay), against a
				// floor that rises with the bits per sample available.
				bitsPerSample := float64(cfg.Bitrate*1000) / float64(cfg.SampleRate*cfg.Channels)
				floor := min(6*bitsPerSample, 30) - 3
				if sig == "noise" {
					floor = min(3*bitsPerSample, 20) - 3
				}
				for c := range cfg.Channels {
					snr := wholeSNR(channel(pcm, cfg.Channels, c), channel(got, cfg.Channels, c)[Delay:])
					if snr < floor {
						t.Errorf("channel %d SNR = %.1f dB, want >= %.1f dB", c, snr, floor)
					}
				}
			})
		}
	}
}

func wholeSNR(ref, got []float64) float64 {
	var s, e float64
	for i := range ref {
		s += ref[i] * ref[i]
		e += (ref[i] - got[i]) * (ref[i] - got[i])
	}
	return 10 * math.Log10(s/e)
}

// TestPadding checks that padded frames keep the stream at its exact
// bitrate: 44.1 kHz and 22.05 kHz need padding, 48 kHz never does.
func TestPadding(t *testing.T) {
	tests := []struct {
		cfg     Config
		padding bool
	}{
		{Config{44100, 2, 128}, true},
		{Config{22050, 1, 32}, true},
		{Config{48000, 2, 128}, false},
		{Config{16000, 1, 32}, false},
	}
	for _, tt := range tests {
		n := tt.cfg.SampleRate * 10
		mp3 := encode(t, tt.cfg, noise(tt.cfg.Channels, n, 3))
		frames, err := parseFrames(mp3)
		if err != nil {
			t.Fatal(err)
		}
		padded := 0
		for _, f := range frames {
			padded += f.padding
		}
		if (padded > 0) != tt.padding {
			t.Errorf("%+v: %d padded frames, want padding %v", tt.cfg, padded, tt.padding)
		}
		// The stream's length matches the bitrate to within one byte.
		spf := 1152
		if tt.cfg.SampleRate < 32000 {
			spf = 576
		}
		exact := float64(len(frames)*spf) / float64(tt.cfg.SampleRate) * float64(tt.cfg.Bitrate) * 1000 / 8
		if d := math.Abs(float64(len(mp3)) - exact); d > 1 {
			t.Errorf("%+v: %d bytes for %d frames, want %.1f (off by %.1f)", tt.cfg, len(mp3), len(frames), exact, d)
		}
	}
}

// TestChunking checks that the output does not depend on how the input is
// split across Write calls.
func TestChunking(t *testing.T) {
	cfg := Config{16000, 2, 48}
	pcm := tones(16000, 2, 16000)
	want := encode(t, cfg, pcm)
	r := rand.New(rand.NewPCG(5, 5))
	var buf bytes.Buffer
	e, _ := NewEncoder(&buf, cfg)
	for rest := pcm; len(rest) > 0; {
		k := min(2*r.IntN(700), len(rest))
		if _, err := e.Write(rest[:k]); err != nil {
			t.Fatal(err)
		}
		rest = rest[k:]
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("chunked input gave %d bytes differing from the %d of one Write", buf.Len(), len(want))
	}
}

// TestStreaming checks that frames reach the writer while input arrives:
// all but the few frames the reservoir may still fill.
func TestStreaming(t *testing.T) {
	cfg := Config{16000, 1, 32}
	var buf bytes.Buffer
	e, _ := NewEncoder(&buf, cfg)
	pcm := tones(16000, 1, 576*100)
	if _, err := e.Write(pcm); err != nil {
		t.Fatal(err)
	}
	// Held back: the frames whose main-data space the reservoir may still
	// fill (255 bytes span at most two 135-byte slots) and the newest.
	const frameLen = 144
	pending := int(e.Frames())*frameLen - buf.Len()
	if buf.Len()%frameLen != 0 || pending > 3*frameLen {
		t.Fatalf("after %d frames %d bytes written (%d held back), want whole frames and at most %d held back", e.Frames(), buf.Len(), pending, 3*frameLen)
	}
}

func TestWriteErrors(t *testing.T) {
	e, _ := NewEncoder(&bytes.Buffer{}, Config{16000, 2, 48})
	if _, err := e.Write(make([]int16, 3)); err == nil {
		t.Error("Write of 3 samples in stereo = nil, want an error")
	}
	if err := e.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if _, err := e.Write(make([]int16, 2)); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
	if err := e.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}

	boom := errors.New("disk full")
	e, _ = NewEncoder(failWriter{boom}, Config{16000, 1, 32})
	_, err := e.Write(make([]int16, 576*20))
	if !errors.Is(err, boom) {
		t.Errorf("Write to a failing writer = %v, want %v", err, boom)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

// TestNoAllocationPerFrame checks the steady state allocates nothing.
func TestNoAllocationPerFrame(t *testing.T) {
	for _, cfg := range []Config{{16000, 1, 32}, {16000, 2, 48}, {44100, 2, 128}} {
		e, _ := NewEncoder(discard{}, cfg)
		f, _ := cfg.validate()
		pcm := tones(cfg.SampleRate, cfg.Channels, f.samplesPerFrame())
		for range 10 {
			e.Write(pcm)
		}
		if a := testing.AllocsPerRun(50, func() { e.Write(pcm) }); a != 0 {
			t.Errorf("%+v: %.1f allocations per frame, want 0", cfg, a)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestOtherDecoders decodes with ffmpeg and mpg123, which must report no
// error or warning, and checks that both read the Info frame and its LAME
// extension: they skip the tag, trim the encoder delay and the padding,
// and give back exactly the input's length, aligned with the input.
func TestOtherDecoders(t *testing.T) {
	dir := t.TempDir()
	for _, cfg := range []Config{{16000, 1, 32}, {16000, 2, 48}, {22050, 2, 64}, {24000, 1, 24}, {44100, 2, 320}, {48000, 1, 32}, {32000, 2, 96}} {
		// An odd length, so the end is not on a frame boundary.
		n := cfg.SampleRate + 333
		pcm := tones(cfg.SampleRate, cfg.Channels, n)
		var buf bytes.Buffer
		e, _ := NewEncoder(&buf, cfg)
		e.Write(pcm)
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		tag, err := InfoFrame(cfg, Written{Frames: e.Frames(), Bytes: int64(buf.Len()), Samples: e.Samples()})
		if err != nil {
			t.Fatal(err)
		}
		path := fmt.Sprintf("%s/%d_%d_%d.mp3", dir, cfg.SampleRate, cfg.Channels, cfg.Bitrate)
		if err := os.WriteFile(path, append(tag, buf.Bytes()...), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, tool := range [][]string{
			{"ffmpeg", "-v", "warning", "-nostdin", "-i", path, "-f", "null", "-"},
			{"mpg123", "-q", "-t", path},
		} {
			needTool(t, tool[0])
			out, err := exec.Command(tool[0], tool[1:]...).CombinedOutput()
			if err != nil || len(bytes.TrimSpace(out)) > 0 {
				t.Errorf("%s on %+v: err %v, output %q", tool[0], cfg, err, out)
			}
		}
		for name, got := range map[string][]int16{"ffmpeg": decodeFFmpeg(t, path, cfg.Channels), "mpg123": decodeMpg123(t, path)} {
			if len(got)/cfg.Channels != n {
				t.Errorf("%s decoded %d samples of %+v, want %d: the delay and padding trimmed", name, len(got)/cfg.Channels, cfg, n)
			}
			if lag := bestLag(pcm, got, cfg.Channels); lag != 0 {
				t.Errorf("%s on %+v: the decoded audio lags the input by %d samples, want 0", name, cfg, lag)
			}
		}
	}
}

// decodeMpg123 decodes with mpg123 (gapless, the default) to 16-bit PCM.
func decodeMpg123(t testing.TB, path string) []int16 {
	t.Helper()
	needTool(t, "mpg123")
	out, err := exec.Command("mpg123", "-q", "-s", path).Output()
	if err != nil {
		t.Fatalf("mpg123: %v", err)
	}
	pcm := make([]int16, len(out)/2)
	for i := range pcm {
		pcm[i] = int16(uint16(out[2*i]) | uint16(out[2*i+1])<<8)
	}
	return pcm
}

// bestLag is the shift of got against want (first channel) that matches
// best, within ±64 samples.
func bestLag(want, got []int16, nch int) int {
	best, bestScore := 0, math.Inf(-1)
	for lag := -64; lag <= 64; lag++ {
		var score float64
		for i := 2000; i < 6000; i++ {
			j := i + lag
			if j < 0 || j*nch >= len(got) || i*nch >= len(want) {
				continue
			}
			score += float64(want[i*nch]) * float64(got[j*nch])
		}
		if score > bestScore {
			best, bestScore = lag, score
		}
	}
	return best
}

func TestInfoFrameErrors(t *testing.T) {
	b, err := InfoFrame(Config{16000, 1, 8}, Written{Frames: 10, Bytes: 1000})
	if err != nil || len(b) < 4+9+120 {
		t.Errorf("InfoFrame at 16 kHz 8 kbit/s = %d bytes, %v; want a frame of a higher bitrate holding the tag", len(b), err)
	}
	if _, err := InfoFrame(Config{16000, 1, 32}, Written{Frames: -1}); err == nil {
		t.Error("InfoFrame with -1 frames = nil error, want one")
	}
	b, err = InfoFrame(Config{44100, 2, 128}, Written{Frames: 100, Bytes: 41796})
	if err != nil {
		t.Fatal(err)
	}
	frames, err := parseFrames(b)
	if err != nil || len(frames) != 1 || frames[0].part23[0] != 0 {
		t.Fatalf("InfoFrame is not one silent frame: %+v, %v", frames, err)
	}
}

// needTool skips (or under CI fails) when a command is not installed.
func needTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed under CI", name)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
}

// decodeFFmpeg decodes a file with ffmpeg into interleaved samples.
func decodeFFmpeg(t testing.TB, path string, nch int) []int16 {
	t.Helper()
	needTool(t, "ffmpeg")
	out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-i", path, "-f", "s16le", "-ac", fmt.Sprint(nch), "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	pcm := make([]int16, len(out)/2)
	for i := range pcm {
		pcm[i] = int16(uint16(out[2*i]) | uint16(out[2*i+1])<<8)
	}
	return pcm
}

// TestEveryBitrate encodes at every bitrate each version allows, in mono
// and stereo, and checks the headers, the reservoir and a decode.
func TestEveryBitrate(t *testing.T) {
	for _, rate := range []int{16000, 48000} {
		kbps := mpeg2Bitrates[1:]
		if rate == 48000 {
			kbps = mpeg1Bitrates[1:]
		}
		for _, b := range kbps {
			for _, ch := range []int{1, 2} {
				cfg := Config{rate, ch, b}
				pcm := noise(ch, rate/2, uint64(b))
				mp3 := encode(t, cfg, pcm)
				f, _ := cfg.validate()
				frames, err := parseFrames(mp3)
				if err != nil {
					t.Fatalf("%+v: %v", cfg, err)
				}
				checkReservoir(t, frames, f.maxMDB, f.sideInfoLen)
				if frames[0].bitrateIndex != f.bitrateIndex {
					t.Fatalf("%+v: bitrate index %d, want %d", cfg, frames[0].bitrateIndex, f.bitrateIndex)
				}
				got := decode(t, mp3, ch)
				if snr := wholeSNR(channel(pcm, ch, 0), channel(got, ch, 0)[Delay:]); snr < 0 {
					t.Errorf("%+v: SNR %.1f dB, want above 0", cfg, snr)
				}
			}
		}
	}
}

func TestLog2(t *testing.T) {
	for _, x := range []float64{1e-30, 1e-9, 0.5, 0.75, 1, 1.5, 1.999, 2, 3, 1000, 12345.678, 1e12, 1e300} {
		if got, want := log2(x), math.Log2(x); math.Abs(got-want) > 1e-5 {
			t.Errorf("log2(%g) = %.8f, want %.8f", x, got, want)
		}
	}
}
