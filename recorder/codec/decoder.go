package codec

import (
	"encoding/binary"
	"strings"

	"github.com/gotranspile/g722"
	"github.com/pion/opus"
)

// Decoder turns one RTP payload into linear PCM at its Rate. Decoders
// with state (G.722's ADPCM) expect payloads in order.
type Decoder interface {
	// Decode appends the payload's samples (mono) to dst.
	Decode(dst []int16, payload []byte) []int16
	// Rate is the sample rate of the output. It can differ from the RTP
	// clock: G.722 is 16 kHz audio on an 8 kHz clock (RFC 3551 4.5.2), Opus
	// is decoded to 16 kHz from a 48 kHz clock (RFC 7587).
	Rate() int
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
	case "OPUS":
		d, err := opus.NewDecoderWithOutput(16000, 1)
		if err != nil {
			return nil, false
		}
		return &opusDecoder{d: d, buf: make([]int16, 16000*120/1000)}, true
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
func (g711) Rate() int { return 8000 }

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
func (*g722Decoder) Rate() int { return 16000 }

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
func (l l16) Rate() int { return l.rate }

// opusDecoder decodes Opus (SILK, CELT or hybrid) to 16 kHz mono.
type opusDecoder struct {
	d   opus.Decoder
	buf []int16 // up to 120 ms, the longest Opus packet
}

func (o *opusDecoder) Decode(dst []int16, p []byte) []int16 {
	n, err := o.d.DecodeToInt16(p, o.buf)
	if err != nil {
		return dst // a damaged packet: its place stays silent
	}
	return append(dst, o.buf[:n]...)
}
func (*opusDecoder) Rate() int { return 16000 }

// comfortNoise decodes RFC 3389 packets as silence: the recording keeps
// its length and the far side's background is not invented.
type comfortNoise struct{}

func (comfortNoise) Decode(dst []int16, _ []byte) []int16 { return dst }
func (comfortNoise) Rate() int                            { return 8000 }
