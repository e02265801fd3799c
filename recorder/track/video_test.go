package track_test

import (
	"net/netip"
	"slices"
	"testing"

	"callrec/recorder/capture"
	ct "callrec/recorder/capture/capturetest"
	"callrec/recorder/track"
)

// videoCall scripts an audio+H.264 call: both sides offer m=audio and
// m=video, and both send each.
func videoCall() []ct.Frame {
	a, b := alice, bob
	a.Video = netip.AddrPortFrom(a.RTP.Addr(), 4010)
	b.Video = netip.AddrPortFrom(b.RTP.Addr(), 5010)
	d := &ct.Dialog{CallID: "video@10.0.0.11", Caller: a, Callee: b}
	s := newScript()
	s.sip(a, b, d.Request("INVITE", true, "sendrecv"))
	s.sip(b, a, d.Response(200, "OK", "INVITE", true, "sendrecv"))
	s.sip(a, b, d.Request("ACK", true, ""))
	start := s.now
	s.rtp(a, b, 100)
	s.frames = append(s.frames, ct.VideoStream(a.Video, b.Video, 0x7771, start, 120)...)
	s.frames = append(s.frames, ct.VideoStream(b.Video, a.Video, 0x7772, start, 120)...)
	slices.SortStableFunc(s.frames, func(x, y ct.Frame) int { return x.Time.Compare(y.Time) })
	s.sip(a, b, d.Request("BYE", true, ""))
	return s.frames
}

// TestVideoBelongsToItsCall: the negotiated video streams are the call's:
// counted, not recorded, and never an unsignalled call of their own.
func TestVideoBelongsToItsCall(t *testing.T) {
	var audioPackets int
	calls, _, tr := run(t, track.Config{OnRTP: func(st *track.Stream, _ bool, _ *capture.Datagram) {
		if st.Kind != "" {
			t.Errorf("a %s packet reached the recorder", st.Kind)
		}
		audioPackets++
	}}, videoCall())
	if len(calls) != 1 {
		for _, c := range calls {
			t.Logf("call %s flags %v", c.ID, c.Flags)
		}
		t.Fatalf("%d calls, want the one signalled call", len(calls))
	}
	c := calls[0]
	if !c.Video || len(c.Legs[0].Video) != 1 || slices.Contains(c.Flags, "unsignalled") {
		t.Fatalf("call %+v: want video with one video stream", c)
	}
	v := c.Legs[0].Video[0]
	if v.CallerToCallee != 120 || v.CalleeToCaller != 120 || !slices.Equal(v.Codecs, []string{"H264"}) {
		t.Errorf("video stream %+v: want 120 packets each way, H264", v)
	}
	if st := tr.Stats(); st.VideoPackets != 240 || st.Candidates != 0 || audioPackets != 200 {
		t.Errorf("stats %+v, %d audio packets to the recorder; want 240 video, no candidates, 200 audio", st, audioPackets)
	}
	for _, f := range c.Flags {
		if f == "unsupported_codec:h264" || f == "unsupported_codec:pt96" {
			t.Errorf("flag %s: video is not an unsupported audio codec", f)
		}
	}
}
