package track

import (
	"net/netip"
	"slices"

	"callrec/recorder/sip"
)

// side is one end of a leg.
type side uint8

const (
	callerSide side = 1
	calleeSide side = 2
)

func other(s side) side { return 3 - s }

// mediaRef says which stream an address belongs to and which side
// receives there.
type mediaRef struct {
	stream   *Stream
	receiver side
}

// mediaOffer is one audio m= line of an SDP body, or a video marker.
type mediaOffer = sip.Media

// sdp applies the SDP in m, if any, as what side s offers or answers, on
// the leg of m's Call-ID.
func (t *Tracker) sdp(c *Call, m *message, s side) {
	t.sdpLeg(c.legFor(m), m, s)
}

func (t *Tracker) sdpLeg(l *Leg, m *message, s side) {
	if media := t.parseSDP(l.call, m); media != nil {
		t.applySDP(l, s, media)
	}
}

// parseSDP returns the m= lines of a message's SDP, or nil without one.
func (t *Tracker) parseSDP(c *Call, m *message) []mediaOffer {
	body := m.SDP()
	if body == nil {
		return nil
	}
	s, err := sip.ParseSDP(body)
	if err != nil {
		t.stats.SDPErrors++
		c.flag("sdp_error")
		return nil
	}
	if s.HasVideo() {
		c.Video = true
	}
	if len(s.Media) == 0 {
		return nil
	}
	return s.Media
}

// applySDP sets where side s receives each audio stream. Audio lines are
// matched to streams in order. Video lines are followed too, so that their
// packets count for the call and never look like unsignalled audio; they
// are not recorded (the practice records only the audio of a video call).
func (t *Tracker) applySDP(l *Leg, s side, media []mediaOffer) {
	c := l.call
	n, nv := 0, 0
	for _, md := range media {
		if md.Type == "video" {
			if nv == len(l.Video) {
				l.Video = append(l.Video, &Stream{Index: nv, Kind: "video", leg: l, pts: map[uint8]string{}, Codecs: []string{}})
			}
			t.placeVideo(l.Video[nv], s, md)
			nv++
			continue
		}
		if md.Type != "audio" {
			continue
		}
		if n == len(l.Media) {
			l.Media = append(l.Media, &Stream{Index: n, leg: l, pts: map[uint8]string{}, Codecs: []string{}})
		}
		st := l.Media[n]
		n++
		wasHeld := st.Held
		addr := md.Addr
		dir := md.Direction
		if addr.Port() == 0 {
			dir = sip.Inactive // a refused or removed stream
		}
		if addr.Addr().IsUnspecified() {
			dir = sip.Inactive // old-style hold: c=0.0.0.0 (RFC 2543)
		}
		changed := false
		if s == callerSide {
			changed = st.CallerAddr != addr
			t.unmap(st.CallerAddr, st)
			st.CallerAddr, st.callerDir = addr, dir
		} else {
			changed = st.CalleeAddr != addr
			t.unmap(st.CalleeAddr, st)
			st.CalleeAddr, st.calleeDir = addr, dir
		}
		if addr.Port() != 0 && !addr.Addr().IsUnspecified() {
			t.media[addr] = mediaRef{stream: st, receiver: s}
		}
		for i, cd := range md.Codecs {
			st.pts[cd.PT] = cd.Name
			if st.rates == nil {
				st.rates = map[uint8]sip.Codec{}
			}
			st.rates[cd.PT] = cd
			if !slices.Contains(st.Codecs, cd.Name) {
				st.Codecs = append(st.Codecs, cd.Name)
			}
			if i == 0 && s == calleeSide && st.answerCodec != cd.Name {
				// The answer's first codec is what flows; a change of it
				// (a re-INVITE to another codec) is a media change.
				changed = changed || st.answerCodec != ""
				st.answerCodec = cd.Name
			}
		}
		if len(md.Crypto) > 0 {
			st.keys[s-1] = md.Crypto
		}
		if md.KeyExchange != sip.KeyNone {
			st.Crypto, st.KeyExchange = true, md.KeyExchange
			c.flag("srtp")
			if md.KeyExchange != sip.KeySDES {
				// The keys never cross the wire: the audio cannot be decrypted.
				c.flag("srtp_undecryptable:" + md.KeyExchange)
			}
		}
		// Hold is a change of direction after the call was answered (RFC
		// 6337 section 5.3); a stream one-way from the start (an
		// announcement) is not on hold.
		if st.answered {
			st.Held = st.callerDir != sip.SendRecv || st.calleeDir != sip.SendRecv
		} else if c.state == stateConfirmed && st.CallerAddr.IsValid() && st.CalleeAddr.IsValid() {
			st.answered = true
		}
		switch {
		case st.Held && !wasHeld:
			c.flag("hold")
			t.emit(Event{Kind: Held, Time: t.now, Call: c, Stream: st})
		case !st.Held && wasHeld:
			t.emit(Event{Kind: Resumed, Time: t.now, Call: c, Stream: st})
		}
		if changed {
			t.emit(Event{Kind: MediaChanged, Time: t.now, Call: c, Stream: st})
		}
	}
}

// placeVideo maps where side s receives a video stream.
func (t *Tracker) placeVideo(st *Stream, s side, md mediaOffer) {
	addr := md.Addr
	if s == callerSide {
		t.unmap(st.CallerAddr, st)
		st.CallerAddr = addr
	} else {
		t.unmap(st.CalleeAddr, st)
		st.CalleeAddr = addr
	}
	if addr.Port() != 0 && !addr.Addr().IsUnspecified() {
		t.media[addr] = mediaRef{stream: st, receiver: s}
	}
	for _, cd := range md.Codecs {
		if !slices.Contains(st.Codecs, cd.Name) {
			st.Codecs = append(st.Codecs, cd.Name)
		}
	}
}

// addr is where side s of the stream receives.
func (st *Stream) addr(s side) netip.AddrPort {
	if s == callerSide {
		return st.CallerAddr
	}
	return st.CalleeAddr
}

func (t *Tracker) unmap(a netip.AddrPort, st *Stream) {
	if r, ok := t.media[a]; ok && r.stream == st {
		delete(t.media, a)
	}
}
