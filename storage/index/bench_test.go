package index

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkFindNumber searches one patient's number among 2 million calls.
func BenchmarkFindNumber(b *testing.B) {
	const calls, batch = 2_000_000, 20_000
	ix, err := Open(filepath.Join(b.TempDir(), "big.db"), Options{Key: testKey, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	start := time.Now()
	rs := make([]*Record, 0, batch)
	for i := range calls {
		n := fmt.Sprintf("+4416329%05d", i%50000) // 50,000 distinct callers
		rs = append(rs, rec(fmt.Sprintf("c%07d", i), t0.Add(time.Duration(i)*time.Minute), []string{n}, fmt.Sprint(200+i%50)))
		if len(rs) == batch {
			if err := ix.Put(rs...); err != nil {
				b.Fatal(err)
			}
			rs = rs[:0]
		}
	}
	load := time.Since(start)
	b.ResetTimer()
	var found int
	for b.Loop() {
		r, err := ix.Find(Query{Number: "+441632912345"})
		if err != nil {
			b.Fatal(err)
		}
		found = len(r)
	}
	b.ReportMetric(float64(found), "calls-found")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/search")
	b.ReportMetric(float64(calls)/load.Seconds(), "inserts/s")
}
