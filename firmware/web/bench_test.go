package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"callrec/storage/archive"
	"callrec/storage/index"
)

// serve runs one request through the page's handler, as the server does
// (no network): what the box spends answering it.
func (b *box) serve(tb testing.TB, path, token string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	b.srv.ServeHTTP(rec, req)
	if rec.Code >= 300 {
		tb.Fatalf("%s = %d: %s", path, rec.Code, rec.Body)
	}
	return rec
}

// BenchmarkSearch2M answers searches over 2 million calls through the API
// (each one audited, as every search is): by a patient's number, the
// latest page, and a filter with no lookup key (newest first, bounded).
// The target is 50 ms at the server.
func BenchmarkSearch2M(b *testing.B) {
	const calls, batch = 2_000_000, 20_000
	bx := newBox(b)
	ix := bx.a.Index()
	t0 := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	start := time.Now()
	rs := make([]*index.Record, 0, batch)
	for i := range calls {
		n := fmt.Sprintf("+4416329%05d", i%50000) // 50,000 distinct callers: 40 calls each
		dir := []string{"inbound", "outbound", "internal"}[i%3]
		rs = append(rs, &index.Record{ID: fmt.Sprintf("b%07d", i), ConversationID: fmt.Sprintf("b%07d", i), Start: t0.Add(time.Duration(i) * 30 * time.Second),
			Direction: dir, From: index.Party{E164: n}, To: index.Party{Extension: fmt.Sprint(200 + i%50)}, Numbers: []string{n},
			Extensions: []string{fmt.Sprint(200 + i%50)}, Flags: []string{}, Recording: index.Recording{State: index.StateComplete, Duration: int64(i%600) * 1000}})
		if len(rs) == batch {
			if err := ix.Put(rs...); err != nil {
				b.Fatal(err)
			}
			rs = rs[:0]
		}
	}
	b.Logf("loaded %d calls in %v", calls, time.Since(start).Round(time.Second))
	tok := bx.tokens["sup"]
	for _, q := range []struct{ name, path string }{
		{"number", "/api/v1/calls?number=01632912345"},
		{"latest", "/api/v1/calls"},
		{"number+direction", "/api/v1/calls?number=01632912345&direction=outbound"},
		{"extension+dates", "/api/v1/calls?extension=207&from=2023-06-01&to=2023-06-30"},
		{"flag-only-no-match", "/api/v1/calls?flag=video"}, // the worst case: reads maxScan calls, then says so
	} {
		b.Run(q.name, func(b *testing.B) {
			for b.Loop() {
				bx.serve(b, q.path, tok, nil)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/search")
		})
	}
}

// BenchmarkRangeStart: a player's Range request for the first 64 KiB of
// an hour-long recording (21.6 MB at 48 kbit/s), answered through the API
// with its audit entry. The first request after the daemon starts hashes
// the whole file once (reported as cold-ms); later ones, any offset, do
// not. The target is 200 ms to start playback.
func BenchmarkRangeStart(b *testing.B) {
	bx := newBox(b)
	const size = 48000 / 8 * 3600
	r := &index.Record{ID: "hour", ConversationID: "hour", Start: time.Now(), Answered: time.Now(), Numbers: []string{"+441632960009"},
		Flags: []string{}, Recording: index.Recording{Bitrate: 48, Channels: 2}}
	w, err := bx.a.Create(r)
	if err != nil {
		b.Fatal(err)
	}
	frame := make([]byte, 144)
	frame[0], frame[1], frame[2] = 0xff, 0xf3, 0x64 // an MPEG-2 layer III header, 48 kbit/s
	for n := 0; n < size; n += len(frame) {
		w.Write(frame)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	bx.a.Finish("hour", archive.Finished{Duration: time.Hour, Samples: 16000 * 3600})
	tok := bx.tokens["sup"]
	hdr := map[string]string{"X-Playback-Reason": "benchmark", "Range": "bytes=0-65535"}
	t := time.Now()
	bx.serve(b, "/api/v1/calls/hour/audio", tok, hdr)
	cold := time.Since(t)
	i := 0
	for b.Loop() {
		hdr["Range"] = fmt.Sprintf("bytes=%d-%d", i*1_000_003%size, i*1_000_003%size+65535)
		if rec := bx.serve(b, "/api/v1/calls/hour/audio", tok, hdr); rec.Code != http.StatusPartialContent || rec.Body.Len() != 65536 {
			b.Fatalf("range = %d, %d bytes", rec.Code, rec.Body.Len())
		}
		i++
	}
	b.ReportMetric(float64(cold.Microseconds())/1000, "cold-ms")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/range")
}
