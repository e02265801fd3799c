package codec

import (
	"encoding/binary"
	"strings"

	"github.com/gotranspile/g722"
)

// Decoder turns one RTP payload into linear PCM at its Rate. Decoders
// with state (G.722's ADPCM) expect payloads in order.
type Decoder interface {
	// Decode appends the payload's samples (mono) to dst.
	Decode(dst []int16, payload []byte) []int16
	// Rate is the sample rate of the output.
	Rate() int
	// SamplesPerTick is output samples per RTP timestamp unit: 2 for G.722,
	// whose RTP clock runs at 8 kHz for 16 kHz audio (RFC 3551 4.5.2).
	SamplesPerTick() int
}

// New returns a decoder for an SDP encoding name (any case) with its RTP
// clock rate and channel count, or false when the box cannot decode it.
func New(name string, clock, channels int) (Decoder, bool) {
	switch strings.ToUpper(name) {
	case "PCMU":
		return g711{ulawTable: true}, true
	case "PCMA":
		return g711{}, true
	case "G722":
		return &g722Decoder{d: g722.NewDecoder(g722.Rate64000, 0)}, true
	case "L16":
		if clock <= 0 {
			clock = 44100
		}
		if channels <= 0 {
			channels = 1
		}
		return l16{rate: clock, channels: channels}, true
	case "CN":
		return comfortNoise{}, true
	}
	return nil, false
}

type g711 struct{ ulawTable bool }

func (g g711) Decode(dst []int16, p []byte) []int16 {
	if g.ulawTable {
		return DecodeULaw(dst, p)
	}
	return DecodeALaw(dst, p)
}
func (g711) Rate() int           { return 8000 }
func (g711) SamplesPerTick() int { return 1 }

type g722Decoder struct {
	d   *g722.Decoder
	buf []int16
}

func (g *g722Decoder) Decode(dst []int16, p []byte) []int16 {
	if cap(g.buf) < 2*len(p) {
		g.buf = make([]int16, 2*len(p))
	}
	n := g.d.Decode(g.buf[:2*len(p)], p)
	return append(dst, g.buf[:n]...)
}
func (*g722Decoder) Rate() int           { return 16000 }
func (*g722Decoder) SamplesPerTick() int { return 2 }

// l16 is linear 16-bit big-endian PCM (RFC 3551 4.5.11), mixed to mono.
type l16 struct{ rate, channels int }

func (l l16) Decode(dst []int16, p []byte) []int16 {
	frame := 2 * l.channels
	for i := 0; i+frame <= len(p); i += frame {
		var sum int32
		for c := range l.channels {
			sum += int32(int16(binary.BigEndian.Uint16(p[i+2*c:])))
		}
		dst = append(dst, int16(sum/int32(l.channels)))
	}
	return dst
}
func (l l16) Rate() int         { return l.rate }
func (l16) SamplesPerTick() int { return 1 }

// comfortNoise decodes RFC 3389 packets as silence: the recording keeps
// its length and the far side's background is not invented.
type comfortNoise struct{}

func (comfortNoise) Decode(dst []int16, _ []byte) []int16 { return dst }
func (comfortNoise) Rate() int                            { return 8000 }
func (comfortNoise) SamplesPerTick() int                  { return 1 }
