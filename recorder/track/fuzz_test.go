package track_test

import (
	"net/netip"
	"testing"
	"time"

	"callrec/recorder/capture"
	ct "callrec/recorder/capture/capturetest"
	"callrec/recorder/track"
)

// FuzzTrack feeds arbitrary payloads as SIP or RTP between a few
// addresses, after a real call set-up, into one bounded tracker: nothing
// may panic and the bounds must hold.
func FuzzTrack(f *testing.F) {
	d := &ct.Dialog{CallID: "fuzz@x", Caller: alice, Callee: bob}
	f.Add(uint8(0), d.Request("INVITE", true, "sendrecv"))
	f.Add(uint8(1), d.Response(200, "OK", "INVITE", true, "sendonly"))
	f.Add(uint8(2), ct.RTP(101, 1, 8000, 1, false, []byte{5, 0x80, 0, 160}))
	f.Add(uint8(3), []byte("REFER sip:x SIP/2.0\r\nCall-ID: fuzz@x\r\nCSeq: 5 REFER\r\nFrom: <sip:201@x>;tag=a1\r\nTo: <sip:202@x>;tag=b1\r\nRefer-To: <sip:203@x?Replaces=fuzz%40x>\r\n\r\n"))
	tr := track.New(track.Config{MaxCalls: 32, MaxCandidates: 32, MaxFingerprint: 256}, nil)
	addrs := []netip.AddrPort{alice.SIP, bob.SIP, alice.RTP, bob.RTP, carol.RTP}
	now := t0
	f.Fuzz(func(t *testing.T, route uint8, payload []byte) {
		now = now.Add(time.Duration(route) * 10 * time.Millisecond)
		tr.Handle(&capture.Datagram{
			Time:    now,
			Src:     addrs[int(route)%len(addrs)],
			Dst:     addrs[int(route/8)%len(addrs)],
			Proto:   capture.UDP,
			Payload: payload,
		})
		if n := len(tr.Active()); n > 32 {
			t.Fatalf("%d active calls, bound 32", n)
		}
	})
}
