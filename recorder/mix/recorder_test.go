package mix_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	gomp3 "github.com/hajimehoshi/go-mp3"

	"callrec/recorder/capture"
	ct "callrec/recorder/capture/capturetest"
	"callrec/recorder/mix"
	"callrec/recorder/mp3"
	"callrec/recorder/track"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func party(user, ip string, rtp uint16, tag string) ct.Party {
	a := netip.MustParseAddr(ip)
	return ct.Party{User: user, SIP: netip.AddrPortFrom(a, 5060), RTP: netip.AddrPortFrom(a, rtp), Tag: tag}
}

// memSink keeps each recording in memory.
type memSink struct {
	files map[string]*buf
	fail  error
}

type buf struct {
	bytes.Buffer
	closed bool
}

func (b *buf) Close() error { b.closed = true; return nil }

func (s *memSink) Create(c *track.Call) (io.WriteCloser, error) {
	if s.fail != nil {
		return nil, s.fail
	}
	b := &buf{}
	s.files[c.ID] = b
	return b, nil
}

// record runs frames through decode, track and mix.
func record(t testing.TB, cfg mix.Config, sink mix.Sink, frames []ct.Frame) []mix.Info {
	t.Helper()
	var infos []mix.Info
	cfg.OnFinish = func(i mix.Info) { infos = append(infos, i) }
	rec := mix.New(cfg, sink)
	tr := track.New(track.Config{OnEvent: rec.Event, OnRTP: rec.RTP}, nil)
	dec := capture.NewDecoder(capture.Config{})
	h := tr.Handle
	for _, f := range frames {
		dec.Decode(layers.LinkTypeEthernet, f.Data, f.Time, h)
	}
	tr.Flush("capture_end")
	rec.Close()
	return infos
}

func decode(t testing.TB, b []byte) (l, r []float64) {
	t.Helper()
	d, err := gomp3.NewDecoder(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(d)
	for i := 4 * mp3.Delay; i+3 < len(raw); i += 4 {
		l = append(l, float64(int16(binary.LittleEndian.Uint16(raw[i:]))))
		r = append(r, float64(int16(binary.LittleEndian.Uint16(raw[i+2:]))))
	}
	return l, r
}

func level(x []float64, hz float64) float64 {
	var re, im float64
	for i, v := range x {
		a := 2 * math.Pi * hz * float64(i) / 16000
		re += v * math.Cos(a)
		im += v * math.Sin(a)
	}
	return 2 * math.Hypot(re, im) / float64(len(x))
}

var (
	ext  = party("01632960001", "203.0.113.5", 7000, "x1")
	desk = party("201", "10.0.0.11", 4000, "a1")
)

// TestChannelsAndLength checks the outside party is on the left whichever
// way the call goes, and the recording lasts as long as the call.
func TestChannelsAndLength(t *testing.T) {
	for _, tc := range []struct {
		name           string
		caller, callee ct.Party
		leftHz         float64
	}{
		{"inbound", ext, desk, 500},  // the caller (outside) sends 500 Hz
		{"outbound", desk, ext, 900}, // the callee (outside) sends 900 Hz
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &ct.Dialog{CallID: tc.name + "@x", Caller: tc.caller, Callee: tc.callee}
			sink := &memSink{files: map[string]*buf{}}
			infos := record(t, mix.Config{}, sink, ct.ToneCall(d, t0, 3*time.Second, 500, 900))
			if len(infos) != 1 || infos[0].Err != nil {
				t.Fatalf("infos %+v", infos)
			}
			info := infos[0]
			if d := info.Duration - 3*time.Second; d < 0 || d > 40*time.Millisecond {
				t.Errorf("recording %v, want the call's 3 s", info.Duration)
			}
			b := sink.files[info.Call.ID]
			if !b.closed {
				t.Error("sink not closed at the call's end")
			}
			l, r := decode(t, b.Bytes())
			rightHz := 1400 - tc.leftHz
			if level(l, tc.leftHz) < 5*level(l, rightHz) || level(r, rightHz) < 5*level(r, tc.leftHz) {
				t.Errorf("left %.0f/%.0f, right %.0f/%.0f: the outside party must be left",
					level(l, tc.leftHz), level(l, rightHz), level(r, rightHz), level(r, tc.leftHz))
			}
		})
	}
}

func TestMono(t *testing.T) {
	d := &ct.Dialog{CallID: "mono@x", Caller: ext, Callee: desk}
	sink := &memSink{files: map[string]*buf{}}
	infos := record(t, mix.Config{Mono: true}, sink, ct.ToneCall(d, t0, 2*time.Second, 500, 900))
	b := sink.files[infos[0].Call.ID].Bytes()
	dec, err := gomp3.NewDecoder(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	// A mono stream: go-mp3 duplicates the channel, so left equals right.
	l, r := decode(t, b)
	if dec.SampleRate() != 16000 || !slices.Equal(l, r) || level(l, 500) < 500 || level(l, 900) < 500 {
		t.Errorf("mono recording: rate %d, both tones %.0f %.0f", dec.SampleRate(), level(l, 500), level(l, 900))
	}
}

// TestOneWayAndNoMedia checks a silent side and a call without media are
// recorded, flagged, not failed.
func TestOneWayAndNoMedia(t *testing.T) {
	d := &ct.Dialog{CallID: "oneway@x", Caller: ext, Callee: desk}
	frames := slices.DeleteFunc(ct.ToneCall(d, t0, 2*time.Second, 500, 900), func(f ct.Frame) bool {
		return bytes.Contains(f.Data, []byte{0, 0xb2}) && len(f.Data) > 180 // the callee's RTP (SSRC 0xb2)
	})
	sink := &memSink{files: map[string]*buf{}}
	infos := record(t, mix.Config{}, sink, frames)
	if len(infos) != 1 || !slices.Contains(infos[0].Flags, "one_way:right") {
		t.Fatalf("infos %+v, want one recording flagged one_way:right", infos)
	}
	d2 := &ct.Dialog{CallID: "nomedia@x", Caller: ext, Callee: desk}
	sig := slices.DeleteFunc(ct.ToneCall(d2, t0, 2*time.Second, 500, 900), func(f ct.Frame) bool { return len(f.Data) > 180 && !bytes.Contains(f.Data, []byte("SIP/2.0")) })
	infos = record(t, mix.Config{}, sink, sig)
	if len(infos) != 1 || !slices.Contains(infos[0].Flags, "no_media") || infos[0].Duration < 2*time.Second {
		t.Fatalf("infos %+v, want a silent recording flagged no_media", infos)
	}
}

func TestSinkFailure(t *testing.T) {
	d := &ct.Dialog{CallID: "fail@x", Caller: ext, Callee: desk}
	boom := errors.New("disk full")
	infos := record(t, mix.Config{}, &memSink{fail: boom}, ct.ToneCall(d, t0, time.Second, 500, 900))
	if len(infos) != 1 || !errors.Is(infos[0].Err, boom) {
		t.Fatalf("infos %+v, want the sink's error reported", infos)
	}
}

// TestInbandDTMF checks digits played as tones in G.711 audio are found.
func TestInbandDTMF(t *testing.T) {
	d := &ct.Dialog{CallID: "dtmf@x", Caller: ext, Callee: desk}
	frames := ct.ToneCall(d, t0, 2*time.Second, 500, 900)
	// Replace the caller's audio with the digits 4 and 2 (100 ms each).
	digits := map[int][2]float64{10: {770, 1209}, 11: {770, 1209}, 12: {770, 1209}, 13: {770, 1209}, 14: {770, 1209},
		30: {697, 1336}, 31: {697, 1336}, 32: {697, 1336}, 33: {697, 1336}, 34: {697, 1336}}
	n := 0
	for i, f := range frames {
		if len(f.Data) < 180 || !bytes.Contains(f.Data[42:54], []byte{0, 0, 0, 0xa1}) {
			continue // not the caller's RTP (SSRC 0xa1)
		}
		if fr, ok := digits[n]; ok {
			pcm := make([]int16, 160)
			for j := range pcm {
				tt := float64(n*160+j) / 8000
				pcm[j] = int16(6000*math.Sin(2*math.Pi*fr[0]*tt) + 5000*math.Sin(2*math.Pi*fr[1]*tt))
			}
			copy(frames[i].Data[len(f.Data)-160:], ct.ULaw(pcm))
		}
		n++
	}
	var got string
	cfg := mix.Config{OnDTMF: func(_ *track.Call, d string, left bool, _ time.Time) {
		if left {
			got += d
		}
	}}
	record(t, cfg, &memSink{files: map[string]*buf{}}, frames)
	if got != "42" {
		t.Fatalf("in-band digits %q, want \"42\"", got)
	}
}
