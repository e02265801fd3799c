package codec

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/gotranspile/g722"
)

func TestNewKnowsTheBoxsCodecs(t *testing.T) {
	for _, c := range []struct {
		name        string
		clock, rate int
	}{{"PCMU", 8000, 8000}, {"pcma", 8000, 8000}, {"G722", 8000, 16000}, {"L16", 16000, 16000}, {"opus", 48000, 16000}, {"CN", 8000, 8000}} {
		d, ok := New(c.name, c.clock, 1)
		if !ok || d.Rate() != c.rate {
			t.Errorf("New(%s) = %v, rate %d", c.name, ok, d.Rate())
		}
	}
	for _, name := range []string{"G729", "GSM", "SPEEX", "ILBC", "G726-32", "H264"} {
		if _, ok := New(name, 8000, 1); ok {
			t.Errorf("New(%s) = true, want unsupported", name)
		}
	}
}

// TestG722RoundTrip encodes a tone with the library's encoder and decodes
// it packet by packet: the decoder must keep its state across payloads.
func TestG722RoundTrip(t *testing.T) {
	pcm := make([]int16, 16000)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/16000))
	}
	enc := g722.Encode(pcm, g722.Rate64000, 0)
	d, _ := New("G722", 8000, 1)
	var out []int16
	for i := 0; i < len(enc); i += 160 {
		out = d.Decode(out, enc[i:min(i+160, len(enc))])
	}
	if len(out) != len(pcm) {
		t.Fatalf("%d samples, want %d", len(out), len(pcm))
	}
	// G.722's codec delay is a few samples; compare energy after it.
	var e float64
	for _, v := range out[1000:] {
		e += float64(v) * float64(v)
	}
	if rms := math.Sqrt(e / float64(len(out)-1000)); rms < 4000 || rms > 7000 {
		t.Errorf("decoded RMS %.0f, want about 5657", rms)
	}
}

func TestL16Stereo(t *testing.T) {
	p := make([]byte, 8)
	binary.BigEndian.PutUint16(p[0:], uint16(1000))
	binary.BigEndian.PutUint16(p[2:], uint16(3000))
	binary.BigEndian.PutUint16(p[4:], uint16(0xffff)) // -1
	binary.BigEndian.PutUint16(p[6:], uint16(0xfffd)) // -3
	d, _ := New("L16", 44100, 2)
	got := d.Decode(nil, p)
	if len(got) != 2 || got[0] != 2000 || got[1] != -2 {
		t.Fatalf("L16 stereo = %v, want [2000 -2]", got)
	}
}

func TestResample(t *testing.T) {
	const f = 1000.0
	src := make([]int16, 44100)
	for i := range src {
		src[i] = int16(10000 * math.Sin(2*math.Pi*f*float64(i)/44100))
	}
	out := Resample(nil, src, 44100, 16000)
	if len(out) != 16000 {
		t.Fatalf("%d samples, want 16000", len(out))
	}
	if g := 20 * math.Log10(level(out[100:15900], f)/10000); math.Abs(g) > 0.2 {
		t.Errorf("1 kHz gain %.2f dB, want 0", g)
	}
	// 10 kHz is above the new Nyquist frequency: it must not alias to 6 kHz.
	for i := range src {
		src[i] = int16(10000 * math.Sin(2*math.Pi*10000*float64(i)/44100))
	}
	out = Resample(nil, src, 44100, 16000)
	if a := 20 * math.Log10(level(out[100:15900], 6000)/10000+1e-9); a > -40 {
		t.Errorf("10 kHz aliased to 6 kHz at %.1f dB, want below -40 dB", a)
	}
}
