package mp3

import "testing"

func TestProbeSpeech(t *testing.T) {
	st := speechStereo(t, sharedPcap(t, "wsw-rtp_conversacion.pcap"))
	mono := downmix(st)
	t.Logf("samples %d", len(mono))
	for _, c := range []struct {
		cfg Config
		pcm []int16
	}{{Config{16000, 1, 32}, mono}, {Config{16000, 2, 48}, st}} {
		ours := measure(c.pcm, decode(t, encode(t, c.cfg, c.pcm), c.cfg.Channels), c.cfg.Channels, 16000)
		l5 := measure(c.pcm, decode(t, lameEncode(t, c.cfg, c.pcm, 5), c.cfg.Channels), c.cfg.Channels, 16000)
		t.Logf("%+v ours %+v lame5 %+v", c.cfg, ours, l5)
	}
}
