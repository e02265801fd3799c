package track_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	ct "callrec/recorder/capture/capturetest"
	"callrec/recorder/track"
)

// TestFloodSparesRealCalls: bogus INVITEs (never answered, no media) far
// beyond the early budget end each other, oldest first; a real call that
// rings, is answered and carries audio is never evicted, and ends by its
// BYE.
func TestFloodSparesRealCalls(t *testing.T) {
	s := newScript()
	d := &ct.Dialog{CallID: "real@x", Caller: ext, Callee: alice}
	flood := func(from, n int) {
		for i := from; i < from+n; i++ {
			a := netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
			bogus := party(fmt.Sprint("0200000", i), a.String(), 5060, 40000, fmt.Sprint("t", i))
			bd := &ct.Dialog{CallID: fmt.Sprint("bogus-", i), Caller: bogus, Callee: alice}
			s.sip(bogus, alice, bd.Request("INVITE", true, "sendrecv"))
		}
	}
	s.sip(ext, alice, d.Request("INVITE", true, "sendrecv"))
	s.sip(alice, ext, d.Response(100, "Trying", "INVITE", true, ""))
	flood(0, 300)
	s.sip(alice, ext, d.Response(180, "Ringing", "INVITE", true, ""))
	flood(300, 300)
	s.sip(alice, ext, d.Response(200, "OK", "INVITE", true, "sendrecv"))
	s.sip(ext, alice, d.Request("ACK", true, ""))
	flood(600, 300)
	s.rtp(ext, alice, 50)
	flood(900, 300)
	s.sip(ext, alice, d.Request("BYE", true, ""))
	calls, _, tr := run(t, track.Config{MaxEarly: 100, MaxCalls: 150}, s.frames)
	real := calls[slices.IndexFunc(calls, func(c *track.Call) bool { return c.SIPCallIDs[0] == "real@x" })]
	if real.EndReason != "bye" || !real.Responded() {
		t.Errorf("the real call ended %q (responded %v), want bye", real.EndReason, real.Responded())
	}
	st := tr.Stats()
	if st.EarlyEvicted < 1000 || st.EarlyEvicted != st.CallsEvicted {
		t.Errorf("stats %+v: want the bogus INVITEs, and only they, evicted", st)
	}
	for _, c := range calls {
		if c.SIPCallIDs[0] != "real@x" && c.Responded() {
			t.Errorf("bogus call %s counts as responded", c.SIPCallIDs[0])
		}
	}
}
