package mp3

import (
	"fmt"
	"strings"
	"testing"
)

// TestQualityAgainstLame measures segmental SNR and log-spectral distance
// on speech, a voice-like synthetic signal, tones and noise, for our
// encoder and for the lame CLI (-q 5) at the same rate, bitrate and mode in
// the same run, and requires ours to be no worse in segmental SNR.
func TestQualityAgainstLame(t *testing.T) {
	if testing.Short() {
		t.Skip("quality comparison takes about ten seconds")
	}
	type material struct {
		name string
		pcm  []int16 // stereo, 16 kHz
	}
	mats := []material{
		{"voice-synth", synthVoice(16000, 2, 16000*12, 3)},
		{"tones", tones(16000, 2, 16000*5)},
		{"noise", noise(2, 16000*5, 9)},
	}
	if p := sharedPcapPath("wsw-rtp_conversacion.pcap"); p != "" {
		mats = append([]material{{"speech (wsw-rtp_conversacion)", speechStereo(t, p)}}, mats...)
	} else {
		t.Log("shared speech capture absent: measuring synthetic material only")
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-30s %-12s %14s %14s %12s %12s\n", "material", "config", "segSNR ours", "segSNR lame", "LSD ours", "LSD lame")
	for _, m := range mats {
		for _, cfg := range []Config{{16000, 1, 32}, {16000, 2, 48}} {
			pcm := m.pcm
			if cfg.Channels == 1 {
				pcm = downmix(pcm)
			}
			ours := measure(pcm, decode(t, encode(t, cfg, pcm), cfg.Channels), cfg.Channels, 16000)
			lameMP3 := lameEncode(t, cfg, pcm, 5)
			if lameMP3 == nil {
				t.Skip("lame not installed: nothing to compare with")
			}
			lame := measure(pcm, decode(t, lameMP3, cfg.Channels), cfg.Channels, 16000)
			fmt.Fprintf(&table, "%-30s %-12s %11.1f dB %11.1f dB %9.2f dB %9.2f dB\n",
				m.name, fmt.Sprintf("%dch %dk", cfg.Channels, cfg.Bitrate), ours.segSNR, lame.segSNR, ours.lsd, lame.lsd)
			if ours.segSNR < lame.segSNR {
				t.Errorf("%s %+v: segmental SNR %.1f dB, below lame -q 5's %.1f dB", m.name, cfg, ours.segSNR, lame.segSNR)
			}
		}
	}
	t.Log(table.String())
}
