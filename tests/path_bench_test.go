package tests

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"callrec/recorder/capture"
	ct "callrec/recorder/capture/capturetest"
	"callrec/recorder/mix"
	"callrec/recorder/pipeline"
	"callrec/recorder/track"
	"callrec/storage/vault"
)

// memSink keeps each recording's MP3 in memory.
type memSink struct{ files []*bytes.Buffer }

type memFile struct{ *bytes.Buffer }

func (memFile) Close() error { return nil }

func (s *memSink) Create(*track.Call) (io.WriteCloser, error) {
	b := new(bytes.Buffer)
	s.files = append(s.files, b)
	return memFile{b}, nil
}

// cpu is the process's CPU time so far: what the recording path and the
// vault cost the box, whatever the disk's latency.
type cpu struct{ user, sys time.Duration }

func cpuTime(tb testing.TB) cpu {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return cpu{time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())}
}

func (c cpu) sub(d cpu) cpu        { return cpu{c.user - d.user, c.sys - d.sys} }
func (c cpu) total() time.Duration { return c.user + c.sys }

func minCPU(a, b cpu) cpu {
	if a.total() <= b.total() {
		return a
	}
	return b
}

// BenchmarkEncryptionShare measures, in the same run, the CPU of the
// recording path (capture file → track → decode → mix → MP3) for 20
// concurrent 10-second G.711 calls, and the CPU of writing exactly the MP3
// bytes it produced into a real vault (encryption, file writes, a sync per
// chunk). vault-pct is the second as a percentage of the first: the cost
// encryption at rest adds to recording; vault-sys-pct is the part spent in
// the kernel (writes and syncs), the rest is sealing in Go.
func BenchmarkEncryptionShare(b *testing.B) {
	const calls, seconds = 20, 10
	var pcap bytes.Buffer
	if err := ct.WritePcap(&pcap, 1, toneCalls(calls, seconds*time.Second)); err != nil {
		b.Fatal(err)
	}
	keys := &vault.Keyring{}
	var err error
	if keys.Current, err = vault.NewKey(); err != nil {
		b.Fatal(err)
	}
	v, err := vault.New(b.TempDir(), keys, nil)
	if err != nil {
		b.Fatal(err)
	}
	// Each side at its best run, the least disturbed by the machine.
	bestPath, bestVault := cpu{user: 1 << 62}, cpu{user: 1 << 62}
	n := 0
	for b.Loop() {
		sink := &memSink{}
		start := cpuTime(b)
		recordPcap(b, pcap.Bytes(), sink)
		bestPath = minCPU(bestPath, cpuTime(b).sub(start))
		if len(sink.files) != calls {
			b.Fatalf("%d recordings, want %d", len(sink.files), calls)
		}
		start = cpuTime(b)
		for _, f := range sink.files {
			w, err := v.Create(fmt.Sprint("c", n))
			if err != nil {
				b.Fatal(err)
			}
			n++
			// The encoder hands the sink one MP3 frame at a time.
			for rest := f.Bytes(); len(rest) > 0; rest = rest[min(len(rest), 144):] {
				if _, err := w.Write(rest[:min(len(rest), 144)]); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
		bestVault = minCPU(bestVault, cpuTime(b).sub(start))
	}
	perCallSecond := func(d time.Duration) float64 { return d.Seconds() / (calls * seconds) }
	b.ReportMetric(perCallSecond(bestPath.total())*1e3, "path-ms/call-s")
	b.ReportMetric(perCallSecond(bestVault.total())*1e3, "vault-ms/call-s")
	b.ReportMetric(100*bestVault.total().Seconds()/bestPath.total().Seconds(), "vault-pct")
	b.ReportMetric(100*bestVault.sys.Seconds()/bestPath.total().Seconds(), "vault-sys-pct")
}

func toneCalls(n int, dur time.Duration) []ct.Frame {
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	party := func(user, ip string, rtp uint16, tag string) ct.Party {
		a := netip.MustParseAddr(ip)
		return ct.Party{User: user, SIP: netip.AddrPortFrom(a, 5060), RTP: netip.AddrPortFrom(a, rtp), Tag: tag}
	}
	var frames []ct.Frame
	for i := range n {
		d := &ct.Dialog{CallID: fmt.Sprintf("share-%d", i),
			Caller: party(fmt.Sprint(200+i), fmt.Sprintf("10.1.%d.%d", i/250, 1+i%250), 4000, "a"),
			Callee: party(fmt.Sprintf("0163296%04d", i), fmt.Sprintf("10.2.%d.%d", i/250, 1+i%250), 6000, "b")}
		frames = append(frames, ct.ToneCall(d, t0.Add(time.Duration(i)*time.Millisecond), dur, 400+float64(i), 1200+float64(i))...)
	}
	slices.SortStableFunc(frames, func(x, y ct.Frame) int { return x.Time.Compare(y.Time) })
	return frames
}

// recordPcap runs a capture through the recording path into sink.
func recordPcap(tb testing.TB, pcap []byte, sink mix.Sink) {
	src, err := capture.NewReader(bytes.NewReader(pcap))
	if err != nil {
		tb.Fatal(err)
	}
	p := pipeline.New(pipeline.Config{Sink: sink}, nil)
	if err := p.Run(context.Background(), src); err != nil {
		tb.Fatal(err)
	}
	p.Close("capture_end")
}

// BenchmarkConcurrentRSS records 100 and then 1,000 concurrent calls with
// `recorderd extract` from a capture file, and reports the process's peak
// resident memory: what the box needs for that many calls at once
// (capture, tracking, mixing and encoding; the MP3s go to files).
func BenchmarkConcurrentRSS(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n, "calls"), func(b *testing.B) {
			dir := b.TempDir()
			pcap := filepath.Join(dir, "calls.pcap")
			f, err := os.Create(pcap)
			if err != nil {
				b.Fatal(err)
			}
			w := bufio.NewWriterSize(f, 1<<20)
			if err := ct.WritePcap(w, 1, toneCalls(n, 6*time.Second)); err != nil {
				b.Fatal(err)
			}
			w.Flush()
			f.Close()
			var peak int64
			for b.Loop() {
				out := filepath.Join(dir, fmt.Sprint("out", peak))
				cmd := exec.Command(recorderd, "extract", pcap, "-out", out)
				if msg, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("extract: %v\n%s", err, msg)
				}
				ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
				peak = max(peak, ru.Maxrss) // KiB
				os.RemoveAll(out)
			}
			b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB")
			b.ReportMetric(float64(peak)/float64(n), "KiB/call")
		})
	}
}
