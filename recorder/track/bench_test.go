package track_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"callrec/recorder/capture"
	ct "callrec/recorder/capture/capturetest"
	"callrec/recorder/track"
)

// replay reads a pcap held in memory over and over, as the box reads a
// wire: capture file → decode → track, one packet per iteration.
func replay(b *testing.B, pcap []byte, tr *track.Tracker, dec *capture.Decoder) {
	b.Helper()
	r := bytes.NewReader(pcap)
	src, err := capture.NewReader(r)
	if err != nil {
		b.Fatal(err)
	}
	handle := tr.Handle // one method value, not one per packet
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		data, ci, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			r.Reset(pcap)
			if src, err = capture.NewReader(r); err != nil {
				b.Fatal(err)
			}
			data, ci, err = src.ReadPacketData()
		}
		if err != nil {
			b.Fatal(err)
		}
		dec.Decode(src.LinkType(), data, ci.Timestamp, handle)
	}
}

// BenchmarkRTP measures packets per second through capture file, decode
// and track for RTP of 100 established calls: a busy practice's steady
// state.
func BenchmarkRTP(b *testing.B) {
	s := newScript()
	var streams [][]ct.Frame
	for i := range 100 {
		a := party(fmt.Sprint(200+i), fmt.Sprintf("10.0.1.%d", i+1), 5060, 4000, "a")
		c := party(fmt.Sprint(400+i), fmt.Sprintf("10.0.2.%d", i+1), 5060, 6000, "c")
		d := &ct.Dialog{CallID: fmt.Sprintf("bench-%d", i), Caller: a, Callee: c}
		s.sip(a, c, d.Request("INVITE", true, "sendrecv"))
		s.sip(c, a, d.Response(200, "OK", "INVITE", true, "sendrecv"))
		streams = append(streams, ct.Stream(a.RTP, c.RTP, uint32(i), t0, 500, ct.Silence))
	}
	tr := track.New(track.Config{}, nil)
	dec := capture.NewDecoder(capture.Config{})
	for _, f := range s.frames {
		dec.Decode(layers.LinkTypeEthernet, f.Data, f.Time, tr.Handle)
	}
	var frames []ct.Frame
	for j := range 500 {
		for _, st := range streams {
			frames = append(frames, st[j])
		}
	}
	var pcap bytes.Buffer
	ct.WritePcap(&pcap, 1, frames)
	replay(b, pcap.Bytes(), tr, dec)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
	if got := tr.Stats().RTPPackets; got < uint64(b.N) {
		b.Fatalf("tracked %d of %d packets", got, b.N)
	}
}

// BenchmarkSIP measures SIP messages per second through decode and track:
// whole calls (INVITE, 180, 200, ACK, BYE, 200), each a new Call-ID.
func BenchmarkSIP(b *testing.B) {
	a := party("201", "10.0.0.1", 5060, 4000, "a")
	c := party("202", "10.0.0.2", 5060, 6000, "c")
	const calls = 5000
	var frames []ct.Frame
	now := t0
	for i := range calls {
		d := &ct.Dialog{CallID: fmt.Sprintf("sipbench-%d@10.0.0.1", i), Caller: a, Callee: c}
		for _, m := range [][]byte{
			ct.UDPFrame(a.SIP, c.SIP, d.Request("INVITE", true, "sendrecv")),
			ct.UDPFrame(c.SIP, a.SIP, d.Response(180, "Ringing", "INVITE", true, "")),
			ct.UDPFrame(c.SIP, a.SIP, d.Response(200, "OK", "INVITE", true, "sendrecv")),
			ct.UDPFrame(a.SIP, c.SIP, d.Request("ACK", true, "")),
			ct.UDPFrame(a.SIP, c.SIP, d.Request("BYE", true, "")),
			ct.UDPFrame(c.SIP, a.SIP, d.Response(200, "OK", "BYE", true, "")),
		} {
			frames = append(frames, ct.Frame{Time: now, Data: m})
			now = now.Add(2 * time.Millisecond) // a pass outlasts the 32 s de-duplication window
		}
	}
	var pcap bytes.Buffer
	ct.WritePcap(&pcap, 1, frames)
	replay(b, pcap.Bytes(), track.New(track.Config{}, nil), capture.NewDecoder(capture.Config{}))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
