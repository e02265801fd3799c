package vault

import (
	"fmt"
	"io"
	"testing"
	"time"
)

// BenchmarkWrite writes one-minute recordings (48 kbit/s MP3: 360 kB)
// through the vault to disk, every chunk synced.
func BenchmarkWrite(b *testing.B) {
	v, _ := newVault(b)
	data := random(360_000)
	b.SetBytes(int64(len(data)))
	i := 0
	for b.Loop() {
		w, err := v.Create(fmt.Sprint("w", i))
		if err != nil {
			b.Fatal(err)
		}
		for rest := data; len(rest) > 0; rest = rest[min(len(rest), 1440):] {
			w.Write(rest[:min(len(rest), 1440)])
		}
		w.Close()
		i++
	}
}

// BenchmarkRead reads a one-minute recording back whole.
func BenchmarkRead(b *testing.B) {
	v, _ := newVault(b)
	write(b, v, "r", random(360_000))
	b.SetBytes(360_000)
	for b.Loop() {
		r, err := v.Open("r")
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, io.NewSectionReader(r, 0, r.Size()))
		r.Close()
	}
}

// BenchmarkSeal measures the encryption alone, per second of a 48 kbit/s
// recording (6000 bytes): compare with the recording path's CPU per
// call-second (recorder/mix BenchmarkCallPath).
func BenchmarkSeal(b *testing.B) {
	_, keys := newVault(b)
	h, raw, dek, _ := newHeader(keys.Current, time.Now())
	c, _ := newChunker(dek, h, raw)
	chunk := random(ChunkSize)
	out := make([]byte, 0, sealedSize)
	const perSecond = 6000.0 / ChunkSize
	b.ReportAllocs()
	var i uint64
	for b.Loop() {
		out = c.sealChunk(out[:0], chunk, i, false)
		i++
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*perSecond*1e6, "us-cpu/call-s")
}
