package track_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	ct "callrec/recorder/capture/capturetest"
	"callrec/recorder/track"
)

var (
	itsp  = party("anonymous", "203.0.113.9", 5060, 30000, "")
	pbx   = party("01632960100", "10.0.0.2", 5060, 40000, "")
	phone = party("201", "10.0.0.21", 5060, 4000, "")
)

// TestUnrelatedCallsStayApart: ten withheld numbers ring the practice at
// once (the same From and To, new Call-IDs, overlapping): they are ten
// calls, whatever their spacing. Nothing says they are legs of one call.
func TestUnrelatedCallsStayApart(t *testing.T) {
	for _, gap := range []time.Duration{100 * time.Millisecond, 500 * time.Millisecond} {
		s := newScript()
		var dialogs []*ct.Dialog
		for i := range 10 {
			caller := itsp
			caller.Tag, caller.RTP = fmt.Sprintf("x%d", i), netip.AddrPortFrom(caller.RTP.Addr(), 30000+2*uint16(i))
			callee := pbx
			callee.Tag, callee.RTP = fmt.Sprintf("p%d", i), netip.AddrPortFrom(callee.RTP.Addr(), 40000+2*uint16(i))
			d := &ct.Dialog{CallID: fmt.Sprintf("anon-%d@203.0.113.9", i), Caller: caller, Callee: callee}
			dialogs = append(dialogs, d)
			s.at(time.Duration(i)*gap).sip(caller, callee, d.Request("INVITE", true, "sendrecv"))
		}
		s.at(6 * time.Second)
		for _, d := range dialogs {
			s.sip(d.Callee, d.Caller, d.Response(200, "OK", "INVITE", true, "sendrecv"))
			s.sip(d.Caller, d.Callee, d.Request("ACK", true, ""))
		}
		for _, d := range dialogs {
			s.rtp(d.Caller, d.Callee, 10)
		}
		for _, d := range dialogs {
			s.sip(d.Caller, d.Callee, d.Request("BYE", true, ""))
		}
		calls, _, _ := run(t, track.Config{}, s.frames)
		if len(calls) != 10 {
			t.Errorf("%v apart: %d calls, want 10", gap, len(calls))
		}
		for _, c := range calls {
			if len(c.SIPCallIDs) != 1 || slices.Contains(c.Flags, "b2bua_legs") {
				t.Errorf("%v apart: call %s joined %v (%v)", gap, c.ID, c.SIPCallIDs, c.Flags)
			}
		}
	}
}

// b2buaCall scripts one call through a PBX: the ITSP's leg to the PBX,
// then the PBX's leg to the phone, each answered; extra headers go on the
// second leg's INVITE.
func b2buaCall(s *script, i int, extra ...string) {
	caller := itsp
	caller.User, caller.Tag, caller.RTP = fmt.Sprintf("0163296%04d", i), fmt.Sprintf("in%d", i), netip.AddrPortFrom(caller.RTP.Addr(), 30000+2*uint16(i))
	in := pbx
	in.Tag, in.RTP = fmt.Sprintf("pin%d", i), netip.AddrPortFrom(in.RTP.Addr(), 40000+2*uint16(i))
	out := pbx
	out.User, out.Tag, out.RTP = caller.User, fmt.Sprintf("pout%d", i), netip.AddrPortFrom(out.RTP.Addr(), 50000+2*uint16(i))
	callee := phone
	callee.User, callee.Tag = pbx.User, fmt.Sprintf("ph%d", i)
	d1 := &ct.Dialog{CallID: fmt.Sprintf("leg1-%d@itsp", i), Caller: caller, Callee: in}
	d2 := &ct.Dialog{CallID: fmt.Sprintf("leg2-%d@pbx", i), Caller: out, Callee: callee}
	s.sip(caller, in, d1.Request("INVITE", true, "sendrecv"))
	s.sip(out, callee, d2.Request("INVITE", true, "sendrecv", extra...))
	s.sip(callee, out, d2.Response(200, "OK", "INVITE", true, "sendrecv"))
	s.sip(in, caller, d1.Response(200, "OK", "INVITE", true, "sendrecv"))
}

// TestB2BUALegsJoinOnEvidence: a PBX's two legs of one call are joined
// when the second leg comes from where the first was sent; two such calls
// at once stay two calls, each with its own two legs.
func TestB2BUALegsJoinOnEvidence(t *testing.T) {
	s := newScript()
	b2buaCall(s, 1)
	b2buaCall(s, 2)
	calls, _, _ := run(t, track.Config{}, s.frames)
	if len(calls) != 2 {
		t.Fatalf("%d calls, want 2", len(calls))
	}
	for i, c := range calls {
		want := []string{fmt.Sprintf("leg1-%d@itsp", i+1), fmt.Sprintf("leg2-%d@pbx", i+1)}
		if !slices.Equal(c.SIPCallIDs, want) || !slices.Contains(c.Flags, "b2bua_legs") {
			t.Errorf("call %d: Call-IDs %v flags %v, want %v joined", i, c.SIPCallIDs, c.Flags, want)
		}
	}
}

// TestB2BUACorrelationHeader: a B2BUA whose two sides have different
// addresses (an SBC's inside and outside) is joined by the session
// identifier it carries across (RFC 7989 Session-ID).
func TestB2BUACorrelationHeader(t *testing.T) {
	const sid = "ab30317f1a784dc48ff824d0d3715d86"
	leg := func(callID string, from, to ct.Party, extra ...string) []ct.Frame {
		s := newScript()
		d := &ct.Dialog{CallID: callID, Caller: from, Callee: to}
		s.sip(from, to, d.Request("INVITE", true, "sendrecv", extra...))
		return s.frames
	}
	outside := party("01632960001", "203.0.113.9", 5060, 30000, "o1")
	sbcOut := party("01632960100", "203.0.113.1", 5060, 31000, "")
	sbcIn := party("01632960001", "10.0.0.1", 5060, 32000, "i1")
	pbxIn := party("01632960100", "10.0.0.2", 5060, 33000, "")
	for _, tt := range []struct {
		name   string
		extra1 []string
		extra2 []string
		joined bool
	}{
		{"session-id", []string{"Session-ID: " + sid + ";remote=00000000000000000000000000000000"}, []string{"Session-ID: " + sid}, true},
		{"different session-ids", []string{"Session-ID: " + sid}, []string{"Session-ID: 11111111111111111111111111111111"}, false},
		{"no evidence", nil, nil, false},
	} {
		frames := leg("out@sbc", outside, sbcOut, tt.extra1...)
		second := leg("in@sbc", sbcIn, pbxIn, tt.extra2...)
		second[0].Time = frames[0].Time.Add(5 * time.Millisecond)
		calls, _, _ := run(t, track.Config{}, append(frames, second...))
		if got := len(calls) == 1; got != tt.joined {
			t.Errorf("%s: %d calls, joined %v, want %v", tt.name, len(calls), got, tt.joined)
		}
	}
}
