package mp3

import (
	"cmp"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"callrec/recorder/codec"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/pion/rtp"
)

// sharedPcap returns the path of a capture in ../shared/testdata/pcap, or
// skips the test when the shared material is absent (it is not ours to
// commit). Under CI=true its absence is a failure.
func sharedPcap(tb testing.TB, name string) string {
	tb.Helper()
	p := filepath.Join("..", "..", "..", "shared", "testdata", "pcap", name)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("shared capture %s missing under CI: %v", name, err)
		}
		tb.Skipf("shared capture %s not present (../shared/testdata/pcap): %v", name, err)
	}
	return p
}

// sharedPcapPath returns the capture's path, or "" when it is absent
// outside CI (under CI its absence is a failure, reported by sharedPcap).
func sharedPcapPath(name string) string {
	p := filepath.Join("..", "..", "..", "shared", "testdata", "pcap", name)
	if _, err := os.Stat(p); err != nil && os.Getenv("CI") != "true" {
		return ""
	}
	return p
}

// speechStereo reads the two G.711 µ-law directions of a capture, decodes
// them and upsamples them to 16 kHz: one channel per direction, interleaved,
// placed on the capture's clock.
func speechStereo(tb testing.TB, path string) []int16 {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	type pkt struct {
		seq  uint16
		ts   uint32
		at   float64
		data []byte
	}
	streams := map[uint32][]pkt{}
	var order []uint32
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		p := gopacket.NewPacket(data, r.LinkType(), gopacket.NoCopy)
		udp, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if !ok {
			continue
		}
		var h rtp.Packet
		if h.Unmarshal(udp.Payload) != nil || h.Version != 2 || h.PayloadType != 0 || len(h.Payload) == 0 {
			continue
		}
		if _, seen := streams[h.SSRC]; !seen {
			order = append(order, h.SSRC)
		}
		at := float64(ci.Timestamp.UnixNano()) / 1e9
		streams[h.SSRC] = append(streams[h.SSRC], pkt{h.SequenceNumber, h.Timestamp, at, slices.Clone(h.Payload)})
	}
	if len(order) < 2 {
		tb.Fatalf("%s: %d µ-law streams, want 2", path, len(order))
	}
	t0 := streams[order[0]][0].at
	for _, s := range order[:2] {
		t0 = min(t0, streams[s][0].at)
	}
	var chans [2][]int16
	for c, s := range order[:2] {
		ps := streams[s]
		slices.SortStableFunc(ps, func(a, b pkt) int { return cmp.Compare(int32(a.ts-ps[0].ts), int32(b.ts-ps[0].ts)) })
		start := int((ps[0].at - t0) * 8000)
		var pcm []int16
		for _, p := range ps {
			pos := start + int(int32(p.ts-ps[0].ts))
			if pos < len(pcm) {
				continue // duplicate or overlap
			}
			pcm = append(pcm, make([]int16, pos-len(pcm))...)
			pcm = codec.DecodeULaw(pcm, p.data)
		}
		var up codec.Upsampler
		chans[c] = up.Upsample(nil, pcm)
	}
	n := min(len(chans[0]), len(chans[1]))
	out := make([]int16, 2*n)
	for i := range n {
		out[2*i], out[2*i+1] = chans[0][i], chans[1][i]
	}
	return out
}
