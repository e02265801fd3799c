package rtp

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	ct "callrec/recorder/capture/capturetest"
	"callrec/recorder/codec"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func pcmu(uint8) (string, int, int, bool) { return "PCMU", 8000, 1, true }

// packet is one synthetic RTP packet: µ-law noise, so every 20 ms of
// audio is unique and can be found again in the output.
type packet struct {
	at      time.Time // arrival
	truePos int64     // where its audio belongs, in 8 kHz samples
	data    []byte
	payload []byte
}

// stream makes n 20 ms packets; clock scales the sender's clock (1.001 is
// 0.1% fast: its packets come 0.1% sooner than 20 ms apart).
func stream(n int, clock float64, seed uint64) []packet {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]packet, n)
	for i := range out {
		p := make([]byte, 160)
		for j := range p {
			p[j] = byte(r.IntN(256))
		}
		at := t0.Add(time.Duration(float64(i) * 20 * float64(time.Millisecond) / clock))
		out[i] = packet{at: at, truePos: int64(at.Sub(t0)) * 8000 / int64(time.Second), payload: p,
			data: ct.RTP(0, uint16(i), uint32(i*160), 0x1234, i == 0, p)}
	}
	return out
}

// run pushes packets (in the order given, each at its arrival time) and
// reads the timeline 200 ms behind, then to end.
func run(t *testing.T, pkts []packet, end time.Time) ([]int16, *Channel) {
	t.Helper()
	c := NewChannel(t0, pcmu)
	var out []int16
	for _, p := range pkts {
		// As the recorder does: bring the timeline up to 200 ms behind
		// this arrival, then place the packet.
		if f := int64(p.at.Sub(t0)-200*time.Millisecond) * Rate / int64(time.Second); f > c.Done() {
			out = c.Read(out, f)
		}
		c.Push(p.at, p.data)
	}
	out = c.Read(out, int64(end.Sub(t0))*Rate/int64(time.Second))
	return out, c
}

// lag finds where packet p's audio landed relative to its true place, in
// 8 kHz samples (the upsampler keeps input samples at even outputs).
func lag(out []int16, p packet) (int, bool) {
	ref := codec.DecodeULaw(nil, p.payload)
	for l := 0; l <= 800; l++ {
		for _, L := range []int{l, -l} {
			base := 2 * (p.truePos + int64(L))
			if base < 0 || base+2*160 > int64(len(out)) {
				continue
			}
			match := true
			for j := 0; j < 160 && match; j += 8 {
				match = out[base+int64(2*j)] == ref[j]
			}
			if match {
				return L, true
			}
		}
	}
	return 0, false
}

func TestImpairments(t *testing.T) {
	const n = 500 // 10 s
	tests := []struct {
		name    string
		pkts    func() []packet
		missing int // packets whose audio may be absent (lost)
		maxLag  int // 8 kHz samples
	}{
		{"clean", func() []packet { return stream(n, 1, 1) }, 0, 0},
		{"5% loss", func() []packet {
			p := stream(n, 1, 2)
			r := rand.New(rand.NewPCG(3, 3))
			return slices.DeleteFunc(p, func(packet) bool { return r.IntN(100) < 5 })
		}, 0, 0},
		{"10% reordering", func() []packet {
			p := stream(n, 1, 4)
			r := rand.New(rand.NewPCG(5, 5))
			// One packet in ten is held up behind the next.
			for i := 1; i < len(p)-1; i++ {
				if r.IntN(10) == 0 {
					p[i].at = p[i+1].at.Add(time.Millisecond)
					p[i], p[i+1] = p[i+1], p[i]
					i++
				}
			}
			return p
		}, 0, 0},
		{"60 ms jitter", func() []packet {
			p := stream(n, 1, 6)
			r := rand.New(rand.NewPCG(7, 7))
			for i := range p {
				p[i].at = p[i].at.Add(time.Duration(r.IntN(60)) * time.Millisecond)
			}
			slices.SortStableFunc(p, func(a, b packet) int { return a.at.Compare(b.at) })
			return p
		}, 0, 160},
		{"duplicates", func() []packet {
			p := stream(n, 1, 8)
			var d []packet
			for i, x := range p {
				d = append(d, x)
				if i%7 == 0 {
					d = append(d, x)
				}
			}
			return d
		}, 0, 0},
		{"ssrc change", func() []packet {
			p := stream(n, 1, 9)
			for i := n / 2; i < n; i++ {
				p[i].data = ct.RTP(0, uint16(9000+i), uint32(777000+i*160), 0x9999, i == n/2, p[i].payload)
			}
			return p
		}, 0, 0},
		{"10 s hold", func() []packet {
			p := stream(n, 1, 10)
			for i := n / 2; i < n; i++ {
				p[i].at = p[i].at.Add(10 * time.Second)
				p[i].truePos += 10 * 8000
				p[i].data = ct.RTP(0, uint16(i), uint32(i*160+80000), 0x1234, false, p[i].payload)
			}
			return p
		}, 0, 0},
		// A fast clock sends 60.06 s of audio in 60 s: staying aligned means
		// dropping 10 ms at each correction.
		{"clock 0.1% fast", func() []packet { return stream(3000, 1.001, 11) }, 8, 160},
		{"timestamp jump", func() []packet {
			p := stream(n, 1, 13)
			for i := n / 2; i < n; i++ { // a re-INVITE moved the source: same SSRC, new timestamps
				p[i].data = ct.RTP(0, uint16(i), uint32(i*160+5_000_000), 0x1234, false, p[i].payload)
			}
			return p
		}, 0, 0},
		{"wrap-around", func() []packet {
			p := stream(n, 1, 14)
			for i := range p { // sequence and timestamp both wrap mid-stream
				p[i].data = ct.RTP(0, uint16(65400+i), uint32(1<<32-40000+i*160), 0x1234, false, p[i].payload)
			}
			return p
		}, 0, 0},
		{"clock 0.1% slow", func() []packet { return stream(3000, 0.999, 12) }, 0, 160},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkts := tt.pkts()
			end := pkts[len(pkts)-1].at
			for _, p := range pkts {
				if p.at.After(end) {
					end = p.at
				}
			}
			end = end.Add(20 * time.Millisecond)
			out, c := run(t, pkts, end)
			want := int64(end.Sub(t0)) * Rate / int64(time.Second)
			if d := int64(len(out)) - want; d > 2 || d < -2 {
				t.Errorf("%d samples, want %d: the recording must last as long as the call", len(out), want)
			}
			worst, lost := 0, 0
			for _, p := range pkts {
				L, ok := lag(out, p)
				if !ok {
					lost++
					continue
				}
				worst = max(worst, L, -L)
			}
			if lost > tt.missing {
				t.Errorf("%d packets' audio not found in the output (stats %+v)", lost, c.Stats())
			}
			if worst > tt.maxLag {
				t.Errorf("audio up to %d ms from its place, want at most %d ms (stats %+v)", worst/8, tt.maxLag/8, c.Stats())
			}
		})
	}
}

func TestUndecodable(t *testing.T) {
	c := NewChannel(t0, func(uint8) (string, int, int, bool) { return "G729", 8000, 1, true })
	c.Push(t0, ct.RTP(18, 1, 0, 1, false, make([]byte, 20)))
	out := c.Read(nil, Rate)
	if c.Heard() || c.Unsupported() != "G729" || len(out) != Rate || slices.ContainsFunc(out, func(v int16) bool { return v != 0 }) {
		t.Fatalf("heard %v, unsupported %q, %d samples: want a silent second and the codec named", c.Heard(), c.Unsupported(), len(out))
	}
}

func FuzzChannel(f *testing.F) {
	f.Add([]byte{0x80, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0, 1, 0xff, 0x7f, 0x00}, uint16(20))
	f.Add([]byte{0x90, 9, 0, 1, 0, 0, 0, 160, 0, 0, 0, 1, 0, 1, 0, 1, 1, 2, 3, 4, 5}, uint16(3))
	c := NewChannel(t0, func(pt uint8) (string, int, int, bool) {
		return []string{"PCMU", "PCMA", "G722", "L16", "CN", "G729"}[pt%6], 8000, int(pt%3) + 1, true
	})
	now := t0
	f.Fuzz(func(t *testing.T, pkt []byte, ms uint16) {
		now = now.Add(time.Duration(ms%2000) * time.Millisecond)
		c.Push(now, pkt)
		c.Read(nil, int64(now.Sub(t0)-200*time.Millisecond)*Rate/int64(time.Second))
	})
}

// talkspurts makes n packets of speech-like traffic: 1.2 s of sound (µ-law
// noise, unique per packet) then 0.5 s of silence, over and over, from a
// sender whose clock runs at the given rate.
func talkspurts(n int, clock float64, seed uint64) (pkts []packet, voiced []bool) {
	pkts = stream(n, clock, seed)
	voiced = make([]bool, n)
	for i := range pkts {
		if voiced[i] = i%85 < 60; !voiced[i] {
			p := ct.Silence(i)
			pkts[i].payload = p
			pkts[i].data = ct.RTP(0, uint16(i), uint32(i*160), 0x1234, false, p)
		}
	}
	return pkts, voiced
}

// TestDriftCorrectedInSilence: two parties of one five-minute call, one
// whose clock runs 0.1% fast and one 0.1% slow, are each kept within 20 ms
// of where the wire puts their audio, and every correction falls in their
// pauses: no step inside speech (a jump between two consecutive packets of
// one talkspurt). It reports the worst offset between the two channels.
func TestDriftCorrectedInSilence(t *testing.T) {
	lagAt := map[float64]map[int64]int{} // clock → arrival (ms) → lag
	for _, clock := range []float64{1.001, 0.999} {
		lagAt[clock] = map[int64]int{}
		pkts, voiced := talkspurts(85*176, clock, 21) // 5 minutes, ending in a pause
		end := pkts[len(pkts)-1].at.Add(20 * time.Millisecond)
		out, c := run(t, pkts, end)
		worst, steps, lost := 0, 0, 0
		prev, prevOK := 0, false
		for i, p := range pkts {
			if !voiced[i] {
				prevOK = false
				continue
			}
			L, ok := lag(out, p)
			if !ok {
				t.Logf("packet %d (%d in its cycle) lost", i, i%85)
				lost++
				prevOK = false
				continue
			}
			worst = max(worst, L, -L)
			lagAt[clock][p.at.Sub(t0).Milliseconds()/100] = L
			if prevOK && (L-prev > 1 || prev-L > 1) {
				steps++
			}
			prev, prevOK = L, true
		}
		t.Logf("clock %.3f: %d corrections, %d audible steps, worst %.1f ms from the wire, %d voiced packets lost", clock, c.Stats().DriftFixes, steps, float64(worst)/8, lost)
		if steps != 0 || lost != 0 {
			t.Errorf("clock %.3f: %d steps inside speech and %d voiced packets lost, want none (stats %+v)", clock, steps, lost, c.Stats())
		}
		if worst > 160 {
			t.Errorf("clock %.3f: audio up to %.1f ms from its place, want at most 20 ms", clock, float64(worst)/8)
		}
		if c.Stats().DriftFixes == 0 {
			t.Errorf("clock %.3f: no drift correction in 5 minutes", clock)
		}
	}
	apart := 0
	for at, a := range lagAt[1.001] {
		if b, ok := lagAt[0.999][at]; ok {
			apart = max(apart, a-b, b-a)
		}
	}
	t.Logf("the two channels are at most %.1f ms further apart than on the wire", float64(apart)/8)
	if apart > 320 {
		t.Errorf("the channels are up to %.1f ms apart, beyond the 20 ms each may be off", float64(apart)/8)
	}
}

// TestReadNarrow: narrowband audio read zero-stuffed has each 8 kHz sample
// at twice its value where ReadFloat puts it (the even positions), and
// zeros between; switching between the two reads keeps the timeline whole.
func TestReadNarrow(t *testing.T) {
	pkts := stream(200, 1, 31)
	end := pkts[len(pkts)-1].at.Add(20 * time.Millisecond)
	wide, narrow := NewChannel(t0, pcmu), NewChannel(t0, pcmu)
	var w, n []float32
	for k, p := range pkts {
		if f := int64(p.at.Sub(t0)-200*time.Millisecond) * Rate / int64(time.Second); f > wide.Done() {
			w = wide.ReadFloat(w, f)
			if k%50 < 25 { // half the reads narrow, half wide
				if !narrow.Narrow(f) {
					t.Fatal("a G.711 channel is not narrowband")
				}
				n = narrow.ReadNarrow(n, f)
			} else {
				n = narrow.ReadFloat(n, f)
			}
		}
		wide.Push(p.at, p.data)
		narrow.Push(p.at, p.data)
	}
	last := int64(end.Sub(t0)) * Rate / int64(time.Second)
	w, n = wide.ReadFloat(w, last), narrow.ReadNarrow(n, last)
	if len(w) != len(n) {
		t.Fatalf("%d samples read wide, %d mixed", len(w), len(n))
	}
	narrowEven, mismatches := 0, 0
	for i := 0; i < len(w); i += 2 {
		switch {
		case n[i] == 2*w[i] && n[i+1] == 0 && (w[i] != 0 || w[i+1] != 0):
			narrowEven++ // a zero-stuffed pair
		case n[i] == w[i] && n[i+1] == w[i+1]:
			// read wide in both
		default:
			if mismatches++; mismatches < 5 {
				t.Logf("pair %d: wide %v %v, mixed %v %v", i/2, w[i], w[i+1], n[i], n[i+1])
			}
		}
	}
	if mismatches != 0 || narrowEven < len(w)/8 {
		t.Errorf("%d pairs neither zero-stuffed nor equal, %d zero-stuffed of %d", mismatches, narrowEven, len(w)/2)
	}
}
