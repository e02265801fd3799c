package track

import (
	"encoding/binary"
	"errors"
	"strconv"
	"strings"

	"callrec/recorder/capture"
	"callrec/recorder/sip"
)

// rtp counts a UDP datagram that is not SIP: RTP of a known stream, RTCP,
// or a candidate for an unannounced stream.
func (t *Tracker) rtp(d *capture.Datagram) {
	p := d.Payload
	if isZRTP(p) {
		t.zrtp(d)
		return
	}
	if len(p) < 12 || p[0]>>6 != 2 {
		t.stats.NotRTP++
		return
	}
	if p[1] >= 200 && p[1] <= 204 { // RTCP SR, RR, SDES, BYE, APP (RFC 3550)
		t.stats.RTCPPackets++
		return
	}
	if len(t.dormantMedia) > 0 {
		t.wakeByMedia(d.Src, d.Dst, true) // before a shared address could take the packet
	}
	ref, ok := t.media[d.Dst]
	toward := ref.receiver
	if ok {
		// Where one address serves several calls at once (a media server,
		// an echo), the sender's address tells them apart: prefer the
		// stream whose other side is the sender.
		if peer := ref.stream.addr(other(ref.receiver)); peer.IsValid() && peer != d.Src {
			if r2, ok2 := t.media[d.Src]; ok2 && r2.stream.addr(other(r2.receiver)) == d.Dst {
				ref, toward = r2, other(r2.receiver)
			}
		}
	} else if ref, ok = t.media[d.Src]; ok {
		// Symmetric RTP: a side sends from where it receives.
		toward = other(ref.receiver)
	}
	if !ok && len(t.dormantMedia) > 0 && t.wakeByMedia(d.Src, d.Dst, false) {
		t.rtp(d) // the resumed call's streams are mapped now
		return
	}
	if !ok {
		t.candidate(d)
		return
	}
	st := ref.stream
	c := st.leg.call
	if c.state == stateEnded {
		t.stats.RTPLate++
		return
	}
	c.lastActivity = t.now
	if !c.responded {
		t.heard(c)
	}
	if toward == calleeSide {
		st.CallerToCallee++
	} else {
		st.CalleeToCaller++
	}
	if st.Kind == "video" {
		t.stats.VideoPackets++
		return // counted with its call, never recorded
	}
	t.stats.RTPPackets++
	if st.Crypto {
		sender := callerSide
		if toward == callerSide {
			sender = calleeSide
		}
		plain, err := st.decrypt(sender, t.plain[:0], p)
		if err != nil {
			// Ciphertext would decode as noise: the packet is dropped, and
			// the call says why its audio is missing.
			t.stats.SRTPFailed++
			if st.KeyExchange == sip.KeySDES {
				c.flag("srtp_undecryptable:" + srtpReason(err))
			}
			return
		}
		t.stats.SRTPDecrypted++
		t.plain = plain
		dd := *d
		dd.Payload = plain
		d, p = &dd, plain
	}
	pt := p[1] & 0x7f
	st.seenPT[pt>>6] |= 1 << (pt & 63)
	if st.pts[pt] == "TELEPHONE-EVENT" {
		t.telephoneEvent(st, p, toward == calleeSide)
		return
	}
	if t.cfg.OnRTP != nil {
		t.cfg.OnRTP(st, toward == calleeSide, d)
	}
}

// telephoneEvent reports a DTMF digit from an RFC 4733 packet once, at
// the first packet of the event (section 2.5.1.2: one timestamp per event).
func (t *Tracker) telephoneEvent(st *Stream, p []byte, fromCaller bool) {
	off := 12 + 4*int(p[0]&0x0f)
	if p[0]&0x10 != 0 { // header extension
		if len(p) < off+4 {
			return
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(p[off+2:]))
	}
	if len(p) < off+4 {
		return
	}
	ts := binary.BigEndian.Uint32(p[4:])
	side := 0
	if fromCaller {
		side = 1
	}
	event := p[off]
	if st.dtmfAny[side] && ts == st.lastDTMF[side] && event == st.lastEvent[side] {
		return // the same event again (its packets repeat it)
	}
	const digits = "0123456789*#ABCD"
	if int(event) >= len(digits) {
		return // flash and tones are not digits
	}
	st.lastDTMF[side], st.lastEvent[side], st.dtmfAny[side] = ts, event, true
	t.emit(Event{Kind: DTMF, Time: t.now, Call: st.leg.call, Stream: st, Digit: string(digits[event]), Detail: "rfc4733", FromCaller: fromCaller})
}

// supported are the codecs the audio pipeline decodes.
var supported = map[string]bool{
	"PCMU": true, "PCMA": true, "G722": true, "OPUS": true, "L16": true,
	"TELEPHONE-EVENT": true, "CN": true,
}

// unsupportedCodecs flags audio codecs seen on the wire that the pipeline
// cannot decode; that side of the recording will be silent.
func (c *Call) unsupportedCodecs() {
	for _, l := range c.Legs {
		for _, st := range l.Media {
			for pt := 0; pt < 128; pt++ {
				if st.seenPT[pt>>6]&(1<<(pt&63)) == 0 {
					continue
				}
				name, ok := st.pts[uint8(pt)]
				if !ok {
					if sc, found := sip.StaticCodec(uint8(pt)); found {
						name = sc.Name
					} else {
						name = "PT" + strconv.Itoa(pt)
					}
				}
				if !supported[name] {
					c.flag("unsupported_codec:" + strings.ToLower(name))
				}
			}
		}
	}
}

// srtpReason names why an SDES stream did not decrypt, for the call's flag.
func srtpReason(err error) string {
	if errors.Is(err, errNoKey) {
		return "no_key"
	}
	return "auth_failed"
}

// isZRTP reports whether a UDP payload is a ZRTP message (RFC 6189
// section 5: version bits 0001, the magic cookie "ZRTP").
func isZRTP(p []byte) bool {
	return len(p) >= 12 && p[0] == 0x10 && string(p[4:8]) == "ZRTP"
}

// zrtp marks a call whose media agrees SRTP keys with ZRTP: from here on
// its audio is encrypted with keys a tap never sees.
func (t *Tracker) zrtp(d *capture.Datagram) {
	ref, ok := t.media[d.Dst]
	if !ok {
		ref, ok = t.media[d.Src]
	}
	if !ok {
		t.stats.NotRTP++
		return
	}
	t.stats.ZRTPPackets++
	st := ref.stream
	st.Crypto, st.KeyExchange = true, sip.KeyZRTP
	st.leg.call.flag("srtp")
	st.leg.call.flag("srtp_undecryptable:" + sip.KeyZRTP)
}
