package archive

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkGroupCommit writes 50 recordings at once through the disk
// worker (a sync per file every SyncEvery), and, in the same run, through
// inline writes with a sync per chunk, as a tool without the worker does.
// It reports each path's throughput as the concurrent 48 kbit/s
// recordings it could sustain, and the worker's gain over syncing every
// chunk.
func BenchmarkGroupCommit(b *testing.B) {
	const calls, size = 50, 96 << 10 // 16 s of 48 kbit/s each
	data := audio("bench", size)
	run := func(a *Archive, worker bool) time.Duration {
		var stop func()
		if worker {
			stop = runWorker(b, a)
		}
		start := time.Now()
		ws := make([]*Writer, calls)
		for i := range ws {
			var err error
			if ws[i], err = a.Create(record(fmt.Sprint("g", time.Now().UnixNano(), "-", i), t0)); err != nil {
				b.Fatal(err)
			}
		}
		// The recorder interleaves the calls frame by frame.
		for off := 0; off < size; off += 144 {
			for _, w := range ws {
				w.Write(data[off:min(off+144, size)])
			}
		}
		for _, w := range ws {
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
		if worker {
			stop()
		}
		return time.Since(start)
	}
	a := openTest(b, b.TempDir())
	bestGroup, bestInline := time.Duration(1<<62), time.Duration(1<<62)
	for b.Loop() {
		bestGroup = min(bestGroup, run(a, true))
		bestInline = min(bestInline, run(a, false))
	}
	bytes := float64(calls * size)
	perCall := 48000.0 / 8
	b.ReportMetric(bytes/bestGroup.Seconds()/perCall, "calls-group")
	b.ReportMetric(bytes/bestInline.Seconds()/perCall, "calls-sync-each")
	b.ReportMetric(bestInline.Seconds()/bestGroup.Seconds(), "x-gain")
}
