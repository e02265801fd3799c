package tests

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"callrec/firmware/recording"
	"callrec/recorder/capture"
	ct "callrec/recorder/capture/capturetest"
	"callrec/recorder/mix"
	"callrec/recorder/pipeline"
	"callrec/storage/archive"
	"callrec/storage/index"
)

// floodCapture scripts real calls through a PBX while bogus INVITEs (never
// answered, no media, each from its own address) arrive at rate a second.
func floodCapture(real, rate int, dur time.Duration) []ct.Frame {
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	pbx := netip.MustParseAddr("10.0.0.2")
	var frames []ct.Frame
	for i := range real {
		d := &ct.Dialog{CallID: fmt.Sprintf("real-%d@itsp", i),
			Caller: ct.Party{User: fmt.Sprintf("0163296%04d", i), SIP: netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)}), 5060),
				RTP: netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)}), 30000), Tag: "a"},
			Callee: ct.Party{User: fmt.Sprint(200 + i), SIP: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 1, byte(i + 1)}), 5060),
				RTP: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 1, byte(i + 1)}), 4000), Tag: "b"}}
		frames = append(frames, ct.ToneCall(d, t0.Add(time.Duration(i)*200*time.Millisecond), dur-5*time.Second, 400, 900)...)
	}
	n := int(dur.Seconds()) * rate
	for i := range n {
		src := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		d := &ct.Dialog{CallID: fmt.Sprintf("flood-%d@x", i),
			Caller: ct.Party{User: "anonymous", SIP: netip.AddrPortFrom(src, 5060), RTP: netip.AddrPortFrom(src, 40000), Tag: fmt.Sprint("f", i)},
			Callee: ct.Party{User: "01632960000", SIP: netip.AddrPortFrom(pbx, 5060), RTP: netip.AddrPortFrom(pbx, 50000)}}
		at := t0.Add(time.Duration(i) * time.Second / time.Duration(rate))
		frames = append(frames, ct.Frame{Time: at, Data: ct.UDPFrame(d.Caller.SIP, d.Callee.SIP, d.Request("INVITE", true, "sendrecv"))})
	}
	slices.SortStableFunc(frames, func(a, b ct.Frame) int { return a.Time.Compare(b.Time) })
	return frames
}

// BenchmarkFlood records 20 real calls through a flood of 2,000 bogus
// INVITEs a second, with the archive on a real disk (index, vault and the
// disk worker), as the daemon does. It reports the CPU the box spends per
// second of that traffic (below 1: one core keeps up in real time), the
// real calls kept whole, and the attempts kept and dropped.
func BenchmarkFlood(b *testing.B) {
	const real, rate = 20, 2000
	const dur = 30 * time.Second
	var pcap bytes.Buffer
	if err := ct.WritePcap(&pcap, 1, floodCapture(real, rate, dur)); err != nil {
		b.Fatal(err)
	}
	best := time.Duration(1 << 62)
	var whole, kept int
	var dropped uint64
	var indexMB float64
	for b.Loop() {
		dir := b.TempDir()
		a, err := archive.Open(archive.Config{DataDir: filepath.Join(dir, "data"), KeyFile: filepath.Join(dir, "kek"),
			Retention: 5 * 365 * 24 * time.Hour, Format: recording.Format{}, CreateKey: true}, nil)
		if err != nil {
			b.Fatal(err)
		}
		whole = 0
		sink := recording.New(a, recording.Config{OnFinish: func(i mix.Info) {
			if i.Err == nil && i.Duration >= dur-5*time.Second-100*time.Millisecond {
				whole++
			}
		}}, nil)
		start := cpuTime(b)
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		p := pipeline.New(sink.Pipeline(), nil)
		src, _ := capture.NewReader(bytes.NewReader(pcap.Bytes()))
		if err := p.Run(context.Background(), src); err != nil {
			b.Fatal(err)
		}
		p.Close("capture_end")
		stop()
		<-done
		best = min(best, cpuTime(b).sub(start).total())
		rs, _ := a.Index().Find(index.Query{})
		kept = len(rs) - real
		dropped = sink.DroppedAttempts()
		a.Close()
		if st, err := os.Stat(filepath.Join(dir, "data", "index.db")); err == nil {
			indexMB = float64(st.Size()) / (1 << 20)
		}
	}
	b.ReportMetric(best.Seconds()/dur.Seconds(), "cpu-s/traffic-s")
	b.ReportMetric(float64(whole), "real-calls-whole")
	b.ReportMetric(float64(kept), "attempts-kept")
	b.ReportMetric(float64(dropped), "attempts-dropped")
	b.ReportMetric(indexMB, "index-MB")
	if whole != real {
		b.Errorf("%d of %d real calls recorded whole", whole, real)
	}
}
