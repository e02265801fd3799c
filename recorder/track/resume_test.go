package track_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"callrec/recorder/capture"
	ct "callrec/recorder/capture/capturetest"
	"callrec/recorder/track"
)

// TestResumeAfterRestart: a tracker stops mid-call (a crash); a new one is
// given the dialogs it kept, and follows the call on as part two: the same
// parties and conversation, flagged restarted, ended by its BYE, with its
// audio, and no unsignalled call made of that audio.
func TestResumeAfterRestart(t *testing.T) {
	for _, firstHeard := range []string{"rtp", "sip"} {
		d := &ct.Dialog{CallID: "resume@203.0.113.5", Caller: ext, Callee: alice}
		s := newScript()
		s.sip(ext, alice, d.Request("INVITE", true, "sendrecv"))
		s.sip(alice, ext, d.Response(200, "OK", "INVITE", true, "sendrecv"))
		s.sip(ext, alice, d.Request("ACK", true, ""))
		s.rtp(ext, alice, 50)
		cut := len(s.frames)
		s.now = s.now.Add(3 * time.Second) // the restart
		if firstHeard == "sip" {
			s.sip(ext, alice, d.Request("INFO", true, "", "Content-Type: application/dtmf-relay", "Content-Length: 0"))
		}
		s.rtp(ext, alice, 50)
		s.sip(alice, ext, d.Request("BYE", false, ""))

		// Before the crash: the dialog as the daemon keeps it (JSON).
		first, _, _ := run(t, track.Config{}, s.frames[:cut])
		kept, err := json.Marshal(first[0].Dialog())
		if err != nil {
			t.Fatal(err)
		}
		// After: a new tracker, told what was in progress.
		var dl track.Dialog
		if err := json.Unmarshal(kept, &dl); err != nil {
			t.Fatal(err)
		}
		var calls []*track.Call
		audio := 0
		tr := track.New(track.Config{
			OnEvent: func(e track.Event) {
				if e.Kind == track.CallStarted {
					calls = append(calls, e.Call)
				}
			},
			OnRTP: func(*track.Stream, bool, *capture.Datagram) { audio++ },
		}, nil)
		tr.Resume([]track.Dialog{dl}, s.frames[cut].Time)
		dec := capture.NewDecoder(capture.Config{})
		for _, f := range s.frames[cut:] {
			dec.Decode(layers.LinkTypeEthernet, f.Data, f.Time, tr.Handle)
		}
		tr.Flush("capture_end")
		if len(calls) != 1 {
			t.Fatalf("%s first: %d calls after the restart, want 1", firstHeard, len(calls))
		}
		c, was := calls[0], first[0]
		if c.ID == was.ID || c.Continues != was.ID || c.ConversationID != was.ConversationID ||
			c.From != was.From || c.To != was.To || !slices.Equal(c.Numbers, was.Numbers) || c.Direction != was.Direction {
			t.Errorf("%s first: part two %+v does not continue %+v", firstHeard, c, was)
		}
		if !slices.Contains(c.Flags, "restarted") || slices.Contains(c.Flags, "unsignalled") || c.EndReason != "bye" {
			t.Errorf("%s first: flags %v, ended %q; want restarted, ended by bye", firstHeard, c.Flags, c.EndReason)
		}
		if audio != 100 || tr.Stats().CallsResumed != 1 {
			t.Errorf("%s first: %d audio packets to the recorder, stats %+v; want 100 and one resumed", firstHeard, audio, tr.Stats())
		}
	}
}

// TestResumedDialogExpires: a dialog that ended while the recorder was
// down is never heard from; it makes no call.
func TestResumedDialogExpires(t *testing.T) {
	d := &ct.Dialog{CallID: "gone@x", Caller: ext, Callee: alice}
	s := newScript()
	s.sip(ext, alice, d.Request("INVITE", true, "sendrecv"))
	s.sip(alice, ext, d.Response(200, "OK", "INVITE", true, "sendrecv"))
	calls, _, _ := run(t, track.Config{}, s.frames)
	dl := calls[0].Dialog()
	started := 0
	tr := track.New(track.Config{IdleTimeout: 10 * time.Second, OnEvent: func(e track.Event) {
		if e.Kind == track.CallStarted {
			started++
		}
	}}, nil)
	tr.Resume([]track.Dialog{dl}, t0)
	tr.Tick(t0.Add(time.Minute))
	// Another call reuses the old media address a minute later.
	d2 := &ct.Dialog{CallID: "new@x", Caller: bob, Callee: carol}
	s2 := &script{now: t0.Add(time.Minute)}
	basicCall(s2, d2, bob, carol, 5)
	dec := capture.NewDecoder(capture.Config{})
	for _, f := range s2.frames {
		dec.Decode(layers.LinkTypeEthernet, f.Data, f.Time, tr.Handle)
	}
	if started != 1 || tr.Stats().CallsResumed != 0 {
		t.Errorf("%d calls started, %d resumed; want only the new call", started, tr.Stats().CallsResumed)
	}
}
