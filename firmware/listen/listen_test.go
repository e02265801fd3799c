package listen

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// TestListen: a WebRTC peer (pion, standing in for the browser) listens to
// a call: the call's packets reach it on the party's track; only its
// listener may stop it; the call's end stops it; all of it audited.
func TestListen(t *testing.T) {
	var mu sync.Mutex
	var audit []string
	s := New(func(who, action, target, why string) error {
		mu.Lock()
		audit = append(audit, action+" "+who+" "+target)
		mu.Unlock()
		return nil
	}, true, nil)
	if _, _, err := s.Start("c1", "G729", "sup", "quality", ""); !errors.Is(err, ErrCodec) {
		t.Errorf("G.729 = %v, want ErrCodec", err)
	}
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for range 2 {
		pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
	}
	got := make(chan string, 64)
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			got <- tr.ID() + ":" + string(p.Payload[:3])
		}
	})
	offer, _ := pc.CreateOffer(nil)
	gathered := webrtc.GatheringCompletePromise(pc)
	pc.SetLocalDescription(offer)
	<-gathered
	answer, id, err := s.Start("c1", "PCMA", "sup", "quality", pc.LocalDescription().SDP)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	if l := s.Listeners("c1"); len(l) != 1 || l[0] != "sup" || !s.Listening() {
		t.Errorf("Listeners = %v", l)
	}
	// Feed the call's packets until the peer hears the outside party.
	deadline := time.After(10 * time.Second)
	for seq := uint16(0); ; seq++ {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 7},
			Payload: append([]byte("out"), make([]byte, 157)...)}
		raw, _ := p.Marshal()
		s.Packet("c1", true, "PCMA", raw)
		s.Packet("c2", true, "PCMA", raw) // another call: not this session's
		select {
		case g := <-got:
			if g != "outside:out" {
				t.Fatalf("heard %q, want the outside party's packet", g)
			}
		case <-deadline:
			t.Fatal("no packet reached the listener")
		case <-time.After(20 * time.Millisecond):
			continue
		}
		break
	}
	if err := s.Stop(id, "someone else"); !errors.Is(err, ErrNoSession) {
		t.Errorf("Stop by another user = %v", err)
	}
	s.EndCall("c1", "the call ended")
	if s.Listening() || len(s.Listeners("c1")) != 0 {
		t.Error("the session outlived its call")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(audit) != 2 || audit[0] != "listen-start sup c1" || audit[1] != "listen-stop sup c1" {
		t.Errorf("audit %v", audit)
	}
}
