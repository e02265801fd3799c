package codec

import "testing"

// FuzzDecoders feeds garbage payloads to every decoder the box has: none
// may panic, and each must give a whole number of samples.
func FuzzDecoders(f *testing.F) {
	f.Add([]byte{0xff, 0x7f, 0x00, 0x80}, uint8(2))
	f.Add([]byte{1, 2, 3}, uint8(3))
	type spec struct {
		name            string
		clock, channels int
	}
	specs := []spec{{"PCMU", 8000, 1}, {"PCMA", 8000, 1}, {"G722", 8000, 1}, {"L16", 44100, 2}, {"L16", 8000, 1}, {"CN", 8000, 1}}
	decs := make([]Decoder, len(specs))
	for i, s := range specs {
		decs[i], _ = New(s.name, s.clock, s.channels)
	}
	f.Fuzz(func(t *testing.T, payload []byte, which uint8) {
		d := decs[int(which)%len(decs)]
		out := d.Decode(nil, payload)
		if len(out) > 2*len(payload) {
			t.Fatalf("%d samples from %d bytes", len(out), len(payload))
		}
		Resample(nil, out, d.Rate(), 16000)
	})
}
