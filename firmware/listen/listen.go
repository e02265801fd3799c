// Package listen lets a supervisor hear a call live, in the browser,
// through WebRTC (github.com/pion/webrtc/v4). The box passes the call's
// own audio packets through (G.711, G.722 or Opus, as the call uses),
// one track per party, so nothing is transcoded and nothing waits for
// the recorder's hold-back. ICE uses host candidates only: no STUN or
// TURN, no request leaving the box. Every session is audited, with its
// start, stop and reason, and ends the moment the call is opted out or
// ends.
package listen

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Errors, checked with errors.Is.
var (
	ErrCodec     = errors.New("listen: the call's codec cannot be passed to a browser")
	ErrNoSession = errors.New("listen: no such listening session")
)

// Audit writes an audit entry.
type Audit func(who, action, target, why string) error

// Service holds the listening sessions.
type Service struct {
	api   *webrtc.API
	audit Audit
	log   *slog.Logger

	mu       sync.Mutex
	sessions map[string]*session // by id
	active   atomic.Int32        // len(sessions): the capture goroutine's fast check
}

type session struct {
	id, call, who, reason string
	mime                  string
	pc                    *webrtc.PeerConnection
	tracks                [2]*webrtc.TrackLocalStaticRTP // the outside party, the practice
	started               time.Time
	packets               uint64
}

// New returns the service. loopback also offers the loopback interface's
// candidates (for a browser on the box itself, as in tests).
func New(audit Audit, loopback bool, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeQueryOnly) // resolves a browser's .local candidates; announces nothing
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	se.SetIncludeLoopbackCandidate(loopback)
	m := &webrtc.MediaEngine{}
	for _, c := range []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, PayloadType: 0},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000}, PayloadType: 8},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeG722, ClockRate: 8000}, PayloadType: 9},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111},
	} {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			panic(err) // the table above is fixed
		}
	}
	return &Service{api: webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(m)), audit: audit, log: log,
		sessions: map[string]*session{}}
}

// mimeOf is the WebRTC codec of a call's codec name ("" if a browser
// cannot take it).
func mimeOf(codec string) string {
	switch strings.ToUpper(codec) {
	case "PCMU":
		return webrtc.MimeTypePCMU
	case "PCMA":
		return webrtc.MimeTypePCMA
	case "G722":
		return webrtc.MimeTypeG722
	case "OPUS":
		return webrtc.MimeTypeOpus
	}
	return ""
}

// Start answers a browser's offer (SDP) to hear a call whose audio is in
// codec; who and reason go to the audit log. It returns the answer (with
// the box's candidates: no trickle) and the session's id.
func (s *Service) Start(call, codec, who, reason, offer string) (answer, id string, err error) {
	mime := mimeOf(codec)
	if mime == "" {
		return "", "", fmt.Errorf("%w (%s)", ErrCodec, codec)
	}
	var b [12]byte
	rand.Read(b[:])
	ss := &session{id: hex.EncodeToString(b[:]), call: call, who: who, reason: reason, mime: mime, started: time.Now()}
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{}) // no ICE servers: host candidates only
	if err != nil {
		return "", "", err
	}
	ss.pc = pc
	fail := func(err error) (string, string, error) { pc.Close(); return "", "", fmt.Errorf("listen: %w", err) }
	capability := webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 8000}
	if mime == webrtc.MimeTypeOpus {
		capability = webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 48000, Channels: 2}
	}
	for i, label := range []string{"outside", "practice"} {
		tr, err := webrtc.NewTrackLocalStaticRTP(capability, label, "call-"+call)
		if err != nil {
			return fail(err)
		}
		if _, err := pc.AddTrack(tr); err != nil {
			return fail(err)
		}
		ss.tracks[i] = tr
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(err)
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return fail(err)
	}
	select {
	case <-gathered:
	case <-time.After(5 * time.Second):
		return fail(errors.New("gathering the box's candidates took too long"))
	}
	if err := s.audit(who, "listen-start", call, reason); err != nil {
		return fail(err)
	}
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			s.end(ss.id, "the connection ended")
		}
	})
	s.mu.Lock()
	s.sessions[ss.id] = ss
	s.active.Store(int32(len(s.sessions)))
	s.mu.Unlock()
	s.log.Info("listening in", "call_id", call, "user", who, "codec", codec)
	return pc.LocalDescription().SDP, ss.id, nil
}

// Listening says whether anyone listens to any call: the capture
// goroutine asks it for every packet, so it is one atomic load.
func (s *Service) Listening() bool { return s.active.Load() > 0 }

// Packet passes one RTP packet of a call's audio to whoever listens to
// it: outside says which party sent it; codec is its payload's codec
// name. It runs on the capture goroutine and never blocks on a browser.
func (s *Service) Packet(call string, outside bool, codec string, raw []byte) {
	if !s.Listening() {
		return
	}
	s.mu.Lock()
	var to []*session
	for _, ss := range s.sessions {
		if ss.call == call && ss.mime == mimeOf(codec) {
			to = append(to, ss)
		}
	}
	s.mu.Unlock()
	if len(to) == 0 {
		return
	}
	var p rtp.Packet
	if err := p.Unmarshal(raw); err != nil {
		return
	}
	side := 1
	if outside {
		side = 0
	}
	for _, ss := range to {
		ss.tracks[side].WriteRTP(&p) // drops what the network cannot take; it does not block
		s.mu.Lock()
		ss.packets++
		s.mu.Unlock()
	}
}

// Stop ends a session at its listener's request; only its own listener
// may.
func (s *Service) Stop(id, who string) error {
	s.mu.Lock()
	ss := s.sessions[id]
	s.mu.Unlock()
	if ss == nil || ss.who != who {
		return ErrNoSession
	}
	s.end(id, "stopped by the listener")
	return nil
}

// EndCall ends every session of a call (it was opted out, or it ended).
func (s *Service) EndCall(call, why string) {
	s.mu.Lock()
	var ids []string
	for id, ss := range s.sessions {
		if ss.call == call {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	for _, id := range ids {
		s.end(id, why)
	}
}

func (s *Service) end(id, why string) {
	s.mu.Lock()
	ss := s.sessions[id]
	delete(s.sessions, id)
	s.active.Store(int32(len(s.sessions)))
	s.mu.Unlock()
	if ss == nil {
		return
	}
	go ss.pc.Close() // not on the capture goroutine: closing waits for the network
	if err := s.audit(ss.who, "listen-stop", ss.call, fmt.Sprintf("%s [%s, %d packets]", why, time.Since(ss.started).Round(time.Second), ss.packets)); err != nil {
		s.log.Error("listen stop not audited", "err", err)
	}
	s.log.Info("listening stopped", "call_id", ss.call, "user", ss.who, "why", why)
}

// Listeners are who listens to a call now.
func (s *Service) Listeners(call string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, ss := range s.sessions {
		if ss.call == call && !slices.Contains(out, ss.who) {
			out = append(out, ss.who)
		}
	}
	slices.Sort(out)
	return out
}
