package tests

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gomp3 "github.com/hajimehoshi/go-mp3"

	"callrec/recorder/mp3"
)

type extractedCall struct {
	inspectedCall
	Answered   string
	File       string `json:"file"`
	DurationMS int64  `json:"duration_ms"`
	InbandDTMF string `json:"inband_dtmf"`
}

func runExtract(t *testing.T, args ...string) (string, []extractedCall) {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command(recorderd, append([]string{"extract", "-out", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("recorderd extract %v: %v\n%s", args, err, out)
	}
	f, err := os.Open(filepath.Join(dir, "calls.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var calls []extractedCall
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c extractedCall
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		calls = append(calls, c)
	}
	return dir, calls
}

// decodeMP3 returns the two channels of a stereo MP3, without the
// encoder's delay. go-mp3 knows no Info frame: it decodes one as a frame of
// silence, which is skipped too.
func decodeMP3(t *testing.T, path string) (left, right []float64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	skip := mp3.Delay
	if len(b) > 64 && bytes.Contains(b[:64], []byte("Info")) {
		skip += 576 // a frame at 16 kHz
	}
	d, err := gomp3.NewDecoder(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("go-mp3: %v", err)
	}
	raw, err := io.ReadAll(d)
	if err != nil {
		t.Fatalf("go-mp3: %v", err)
	}
	for i := 4 * skip; i+3 < len(raw); i += 4 {
		left = append(left, float64(int16(binary.LittleEndian.Uint16(raw[i:]))))
		right = append(right, float64(int16(binary.LittleEndian.Uint16(raw[i+2:]))))
	}
	return left, right
}

// reference decodes one direction independently of our code: tshark
// extracts the RTP payloads and timestamps, the payloads are laid out by
// timestamp (silence for gaps), sox decodes G.711 and resamples to 16 kHz.
// It returns the audio and the capture time of its first sample.
func reference(t *testing.T, file, src string, law string) ([]float64, time.Time) {
	t.Helper()
	ip, port, _ := strings.Cut(strings.Trim(src, "[]"), ":")
	if i := strings.LastIndex(src, ":"); i >= 0 {
		ip, port = strings.Trim(src[:i], "[]"), src[i+1:]
	}
	out, err := exec.Command("tshark", "-n", "-r", file, "-Y", "rtp && ip.src=="+ip+" && udp.srcport=="+port+" && rtp.p_type < 100 && rtp.p_type != 13",
		"-T", "fields", "-e", "frame.time_epoch", "-e", "rtp.timestamp", "-e", "rtp.payload").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var payload []byte
	var first time.Time
	var ts0 int64
	silence := byte(0xff)
	if law == "al" {
		silence = 0xd5
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 3 {
			continue
		}
		ts, _ := strconv.ParseInt(f[1], 10, 64)
		p, err := hex.DecodeString(strings.ReplaceAll(f[2], ":", ""))
		if err != nil {
			continue
		}
		sec, _ := strconv.ParseFloat(f[0], 64)
		arrival := time.Unix(0, int64(sec*1e9))
		if payload == nil {
			first, ts0 = arrival, ts
		}
		// Anchor at the least-delayed packet: where its timestamp says the
		// first sample was.
		if a := arrival.Add(-time.Duration(ts-ts0) * time.Second / 8000); a.Before(first) {
			first = a
		}
		at := int(ts - ts0)
		if at < 0 || at > 8000*3600 {
			continue
		}
		if payload == nil {
			payload = []byte{}
		}
		for len(payload) < at {
			payload = append(payload, silence)
		}
		payload = append(payload[:at], p...)
	}
	dir := t.TempDir()
	in, outRaw := filepath.Join(dir, "in.raw"), filepath.Join(dir, "out.raw")
	os.WriteFile(in, payload, 0o600)
	decoder := exec.Command("sox", "-t", law, "-r", "8000", "-c", "1", in, "-t", "s16", "-e", "signed", "-r", "16000", outRaw)
	if law == "g722" { // ffmpeg's G.722 decoder: 16 kHz audio, one byte per RTP tick
		decoder = exec.Command("ffmpeg", "-v", "error", "-f", "g722", "-i", in, "-f", "s16le", "-ac", "1", "-ar", "16000", outRaw)
	}
	if b, err := decoder.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", decoder.Path, err, b)
	}
	raw, _ := os.ReadFile(outRaw)
	pcm := make([]float64, len(raw)/2)
	for i := range pcm {
		pcm[i] = float64(int16(binary.LittleEndian.Uint16(raw[2*i:])))
	}
	return pcm, first
}

// blockSegSNR compares got with ref one second at a time: each block is
// aligned on its own within ±60 ms of the expected offset (the recorder
// follows the sender's clock drift against capture time; the reference
// does not), then scored by segmental SNR over 20 ms frames (silent
// frames skipped, each clamped to [-10, 35] dB). It returns the mean SNR
// and the largest offset from expected that any block needed.
func blockSegSNR(ref, got []float64, offset int) (float64, int) {
	const block, search = 16000, 960
	var sum float64
	frames, worst := 0, 0
	for b := 0; b+block <= len(ref); b += block {
		r := ref[b : b+block]
		var energy float64
		for _, v := range r {
			energy += v * v
		}
		if energy/block < 32767*32767*1e-5 {
			continue
		}
		bestLag, best := 0, math.Inf(-1)
		for lag := offset - search; lag <= offset+search; lag++ {
			var s float64
			for i := 0; i < block; i += 2 {
				if j := b + i + lag; j >= 0 && j < len(got) {
					s += r[i] * got[j]
				}
			}
			if s > best {
				best, bestLag = s, lag
			}
		}
		worst = max(worst, bestLag-offset, offset-bestLag)
		for i := 0; i+320 <= block; i += 320 {
			var e, noise float64
			for k := i; k < i+320; k++ {
				g := 0.0
				if j := b + k + bestLag; j >= 0 && j < len(got) {
					g = got[j]
				}
				e += r[k] * r[k]
				noise += (r[k] - g) * (r[k] - g)
			}
			if e/320 < 32767*32767*1e-5 {
				continue
			}
			snr := 35.0
			if noise > 0 {
				snr = min(max(10*math.Log10(e/noise), -10), 35)
			}
			sum += snr
			frames++
		}
	}
	if frames == 0 {
		return 35, worst
	}
	return sum / float64(frames), worst
}

// TestExtractFidelity checks, for the shared captures with two-way G.711,
// that each channel of the MP3 matches an independent decoding of the same
// RTP (tshark and sox), in the right place, and that the recording lasts
// as long as the call.
func TestExtractFidelity(t *testing.T) {
	dir := sharedDir(t)
	needTool(t, "tshark")
	needTool(t, "sox")
	for _, tc := range []struct {
		file   string
		law    string
		oneWay bool // only the callee sends (FreeSWITCH playing to SIPp)
	}{
		{"wsw-rtp_conversacion.pcap", "ul", false},
		{"wsw-MagicJack-_short_call.pcap", "ul", false},
		{"wsw-nb6-telephone.pcap", "al", false},
		{"heplify-sip_ipv4_tcp.pcap", "al", false},
		{"wsw-sip-rtp-g722.pcap", "g722", true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f := filepath.Join(dir, tc.file)
			out, calls := runExtract(t, f)
			if len(calls) != 1 || calls[0].File == "" {
				t.Fatalf("calls %+v, want one with a recording", calls)
			}
			c := calls[0]
			if c.InbandDTMF != "" {
				t.Errorf("in-band DTMF %q detected in speech: a false alarm", c.InbandDTMF)
			}
			left, right := decodeMP3(t, filepath.Join(out, c.File))
			// The recording's length is the call's: from the answer (or
			// first audio) to the end; the MP3 rounds up to a frame.
			wantLen := int(c.DurationMS) * 16
			if d := len(left) - wantLen; d < 0 || d > 1152 {
				t.Errorf("MP3 holds %d samples after the delay, recording %d ms (%d samples)", len(left), c.DurationMS, wantLen)
			}
			// The recording runs from its origin (the answer, or earlier
			// audio) to the call's end.
			end, _ := time.Parse(time.RFC3339Nano, c.End)
			start := end.Add(-time.Duration(c.DurationMS) * time.Millisecond)
			m := c.Legs[0].Media[0]
			// The party outside the practice is on the left; the caller for
			// internal calls.
			sides := map[string][]float64{m.CallerAddr: left, m.CalleeAddr: right}
			if c.Direction == "outbound" {
				sides = map[string][]float64{m.CallerAddr: right, m.CalleeAddr: left}
			}
			for side, ch := range sides {
				if tc.oneWay && side == m.CallerAddr {
					continue
				}
				ref, first := reference(t, f, side, tc.law)
				offset := int(first.Sub(start).Seconds() * 16000)
				snr, worst := blockSegSNR(ref, ch, offset)
				t.Logf("%s: segmental SNR %.1f dB; blocks within %.1f ms of the reference's place", side, snr, float64(worst)/16)
				if snr < 15 {
					t.Errorf("%s: segmental SNR %.1f dB, want >= 15", side, snr)
				}
				// Placement is checked against arrival time by recorder/rtp's
				// impairment tests; this reference follows the sender's clock,
				// which drifts (MagicJack's by about 0.4%), so its place is
				// only logged here.
			}
		})
	}
}
