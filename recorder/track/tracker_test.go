package track_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"callrec/recorder/capture"
	ct "callrec/recorder/capture/capturetest"
	"callrec/recorder/track"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func party(user, ip string, sipPort, rtpPort uint16, tag string) ct.Party {
	a := netip.MustParseAddr(ip)
	return ct.Party{User: user, SIP: netip.AddrPortFrom(a, sipPort), RTP: netip.AddrPortFrom(a, rtpPort), Tag: tag}
}

// script builds a capture step by step on a clock.
type script struct {
	now    time.Time
	frames []ct.Frame
}

func newScript() *script { return &script{now: t0} }

func (s *script) at(d time.Duration) *script { s.now = t0.Add(d); return s }

// sip sends a SIP message between two parties' signalling addresses.
func (s *script) sip(from, to ct.Party, msg []byte) *script {
	s.frames = append(s.frames, ct.Frame{Time: s.now, Data: ct.UDPFrame(from.SIP, to.SIP, msg)})
	s.now = s.now.Add(10 * time.Millisecond)
	return s
}

// rtp sends n packets each way between the parties' media addresses.
func (s *script) rtp(a, b ct.Party, n int) *script {
	fa := ct.Stream(a.RTP, b.RTP, 0x1111, s.now, n, ct.Silence)
	fb := ct.Stream(b.RTP, a.RTP, 0x2222, s.now, n, ct.Silence)
	for i := range n {
		s.frames = append(s.frames, fa[i], fb[i])
	}
	s.now = s.now.Add(time.Duration(n) * 20 * time.Millisecond)
	return s
}

func (s *script) raw(src, dst netip.AddrPort, payload []byte) *script {
	s.frames = append(s.frames, ct.Frame{Time: s.now, Data: ct.UDPFrame(src, dst, payload)})
	s.now = s.now.Add(20 * time.Millisecond)
	return s
}

// run feeds the capture through a decoder and tracker and returns every
// call (in order of start) and every event.
func run(t *testing.T, cfg track.Config, frames []ct.Frame) ([]*track.Call, []track.Event, *track.Tracker) {
	t.Helper()
	var calls []*track.Call
	var events []track.Event
	cfg.OnEvent = func(e track.Event) {
		events = append(events, e)
		if e.Kind == track.CallStarted && !slices.Contains(calls, e.Call) {
			calls = append(calls, e.Call)
		}
	}
	tr := track.New(cfg, nil)
	dec := capture.NewDecoder(capture.Config{})
	for _, f := range frames {
		dec.Decode(layers.LinkTypeEthernet, f.Data, f.Time, tr.Handle)
	}
	tr.Flush("capture_end")
	return calls, events, tr
}

func kinds(events []track.Event) string {
	var k []string
	for _, e := range events {
		k = append(k, e.Kind.String())
	}
	return strings.Join(k, ",")
}

var (
	alice = party("201", "10.0.0.11", 5060, 4000, "a1")
	bob   = party("202", "10.0.0.12", 5060, 5000, "b1")
	carol = party("203", "10.0.0.13", 5060, 6000, "c1")
	ext   = party("01632960001", "203.0.113.5", 5060, 7000, "x1")
)

// basicCall scripts alice calling bob: answered, 50 packets each way, BYE.
func basicCall(s *script, d *ct.Dialog, a, b ct.Party, n int) *script {
	s.sip(a, b, d.Request("INVITE", true, "sendrecv"))
	s.sip(b, a, d.Response(180, "Ringing", "INVITE", true, ""))
	s.sip(b, a, d.Response(200, "OK", "INVITE", true, "sendrecv"))
	s.sip(a, b, d.Request("ACK", true, ""))
	s.rtp(a, b, n)
	s.sip(a, b, d.Request("BYE", true, ""))
	return s.sip(b, a, d.Response(200, "OK", "BYE", true, ""))
}

func TestBasicCall(t *testing.T) {
	d := &ct.Dialog{CallID: "basic@10.0.0.11", Caller: alice, Callee: bob}
	calls, events, _ := run(t, track.Config{}, basicCall(newScript(), d, alice, bob, 50).frames)
	if len(calls) != 1 {
		t.Fatalf("%d calls, want 1", len(calls))
	}
	c := calls[0]
	if c.EndReason != "bye" || c.Direction != track.Internal || c.From.Extension != "201" || c.To.Extension != "202" {
		t.Errorf("call = %+v", c)
	}
	st := c.Legs[0].Media[0]
	if st.CallerToCallee != 50 || st.CalleeToCaller != 50 || st.CallerAddr != alice.RTP || st.CalleeAddr != bob.RTP {
		t.Errorf("stream = %+v", st)
	}
	if got := kinds(events); got != "started,media,media,ended" {
		t.Errorf("events = %s", got)
	}
	if dur := c.End.Sub(c.Start.Time); dur < time.Second || dur > 2*time.Second {
		t.Errorf("duration %v, want about 1 s", dur)
	}
}

// TestDuplicateHops checks a message seen twice (two hops of one SPAN
// port) is one event, not two.
func TestDuplicateHops(t *testing.T) {
	d := &ct.Dialog{CallID: "dup@10.0.0.11", Caller: alice, Callee: bob}
	s := basicCall(newScript(), d, alice, bob, 5)
	var doubled []ct.Frame
	for _, f := range s.frames {
		doubled = append(doubled, f)
		if ip := f.Data[14:]; ip[9] == 17 && binary.BigEndian.Uint16(ip[22:]) == 5060 {
			doubled = append(doubled, f) // the SIP message again
		}
	}
	calls, events, tr := run(t, track.Config{}, doubled)
	if len(calls) != 1 || kinds(events) != "started,media,media,ended" {
		t.Fatalf("%d calls, events %s", len(calls), kinds(events))
	}
	if tr.Stats().Duplicates != 6 || !slices.Contains(calls[0].Flags, "duplicates_dropped") {
		t.Errorf("duplicates %d, flags %v; want 6 and the flag", tr.Stats().Duplicates, calls[0].Flags)
	}
}

func TestAuthChallenge(t *testing.T) {
	d := &ct.Dialog{CallID: "auth@10.0.0.11", Caller: alice, Callee: ext}
	s := newScript()
	s.sip(alice, ext, d.Request("INVITE", true, "sendrecv"))
	s.sip(ext, alice, d.Response(407, "Proxy Authentication Required", "INVITE", true, ""))
	s.sip(alice, ext, d.Request("ACK", true, ""))
	basicCall(s, d, alice, ext, 10)
	calls, _, _ := run(t, track.Config{}, s.frames)
	if len(calls) != 1 {
		t.Fatalf("%d calls, want 1", len(calls))
	}
	c := calls[0]
	if c.EndReason != "bye" || c.Answered.IsZero() || !slices.Contains(c.Flags, "auth") || c.Direction != track.Outbound || c.To.E164 != "+441632960001" {
		t.Errorf("call = %+v", c)
	}
}

func TestCallIDReuse(t *testing.T) {
	d1 := &ct.Dialog{CallID: "reused@10.0.0.11", Caller: alice, Callee: bob}
	d2 := &ct.Dialog{CallID: "reused@10.0.0.11", Caller: alice, Callee: bob}
	s := basicCall(newScript(), d1, alice, bob, 5)
	s.at(2 * time.Hour)
	basicCall(s, d2, alice, bob, 5)
	calls, _, _ := run(t, track.Config{}, s.frames)
	if len(calls) != 2 || calls[0].ID == calls[1].ID {
		t.Fatalf("%d calls; want 2 with different ids", len(calls))
	}
}

func TestEndings(t *testing.T) {
	tests := []struct {
		name   string
		script func(s *script, d *ct.Dialog)
		reason string
	}{
		{"cancel", func(s *script, d *ct.Dialog) {
			s.sip(alice, bob, d.Request("INVITE", true, "sendrecv"))
			s.sip(bob, alice, d.Response(180, "Ringing", "INVITE", true, ""))
			s.sip(alice, bob, d.Request("CANCEL", true, ""))
			s.sip(bob, alice, d.Response(487, "Request Terminated", "INVITE", true, ""))
		}, "cancel"},
		{"busy", func(s *script, d *ct.Dialog) {
			s.sip(alice, bob, d.Request("INVITE", true, "sendrecv"))
			s.sip(bob, alice, d.Response(486, "Busy Here", "INVITE", true, ""))
		}, "rejected:486"},
		{"timeout", func(s *script, d *ct.Dialog) {
			s.sip(alice, bob, d.Request("INVITE", true, "sendrecv"))
			s.sip(bob, alice, d.Response(200, "OK", "INVITE", true, "sendrecv"))
			s.rtp(alice, bob, 10)
			s.at(5*time.Minute).raw(carol.SIP, bob.SIP, []byte("OPTIONS sip:x SIP/2.0\r\nCall-ID: other\r\nCSeq: 1 OPTIONS\r\n\r\n"))
		}, "timeout"},
		{"capture end", func(s *script, d *ct.Dialog) {
			s.sip(alice, bob, d.Request("INVITE", true, "sendrecv"))
			s.sip(bob, alice, d.Response(200, "OK", "INVITE", true, "sendrecv"))
		}, "capture_end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript()
			tt.script(s, &ct.Dialog{CallID: tt.name + "@x", Caller: alice, Callee: bob})
			calls, _, _ := run(t, track.Config{}, s.frames)
			if len(calls) != 1 || calls[0].EndReason != tt.reason {
				t.Fatalf("calls %d, reason %q; want 1, %q", len(calls), calls[0].EndReason, tt.reason)
			}
			if tt.reason == "timeout" && calls[0].End.Sub(calls[0].Start.Time) > 2*time.Minute {
				t.Errorf("timed-out call ends at %v, want within the idle timeout of its last packet", calls[0].End)
			}
		})
	}
}

func TestHoldResume(t *testing.T) {
	d := &ct.Dialog{CallID: "hold@x", Caller: alice, Callee: bob}
	s := newScript()
	s.sip(alice, bob, d.Request("INVITE", true, "sendrecv"))
	s.sip(bob, alice, d.Response(200, "OK", "INVITE", true, "sendrecv"))
	s.rtp(alice, bob, 5)
	s.sip(alice, bob, d.Request("INVITE", true, "sendonly"))
	s.sip(bob, alice, d.Response(200, "OK", "INVITE", true, "recvonly"))
	s.now = s.now.Add(10 * time.Second)
	s.sip(alice, bob, d.Request("INVITE", true, "sendrecv"))
	s.sip(bob, alice, d.Response(200, "OK", "INVITE", true, "sendrecv"))
	s.rtp(alice, bob, 5)
	s.sip(alice, bob, d.Request("BYE", true, ""))
	calls, events, _ := run(t, track.Config{}, s.frames)
	if got := kinds(events); got != "started,media,media,held,resumed,ended" {
		t.Fatalf("events = %s", got)
	}
	if calls[0].EndReason != "bye" {
		t.Errorf("reason %q", calls[0].EndReason)
	}
}

func TestTransfers(t *testing.T) {
	t.Run("blind REFER", func(t *testing.T) {
		d1 := &ct.Dialog{CallID: "ab@x", Caller: alice, Callee: bob}
		d2 := &ct.Dialog{CallID: "bc@x", Caller: bob, Callee: carol}
		s := newScript()
		s.sip(alice, bob, d1.Request("INVITE", true, "sendrecv"))
		s.sip(bob, alice, d1.Response(200, "OK", "INVITE", true, "sendrecv"))
		s.sip(alice, bob, d1.Request("REFER", true, "", "Refer-To: <sip:203@10.0.0.13>", "Referred-By: <sip:201@10.0.0.11>"))
		s.sip(bob, alice, d1.Response(202, "Accepted", "REFER", true, ""))
		s.sip(bob, carol, d2.Request("INVITE", true, "sendrecv", "Referred-By: <sip:201@10.0.0.11>"))
		s.sip(carol, bob, d2.Response(200, "OK", "INVITE", true, "sendrecv"))
		s.sip(bob, alice, d1.Request("NOTIFY", false, "", "Event: refer", "Content-Type: message/sipfrag"))
		s.sip(alice, bob, d1.Request("BYE", true, ""))
		calls, events, _ := run(t, track.Config{}, s.frames)
		if len(calls) != 2 || calls[0].ConversationID != calls[1].ConversationID || calls[0].ID == calls[1].ID {
			t.Fatalf("calls %d, want 2 sharing one conversation: %+v", len(calls), calls)
		}
		if !strings.Contains(kinds(events), "transferred") {
			t.Errorf("events %s lack transferred", kinds(events))
		}
	})
	t.Run("attended Replaces", func(t *testing.T) {
		d1 := &ct.Dialog{CallID: "xa@x", Caller: ext, Callee: alice}
		d2 := &ct.Dialog{CallID: "ab2@x", Caller: alice, Callee: bob}
		d3 := &ct.Dialog{CallID: "xb@x", Caller: ext, Callee: bob}
		s := newScript()
		s.sip(ext, alice, d1.Request("INVITE", true, "sendrecv"))
		s.sip(alice, ext, d1.Response(200, "OK", "INVITE", true, "sendrecv"))
		s.sip(alice, bob, d2.Request("INVITE", true, "sendrecv"))
		s.sip(bob, alice, d2.Response(200, "OK", "INVITE", true, "sendrecv"))
		s.sip(alice, ext, d1.Request("REFER", false, "", "Refer-To: <sip:202@10.0.0.12?Replaces=ab2%40x%3Bto-tag%3Db1%3Bfrom-tag%3Da1>"))
		s.sip(ext, bob, d3.Request("INVITE", true, "sendrecv", "Replaces: ab2@x;to-tag=b1;from-tag=a1"))
		s.sip(bob, ext, d3.Response(200, "OK", "INVITE", true, "sendrecv"))
		calls, _, _ := run(t, track.Config{}, s.frames)
		if len(calls) != 3 {
			t.Fatalf("%d calls, want 3", len(calls))
		}
		for _, c := range calls[1:] {
			if c.ConversationID != calls[0].ConversationID {
				t.Errorf("call %s in conversation %s, want %s", c.ID, c.ConversationID, calls[0].ConversationID)
			}
		}
		if calls[0].Direction != track.Inbound {
			t.Errorf("first call direction %s, want inbound", calls[0].Direction)
		}
	})
}

// TestUnsignalledRTP checks RTP that no SDP announced still becomes a
// call, flagged, and is never silently lost.
func TestUnsignalledRTP(t *testing.T) {
	s := newScript()
	s.rtp(alice, bob, 30)
	calls, _, _ := run(t, track.Config{}, s.frames)
	if len(calls) != 1 || !slices.Contains(calls[0].Flags, "unsignalled") {
		t.Fatalf("calls %+v, want one unsignalled", calls)
	}
	st := calls[0].Legs[0].Media[0]
	if st.CallerToCallee+st.CalleeToCaller != 60 {
		t.Errorf("packets %d+%d, want all 60 counted", st.CallerToCallee, st.CalleeToCaller)
	}
}

func TestDTMF(t *testing.T) {
	d := &ct.Dialog{CallID: "dtmf@x", Caller: alice, Callee: bob}
	s := newScript()
	s.sip(alice, bob, d.Request("INVITE", true, "sendrecv"))
	s.sip(bob, alice, d.Response(200, "OK", "INVITE", true, "sendrecv"))
	// RFC 4733: digit 5, three packets of one event (same timestamp).
	for i := range 3 {
		ev := []byte{5, 0x0a, 0, byte(160 * (i + 1))}
		if i == 2 {
			ev[1] |= 0x80 // end
		}
		s.raw(alice.RTP, bob.RTP, ct.RTP(101, uint16(i), 8000, 0x3333, i == 0, ev))
	}
	s.sip(alice, bob, d.Request("INFO", true, "", "Content-Type: application/dtmf-relay"))
	s.frames = append(s.frames, ct.Frame{Time: s.now, Data: ct.UDPFrame(alice.SIP, bob.SIP,
		[]byte("INFO sip:202@10.0.0.12 SIP/2.0\r\nFrom: <sip:201@10.0.0.11>;tag=a1\r\nTo: <sip:202@10.0.0.12>;tag=b1\r\nCall-ID: dtmf@x\r\nCSeq: 9 INFO\r\nContent-Type: application/dtmf-relay\r\nContent-Length: 22\r\n\r\nSignal=#\r\nDuration=160"))})
	s.now = s.now.Add(10 * time.Millisecond)
	// From the callee: a 9 by RFC 4733, and a * by SIP INFO.
	s.raw(bob.RTP, alice.RTP, ct.RTP(101, 7, 8000, 0x4444, true, []byte{9, 0x8a, 0, 160}))
	s.frames = append(s.frames, ct.Frame{Time: s.now, Data: ct.UDPFrame(bob.SIP, alice.SIP,
		[]byte("INFO sip:201@10.0.0.11 SIP/2.0\r\nFrom: <sip:202@10.0.0.12>;tag=b1\r\nTo: <sip:201@10.0.0.11>;tag=a1\r\nCall-ID: dtmf@x\r\nCSeq: 1 INFO\r\nContent-Type: application/dtmf-relay\r\nContent-Length: 22\r\n\r\nSignal=*\r\nDuration=160"))})
	calls, events, _ := run(t, track.Config{}, s.frames)
	var digits []string
	for _, e := range events {
		if e.Kind == track.DTMF {
			side := "callee"
			if e.FromCaller {
				side = "caller"
			}
			digits = append(digits, e.Digit+"/"+e.Detail+"/"+side)
		}
	}
	if want := "[5/rfc4733/caller #/sip-info/caller 9/rfc4733/callee */sip-info/callee]"; fmt.Sprint(digits) != want || len(calls) != 1 {
		t.Fatalf("digits %v, want %s", digits, want)
	}
}

// TestForking checks early media from two forks, then the winner's.
func TestForking(t *testing.T) {
	d := &ct.Dialog{CallID: "fork@x", Caller: alice, Callee: bob}
	bob2 := bob
	bob2.Tag, bob2.RTP = "b2", netip.MustParseAddrPort("10.0.0.22:5002")
	d2 := &ct.Dialog{CallID: "fork@x", Caller: alice, Callee: bob2}
	s := newScript()
	s.sip(alice, bob, d.Request("INVITE", true, "sendrecv"))
	d2.Request("INVITE", true, "") // keep CSeq in step
	s.sip(bob, alice, d.Response(183, "Session Progress", "INVITE", true, "sendrecv"))
	s.sip(bob2, alice, d2.Response(183, "Session Progress", "INVITE", true, "sendrecv"))
	s.sip(bob2, alice, d2.Response(200, "OK", "INVITE", true, ""))
	calls, _, _ := run(t, track.Config{}, s.frames)
	if len(calls) != 1 || calls[0].Legs[0].ToTag != "b2" || calls[0].Legs[0].Media[0].CalleeAddr != bob2.RTP {
		t.Fatalf("calls %d, leg %+v; want the winning fork's tag and media", len(calls), calls[0].Legs[0])
	}
}

// TestFloodBounded sends many INVITEs that never complete: the tracker
// keeps at most MaxCalls and counts the evictions.
func TestFloodBounded(t *testing.T) {
	s := newScript()
	for i := range 5000 {
		d := &ct.Dialog{CallID: fmt.Sprintf("junk-%d", i), Caller: alice, Callee: bob}
		s.sip(alice, bob, d.Request("INVITE", true, ""))
	}
	tr := track.New(track.Config{MaxCalls: 100}, nil)
	dec := capture.NewDecoder(capture.Config{})
	for _, f := range s.frames {
		dec.Decode(layers.LinkTypeEthernet, f.Data, f.Time, tr.Handle)
		if n := len(tr.Active()); n > 100 {
			t.Fatalf("%d active calls, bound 100", n)
		}
	}
	if tr.Stats().CallsEvicted != 4900 {
		t.Fatalf("evicted %d, want 4900", tr.Stats().CallsEvicted)
	}
}

// TestJunkFloodMemory sends a long flood of half-open dialogs and RTP-like
// junk on random ports: the heap after it must be no larger than after a
// flood a tenth as long, because every table is bounded.
func TestJunkFloodMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("floods 100k packets")
	}
	tr := track.New(track.Config{MaxCalls: 500, MaxCandidates: 500, MaxFingerprint: 4096}, nil)
	dec := capture.NewDecoder(capture.Config{MaxTCPFlows: 100, MaxFragSets: 100})
	handle := tr.Handle
	now := t0
	flood := func(from, to int) {
		for i := from; i < to; i++ {
			now = now.Add(time.Millisecond)
			d := &ct.Dialog{CallID: fmt.Sprintf("junk-%d", i), Caller: alice, Callee: bob}
			dec.Decode(layers.LinkTypeEthernet, ct.UDPFrame(alice.SIP, bob.SIP, d.Request("INVITE", true, "sendrecv")), now, handle)
			src := netip.AddrPortFrom(netip.MustParseAddr("10.9.0.1"), uint16(2000+i%60000))
			dec.Decode(layers.LinkTypeEthernet, ct.UDPFrame(src, bob.RTP, ct.RTP(0, uint16(i), 0, uint32(i), false, []byte("junk"))), now, handle)
		}
	}
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	flood(0, 10000)
	small := heap()
	flood(10000, 100000)
	large := heap()
	if large > small+small/2+1<<20 {
		t.Fatalf("heap %d KiB after 10k junk packets, %d KiB after 100k: not bounded", small>>10, large>>10)
	}
	t.Logf("heap %d KiB after 10k junk packets, %d KiB after 100k", small>>10, large>>10)
}

// TestCodecChangeAndKeys checks a re-INVITE to another codec is a media
// change, and that SDES keys are kept for SRTP but not printed.
func TestCodecChangeAndKeys(t *testing.T) {
	d := &ct.Dialog{CallID: "codec@x", Caller: alice, Callee: bob}
	toPCMA := func(b []byte) []byte {
		s := strings.Replace(string(b), "RTP/AVP 0 101", "RTP/AVP 8 101", 1)
		return []byte(strings.Replace(s, "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", 1))
	}
	withKey := func(b []byte) []byte {
		s := strings.Replace(string(b), "RTP/AVP", "RTP/SAVP", 1)
		s = strings.Replace(s, "a=sendrecv\r\n", "a=sendrecv\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2Vj\r\n", 1)
		return []byte(s)
	}
	s := newScript()
	inv := d.Request("INVITE", true, "sendrecv")
	s.sip(alice, bob, fixLength(withKey(inv)))
	s.sip(bob, alice, d.Response(200, "OK", "INVITE", true, "sendrecv"))
	s.sip(alice, bob, d.Request("INVITE", true, "sendrecv"))
	s.sip(bob, alice, toPCMA(d.Response(200, "OK", "INVITE", true, "sendrecv")))
	calls, events, _ := run(t, track.Config{}, s.frames)
	if got := kinds(events); got != "started,media,media,media,ended" {
		t.Errorf("events = %s, want a media change for the new codec", got)
	}
	st := calls[0].Legs[0].Media[0]
	if caller, _ := st.CryptoKeys(); len(caller) != 1 || !st.Crypto {
		t.Errorf("caller keys %d, srtp %v; want the offer's key kept", len(caller), st.Crypto)
	}
	out, _ := json.Marshal(calls[0])
	if strings.Contains(string(out), "inline:") {
		t.Error("the call's JSON contains the SRTP key")
	}
}

// fixLength sets Content-Length to the body's real length.
func fixLength(b []byte) []byte {
	head, body, _ := strings.Cut(string(b), "\r\n\r\n")
	i := strings.Index(head, "Content-Length: ")
	head = head[:i] + fmt.Sprintf("Content-Length: %d", len(body))
	return []byte(head + "\r\n\r\n" + body)
}

// TestSharedMediaAddress checks two simultaneous calls to one media
// address (an echo server, a media server) keep their packets apart.
func TestSharedMediaAddress(t *testing.T) {
	server := party("999", "10.0.0.50", 5060, 6000, "s1")
	a2 := party("205", "10.0.0.15", 5062, 4100, "a2")
	d1 := &ct.Dialog{CallID: "shared-1@x", Caller: alice, Callee: server}
	server2 := server
	server2.Tag = "s2"
	d2 := &ct.Dialog{CallID: "shared-2@x", Caller: a2, Callee: server2}
	s := newScript()
	s.sip(alice, server, d1.Request("INVITE", true, "sendrecv"))
	s.sip(server, alice, d1.Response(200, "OK", "INVITE", true, "sendrecv"))
	s.sip(a2, server2, d2.Request("INVITE", true, "sendrecv"))
	s.sip(server2, a2, d2.Response(200, "OK", "INVITE", true, "sendrecv"))
	s.rtp(alice, server, 30) // 30 each way
	s.rtp(a2, server2, 20)   // 20 each way
	calls, _, _ := run(t, track.Config{}, s.frames)
	if len(calls) != 2 {
		t.Fatalf("%d calls", len(calls))
	}
	for i, want := range []uint64{30, 20} {
		st := calls[i].Legs[0].Media[0]
		if st.CallerToCallee != want || st.CalleeToCaller != want {
			t.Errorf("call %d: %d/%d packets, want %d each way", i, st.CallerToCallee, st.CalleeToCaller, want)
		}
	}
}
