package mix_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"callrec/recorder/capture"
	ct "callrec/recorder/capture/capturetest"
	"callrec/recorder/codec"
	"callrec/recorder/pipeline"
	"callrec/recorder/track"
)

type discardSink struct{}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func (discardSink) Create(*track.Call) (io.WriteCloser, error) { return nopCloser{io.Discard}, nil }

// concurrentCalls scripts n simultaneous G.711 calls of the given length.
// Their audio is real speech when the shared captures are present (the
// two sides of wsw-rtp_conversacion, each call starting at another point
// of it), else a tone each.
func concurrentCalls(n int, dur time.Duration) []ct.Frame {
	speech := sharedSpeech()
	var frames []ct.Frame
	packets := int(dur / (20 * time.Millisecond))
	for i := range n {
		a := party(fmt.Sprint(200+i), fmt.Sprintf("10.1.%d.1", i), 4000, "a")
		b := party(fmt.Sprintf("0163296%04d", i), fmt.Sprintf("10.2.%d.1", i), 6000, "b")
		d := &ct.Dialog{CallID: fmt.Sprintf("bench-%d", i), Caller: a, Callee: b}
		start := t0.Add(time.Duration(i) * time.Millisecond)
		if speech[0] != nil {
			off := i * 37
			frames = append(frames, ct.AudioCall(d, start, packets,
				func(k int) []byte { return speech[0][(off+k)%len(speech[0])] },
				func(k int) []byte { return speech[1][(off+k)%len(speech[1])] })...)
			continue
		}
		frames = append(frames, ct.ToneCall(d, start, dur, 400+float64(i), 1200+float64(i))...)
	}
	slices.SortStableFunc(frames, func(x, y ct.Frame) int { return x.Time.Compare(y.Time) })
	return frames
}

// BenchmarkCallPath measures the whole path for G.711 stereo calls:
// capture file → decode → track → RTP timeline → resample → mix → MP3.
// It reports CPU per recorded call-second, the calls one core sustains in
// real time, memory per active call, and the ratio to the lame CLI (-q 5)
// encoding the same length of audio.
func BenchmarkCallPath(b *testing.B) {
	calls, seconds := 10, 300 // a long input: five minutes each
	if s, err := strconv.Atoi(os.Getenv("CALLPATH_SECONDS")); err == nil {
		seconds = s // a shorter run while working on the path
	}
	var pcap bytes.Buffer
	ct.WritePcap(&pcap, 1, concurrentCalls(calls, time.Duration(seconds)*time.Second))
	lame := newLame(b, seconds)
	b.ReportAllocs()
	b.ResetTimer()
	// Both sides are taken at their best run, the least disturbed by
	// whatever else the machine does, in CPU time (the garbage collector's
	// work on the other core counts too). lame runs between the path's
	// runs, so that both meet the same moments of a noisy machine.
	fastest := time.Duration(1 << 62)
	var lame5, lame7 float64
	for b.Loop() {
		start := processCPU(b)
		replayAll(b, pcap.Bytes(), false)
		fastest = min(fastest, processCPU(b)-start)
		b.StopTimer()
		lame7, lame5 = lame.best(b, 7), lame.best(b, 5)
		b.StartTimer()
	}
	perCallSecond := fastest.Seconds() / float64(calls*seconds)
	b.ReportMetric(perCallSecond*1000, "cpu-ms/call-s")
	b.ReportMetric(1/perCallSecond, "calls/core")
	if lame5 > 0 {
		// The goal: the whole path at no more than half of lame -q 7's
		// time for encoding the same audio alone.
		b.ReportMetric(perCallSecond/lame5, "x-lame-q5")
		b.ReportMetric(perCallSecond/lame7, "x-lame-q7")
	}
	b.StopTimer()
	b.ReportMetric(bytesPerActiveCall(b)/1024, "KiB/call")
}

// replayAll runs a pcap through the path; with open, the calls are left
// in progress at its end, and the pipeline returned holds them.
func replayAll(tb testing.TB, pcap []byte, open bool) *pipeline.Pipeline {
	src, err := capture.NewReader(bytes.NewReader(pcap))
	if err != nil {
		tb.Fatal(err)
	}
	p := pipeline.New(pipeline.Config{Sink: discardSink{}}, nil)
	if err := p.Run(context.Background(), src); err != nil {
		tb.Fatal(err)
	}
	if !open {
		p.Close("capture_end")
	}
	return p
}

// bytesPerActiveCall measures the heap that each call in progress holds:
// the slope between 10 and 40 concurrent calls, stopped half-way.
func bytesPerActiveCall(tb testing.TB) float64 {
	heap := func(n int) uint64 {
		frames := concurrentCalls(n, 4*time.Second)
		var pcap bytes.Buffer
		ct.WritePcap(&pcap, 1, frames[:len(frames)/2])
		p := replayAll(tb, pcap.Bytes(), true)
		var m runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m)
		runtime.KeepAlive(p) // measured with its calls in progress, then let go
		return m.HeapAlloc
	}
	h10 := heap(10)
	h40 := heap(40)
	return (float64(h40) - float64(h10)) / 30
}

// processCPU is the CPU time this process has used, user and system.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// lameRuns times the lame CLI encoding the same audio as the calls
// carry, 16 kHz stereo at 48 kbit/s, keeping each quality's best run.
type lameRuns struct {
	dir     string
	seconds int
	bestAt  map[int]time.Duration
}

// newLame writes the input for lame, or returns nil when lame is not
// installed (under CI, a failure).
func newLame(b *testing.B, seconds int) *lameRuns {
	if _, err := exec.LookPath("lame"); err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatal("lame not installed under CI")
		}
		return nil
	}
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.raw"), speechRaw(seconds), 0o600); err != nil {
		b.Fatal(err)
	}
	return &lameRuns{dir: dir, seconds: seconds, bestAt: map[int]time.Duration{}}
}

// best runs lame once more at the given -q and returns its best CPU time
// so far per second of audio, or 0 without lame.
func (l *lameRuns) best(b *testing.B, quality int) float64 {
	if l == nil {
		return 0
	}
	cmd := exec.Command("lame", "--quiet", "-r", "-s", "16", "--bitwidth", "16", "--signed", "--little-endian",
		"-m", "j", "-b", "48", "--cbr", "-q", fmt.Sprint(quality), filepath.Join(l.dir, "in.raw"), filepath.Join(l.dir, "out.mp3"))
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("lame: %v: %s", err, out)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	t := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if old, ok := l.bestAt[quality]; !ok || t < old {
		l.bestAt[quality] = t
	}
	return l.bestAt[quality].Seconds() / float64(l.seconds)
}

// speechRaw is the audio the calls carry, as one stereo 16 kHz file of
// raw little-endian samples: real speech when present, else tones.
func speechRaw(seconds int) []byte {
	raw := make([]byte, 4*16000*seconds)
	speech := sharedSpeech()
	var sides [2][]int16
	for c := range 2 {
		var pcm []int16
		for k := range 50 * seconds {
			if speech[c] != nil {
				pcm = codec.DecodeULaw(pcm, speech[c][k%len(speech[c])])
			}
		}
		var up codec.Upsampler
		sides[c] = up.Upsample(nil, pcm)
	}
	for i := range 16000 * seconds {
		l, r := int16(8000*sinTable(i, 500)), int16(8000*sinTable(i, 900))
		if speech[0] != nil {
			l, r = sides[0][i], sides[1][i]
		}
		binary.LittleEndian.PutUint16(raw[4*i:], uint16(l))
		binary.LittleEndian.PutUint16(raw[4*i+2:], uint16(r))
	}
	return raw
}

func sinTable(i int, hz float64) float64 {
	return math.Sin(2 * math.Pi * hz * float64(i) / 16000)
}

// sharedSpeech returns the 20 ms µ-law payloads of the two directions of
// a real call from ../shared, or nils when it is absent.
func sharedSpeech() (dirs [2][][]byte) {
	f, err := capture.OpenFile(filepath.Join("..", "..", "..", "shared", "testdata", "pcap", "wsw-rtp_conversacion.pcap"))
	if err != nil {
		return dirs
	}
	defer f.Close()
	dec := capture.NewDecoder(capture.Config{})
	var first netip.AddrPort
	for {
		data, ci, err := f.ReadPacketData()
		if err != nil {
			break
		}
		dec.Decode(f.LinkType(), data, ci.Timestamp, func(d *capture.Datagram) {
			p := d.Payload
			if len(p) != 172 || p[0] != 0x80 || p[1]&0x7f != 0 {
				return // not a 20 ms PCMU packet
			}
			if !first.IsValid() {
				first = d.Src
			}
			side := 1
			if d.Src == first {
				side = 0
			}
			dirs[side] = append(dirs[side], slices.Clone(p[12:]))
		})
	}
	if len(dirs[0]) == 0 || len(dirs[1]) == 0 {
		return [2][][]byte{}
	}
	return dirs
}
