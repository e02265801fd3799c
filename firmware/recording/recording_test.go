package recording_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gomp3 "github.com/hajimehoshi/go-mp3"

	"callrec/firmware/recording"
	"callrec/firmware/recording/recordingtest"
	"callrec/recorder/capture"
	ct "callrec/recorder/capture/capturetest"
	"callrec/recorder/mix"
	"callrec/recorder/track"
	"callrec/storage/archive"
	"callrec/storage/index"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func party(user, ip, tag string) ct.Party {
	a := netip.MustParseAddr(ip)
	return ct.Party{User: user, SIP: netip.AddrPortFrom(a, 5060), RTP: netip.AddrPortFrom(a, 4000), Tag: tag}
}

func openArchive(t *testing.T, reserve int64) *archive.Archive {
	t.Helper()
	dir := t.TempDir()
	a, err := archive.Open(archive.Config{DataDir: filepath.Join(dir, "data"), KeyFile: filepath.Join(dir, "kek"),
		Reserve: reserve, Retention: 5 * 365 * 24 * time.Hour, Format: recording.Format{}, CreateKey: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// record plays frames into a through Ingest, as the box records a live
// tap, and returns the finished recordings.
func record(t *testing.T, a *archive.Archive, frames []ct.Frame) []mix.Info {
	return recordingtest.Record(t, a, frames)
}

// TestIngestTwiceStoresOnce: the same capture ingested again is known by
// its wire source and left as it was.
func TestIngestTwiceStoresOnce(t *testing.T) {
	a := openArchive(t, 0)
	d := &ct.Dialog{CallID: "twice-1", Caller: party("+441632960001", "203.0.113.5", "a"), Callee: party("201", "10.0.0.21", "b")}
	frames := ct.ToneCall(d, t0, 2*time.Second, 440, 880)
	var pcap bytes.Buffer
	ct.WritePcap(&pcap, 1, frames)
	for i, want := range []recording.Ingested{{Stored: 1}, {Known: 1}} {
		src, _ := capture.NewReader(bytes.NewReader(pcap.Bytes()))
		got, err := recording.Ingest(context.Background(), a, src, recording.Config{}, nil)
		if err != nil || got != want {
			t.Errorf("ingest %d = %+v, %v; want %+v", i+1, got, err, want)
		}
	}
}

func TestCallsReachTheArchive(t *testing.T) {
	a := openArchive(t, 0)
	d := &ct.Dialog{CallID: "rec-1", Caller: party("+441632960001", "203.0.113.5", "a"), Callee: party("201", "10.0.0.21", "b")}
	// The outside party (left) sends no audio: the recording says so.
	var frames []ct.Frame
	for _, f := range ct.AudioCall(d, t0, 150, ct.Silence, tone) {
		if !bytes.Contains(f.Data, []byte{203, 0, 113, 5, 10, 0, 0, 21, 0x0f, 0xa0}) { // 203.0.113.5 → 10.0.0.21:4000
			frames = append(frames, f)
		}
	}
	infos := record(t, a, frames)
	if len(infos) != 1 {
		t.Fatalf("%d recordings, want 1", len(infos))
	}
	id := infos[0].Call.ID
	r, err := a.Index().Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if r.From.E164 != "+441632960001" || r.To.Extension != "201" || r.Direction != "inbound" || r.EndReason != "bye" {
		t.Errorf("record parties %+v → %+v, %s, %s", r.From, r.To, r.Direction, r.EndReason)
	}
	if !slices.Contains(r.Numbers, "+441632960001") || !slices.Equal(r.Extensions, []string{"201"}) || !slices.Equal(r.Codecs, []string{"PCMU", "TELEPHONE-EVENT"}) {
		t.Errorf("numbers %v, extensions %v, codecs %v", r.Numbers, r.Extensions, r.Codecs)
	}
	if !slices.Contains(r.Flags, "one_way:left") {
		t.Errorf("flags %v: the recorder's one_way flag was lost", r.Flags)
	}
	rec := r.Recording
	if rec.State != index.StateComplete || rec.Bitrate != 48 || rec.Channels != 2 || rec.Samples != infos[0].Samples || rec.Samples < 3*16000-800 {
		t.Errorf("recording %+v (recorder said %d samples)", rec, infos[0].Samples)
	}
	// The export decodes, and the Info frame gives its length.
	var out bytes.Buffer
	if _, err := a.Export(archive.Access{Who: "test", Why: "check"}, id, &out); err != nil {
		t.Fatal(err)
	}
	dec, err := gomp3.NewDecoder(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := io.ReadAll(dec)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(pcm) / 4; got < int(rec.Samples) || dec.SampleRate() != 16000 {
		t.Errorf("export decodes to %d samples at %d Hz, want at least %d at 16000", got, dec.SampleRate(), rec.Samples)
	}
	if !bytes.Contains(out.Bytes()[:400], []byte("Info")) {
		t.Error("the export has no Info frame")
	}
}

// TestDiskFullSkipsTheRecordingKeepsTheCall: with no room, the call is
// still in the index (who called whom), without audio, flagged as not
// recorded for lack of space, not as one-way (defect 15 of the attack).
func TestDiskFullSkipsTheRecording(t *testing.T) {
	a := openArchive(t, 1<<62)
	d := &ct.Dialog{CallID: "full-1", Caller: party("+441632960002", "203.0.113.6", "a"), Callee: party("202", "10.0.0.22", "b")}
	infos := record(t, a, ct.ToneCall(d, t0, 2*time.Second, 400, 900))
	if len(infos) != 1 || !errors.Is(infos[0].Err, archive.ErrDiskFull) {
		t.Fatalf("recordings %+v, want one refused for disk full", infos)
	}
	r, err := a.Index().Get(infos[0].Call.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Recording.State.HasAudio() || r.From.E164 != "+441632960002" {
		t.Errorf("record %+v", r)
	}
	if !slices.Contains(r.Flags, recording.FlagDiskFull) || slices.ContainsFunc(r.Flags, func(f string) bool { return strings.HasPrefix(f, "one_way") }) {
		t.Errorf("flags %v, want %s and no one_way", r.Flags, recording.FlagDiskFull)
	}
}

func TestRecordKeepsEveryLeg(t *testing.T) {
	c := &track.Call{ID: "x", ConversationID: "conv", SIPCallIDs: []string{"a", "b"}, Direction: track.Internal,
		From: track.Party{Raw: "201", Extension: "201"}, To: track.Party{Raw: "202", Extension: "202"},
		Numbers: []string{}, Flags: []string{"transfer"}}
	r := recording.Record(c)
	if r.ConversationID != "conv" || !slices.Equal(r.SIPCallIDs, []string{"a", "b"}) || !slices.Equal(r.Extensions, []string{"201", "202"}) {
		t.Errorf("Record = %+v", r)
	}
	c.Flags[0] = "changed"
	if r.Flags[0] != "transfer" {
		t.Error("the record shares the call's flags")
	}
}

func tone(i int) []byte {
	pcm := make([]int16, 160)
	for j := range pcm {
		pcm[j] = int16(6000 * math.Sin(float64(i*160+j)*2*math.Pi*700/8000))
	}
	return ct.ULaw(pcm)
}
