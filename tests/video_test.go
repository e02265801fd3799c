package tests

import (
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ct "callrec/recorder/capture/capturetest"
)

// writeVideoCall writes a capture of one audio+H.264 call: both sides
// offer m=audio and m=video, and both send each for 3 seconds.
func writeVideoCall(t *testing.T) string {
	t.Helper()
	party := func(user, ip string, tag string) ct.Party {
		a := netip.MustParseAddr(ip)
		return ct.Party{User: user, SIP: netip.AddrPortFrom(a, 5060), RTP: netip.AddrPortFrom(a, 4000),
			Video: netip.AddrPortFrom(a, 4002), Tag: tag}
	}
	d := &ct.Dialog{CallID: "video-1@10.0.0.11", Caller: party("201", "10.0.0.11", "a"), Callee: party("+441632960001", "203.0.113.7", "b")}
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	frames := ct.ToneCall(d, t0, 3*time.Second, 500, 900)
	media := t0.Add(20 * time.Millisecond)
	frames = append(frames, ct.VideoStream(d.Caller.Video, d.Callee.Video, 0x51, media, 180)...)
	frames = append(frames, ct.VideoStream(d.Callee.Video, d.Caller.Video, 0x52, media, 180)...)
	slices.SortStableFunc(frames, func(a, b ct.Frame) int { return a.Time.Compare(b.Time) })
	path := filepath.Join(t.TempDir(), "video-call.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := ct.WritePcap(f, 1, frames); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestVideoCallIsOneRecording: a video call is one call and one MP3 of its
// audio; its video streams are counted with it and make no call of their
// own.
func TestVideoCallIsOneRecording(t *testing.T) {
	path := writeVideoCall(t)
	_, calls := inspect(t, path)
	if len(calls) != 1 || !calls[0].Video {
		t.Fatalf("inspect: %d calls (%+v), want one video call", len(calls), calls)
	}
	dir, extracted := runExtract(t, path)
	mp3s, _ := filepath.Glob(filepath.Join(dir, "*.mp3"))
	if len(extracted) != 1 || len(mp3s) != 1 {
		t.Fatalf("extract: %d calls, %d MP3s; want 1 and 1", len(extracted), len(mp3s))
	}
	for _, f := range extracted[0].Flags {
		if strings.HasPrefix(f, "unsupported_codec") || f == "unsignalled" {
			t.Errorf("flag %s on the video call", f)
		}
	}
	left, right := decodeMP3(t, mp3s[0])
	if len(left) < 3*16000-1000 || rms(left) < 1000 || rms(right) < 1000 {
		t.Errorf("the MP3 holds %d samples, rms %.0f/%.0f: want 3 s of both parties' audio", len(left), rms(left), rms(right))
	}
}

func rms(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s / float64(max(len(x), 1)))
}
