package capturetest

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"
)

// Party is one SIP user agent in a synthetic call.
type Party struct {
	User string         // URI user part: "201", "+441632960001"
	SIP  netip.AddrPort // signalling address
	RTP  netip.AddrPort // where it receives media
	Tag  string
	// Video, if set, is where it receives video: its SDP then offers an
	// H.264 line beside the audio.
	Video netip.AddrPort
	// Crypto, if set, are the SDES a=crypto values of its audio line
	// ("1 AES_CM_128_HMAC_SHA1_80 inline:…"), which is then RTP/SAVP.
	Crypto []string
}

// Dialog builds the SIP messages of one call between two parties.
type Dialog struct {
	CallID         string
	Caller, Callee Party
	cseq           int
	confirmed      bool // a 2xx answered the INVITE: requests carry the To tag
}

// Request builds a request from the caller (fromCaller) or the callee,
// with an SDP body offering PCMU (0) and telephone-event (101) unless dir
// is "" (no body). Extra headers are "Name: value" lines.
func (d *Dialog) Request(method string, fromCaller bool, dir string, extra ...string) []byte {
	d.cseq++
	from, to := d.Caller, d.Callee
	if !fromCaller {
		from, to = to, from
	}
	toTag := ""
	if d.confirmed && to.Tag != "" {
		toTag = ";tag=" + to.Tag
	}
	return message(fmt.Sprintf("%s sip:%s@%s SIP/2.0", method, to.User, to.SIP), d.headers(from, to, toTag, method, d.cseq, extra), sdp(from, dir))
}

// Response builds a response from the side that did not send the request
// with the given CSeq method; fromCallee says the callee answers.
func (d *Dialog) Response(status int, reason, method string, fromCallee bool, dir string, extra ...string) []byte {
	caller, callee := d.Caller, d.Callee
	responder := callee
	if !fromCallee {
		caller, callee = callee, caller
		responder = callee
	}
	_ = responder
	if method == "INVITE" && status >= 200 && status < 300 {
		d.confirmed = true
	}
	toTag := ""
	if status > 100 && callee.Tag != "" {
		toTag = ";tag=" + callee.Tag
	}
	return message(fmt.Sprintf("SIP/2.0 %d %s", status, reason), d.headers(caller, callee, toTag, method, d.cseq, extra), sdp(callee, dir))
}

func (d *Dialog) headers(from, to Party, toTag, method string, cseq int, extra []string) []string {
	h := []string{
		fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=z9hG4bK%s%d", from.SIP, d.CallID, cseq),
		fmt.Sprintf("From: <sip:%s@%s>;tag=%s", from.User, from.SIP.Addr(), from.Tag),
		fmt.Sprintf("To: <sip:%s@%s>%s", to.User, to.SIP.Addr(), toTag),
		"Call-ID: " + d.CallID,
		fmt.Sprintf("CSeq: %d %s", cseq, method),
		fmt.Sprintf("Contact: <sip:%s@%s>", from.User, from.SIP),
		"Max-Forwards: 70",
	}
	return append(h, extra...)
}

func message(start string, headers []string, body string) []byte {
	var b strings.Builder
	b.WriteString(start + "\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return []byte(b.String())
}

func sdp(p Party, dir string) string {
	if dir == "" {
		return ""
	}
	ip := "IP4"
	if p.RTP.Addr().Is6() {
		ip = "IP6"
	}
	proto := "RTP/AVP"
	if len(p.Crypto) > 0 {
		proto = "RTP/SAVP"
	}
	s := fmt.Sprintf("v=0\r\no=- 1 1 IN %s %s\r\ns=-\r\nc=IN %s %s\r\nt=0 0\r\nm=audio %d %s 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=%s\r\n",
		ip, p.RTP.Addr(), ip, p.RTP.Addr(), p.RTP.Port(), proto, dir)
	for _, c := range p.Crypto {
		s += "a=crypto:" + c + "\r\n"
	}
	if p.Video.IsValid() {
		s += fmt.Sprintf("m=video %d RTP/AVP 96\r\nc=IN %s %s\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 profile-level-id=42e01f;packetization-mode=1\r\na=%s\r\n",
			p.Video.Port(), ip, p.Video.Addr(), dir)
	}
	return s
}

// VideoStream makes n H.264 RTP packets (payload type 96, 90 kHz clock,
// 30 frames a second, two packets a frame) from src to dst from t0.
func VideoStream(src, dst netip.AddrPort, ssrc uint32, t0 time.Time, n int) []Frame {
	out := make([]Frame, 0, n)
	payload := make([]byte, 900)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	for i := range n {
		frame := i / 2
		payload[0] = 0x5c // FU-A indicator (RFC 6184 5.8)
		p := RTP(96, uint16(i), uint32(frame*3000), ssrc, i%2 == 1, payload)
		at := t0.Add(time.Duration(frame) * time.Second / 30).Add(time.Duration(i%2) * time.Millisecond)
		out = append(out, Frame{Time: at, Data: UDPFrame(src, dst, p)})
	}
	return out
}

// RTP builds an RTP packet.
func RTP(pt uint8, seq uint16, ts, ssrc uint32, marker bool, payload []byte) []byte {
	h := make([]byte, 12, 12+len(payload))
	h[0] = 0x80
	h[1] = pt
	if marker {
		h[1] |= 0x80
	}
	binary.BigEndian.PutUint16(h[2:], seq)
	binary.BigEndian.PutUint32(h[4:], ts)
	binary.BigEndian.PutUint32(h[8:], ssrc)
	return append(h, payload...)
}

// Stream makes n 20 ms G.711 µ-law RTP frames from src to dst starting at
// t0, the payload of packet i filled by fill(i) (160 bytes).
func Stream(src, dst netip.AddrPort, ssrc uint32, t0 time.Time, n int, fill func(i int) []byte) []Frame {
	return StreamFrom(src, dst, ssrc, 0, t0, n, fill)
}

// StreamFrom is Stream with the first sequence number given (to cross the
// 16-bit wrap, say).
func StreamFrom(src, dst netip.AddrPort, ssrc uint32, seq0 uint16, t0 time.Time, n int, fill func(i int) []byte) []Frame {
	out := make([]Frame, 0, n)
	for i := range n {
		p := RTP(0, seq0+uint16(i), uint32(i*160), ssrc, i == 0, fill(i))
		out = append(out, Frame{Time: t0.Add(time.Duration(i) * 20 * time.Millisecond), Data: UDPFrame(src, dst, p)})
	}
	return out
}

// Silence is a 20 ms µ-law payload of silence.
func Silence(int) []byte {
	b := make([]byte, 160)
	for i := range b {
		b[i] = 0xff
	}
	return b
}

// ULaw compresses linear samples to G.711 µ-law (ITU-T G.711), so tests
// can send known audio.
func ULaw(pcm []int16) []byte {
	out := make([]byte, len(pcm))
	for i, s := range pcm {
		v := int32(s)
		sign := byte(0x80)
		if v < 0 {
			v, sign = -v, 0
		}
		v = min(v+0x84, 0x7fff)
		exp := 7
		for mask := int32(0x4000); exp > 0 && v&mask == 0; mask >>= 1 {
			exp--
		}
		mant := byte(v>>(uint(exp)+3)) & 0x0f
		out[i] = ^(sign | byte(exp)<<4 | mant) ^ 0x80
	}
	return out
}

// ToneCall scripts a complete call between two parties whose audio is a
// tone each (callerHz, calleeHz, 8 kHz µ-law) for the given time.
func ToneCall(d *Dialog, t0 time.Time, dur time.Duration, callerHz, calleeHz float64) []Frame {
	n := int(dur / (20 * time.Millisecond))
	tone := func(hz float64, i int) []byte {
		pcm := make([]int16, 160)
		for j := range pcm {
			pcm[j] = int16(8000 * math.Sin(2*math.Pi*hz*float64(i*160+j)/8000))
		}
		return ULaw(pcm)
	}
	return AudioCall(d, t0, n, func(i int) []byte { return tone(callerHz, i) }, func(i int) []byte { return tone(calleeHz, i) })
}

// AudioCall scripts a complete call of n 20 ms µ-law packets each way, the
// payloads given by caller(i) and callee(i).
func AudioCall(d *Dialog, t0 time.Time, n int, caller, callee func(i int) []byte) []Frame {
	a, b := d.Caller, d.Callee
	var out []Frame
	at := t0
	add := func(from, to Party, msg []byte) {
		out = append(out, Frame{Time: at, Data: UDPFrame(from.SIP, to.SIP, msg)})
		at = at.Add(5 * time.Millisecond)
	}
	add(a, b, d.Request("INVITE", true, "sendrecv"))
	add(b, a, d.Response(180, "Ringing", "INVITE", true, ""))
	add(b, a, d.Response(200, "OK", "INVITE", true, "sendrecv"))
	add(a, b, d.Request("ACK", true, ""))
	fa := Stream(a.RTP, b.RTP, 0xa1, at, n, caller)
	fb := Stream(b.RTP, a.RTP, 0xb2, at.Add(7*time.Millisecond), n, callee)
	for i := range n {
		out = append(out, fa[i], fb[i])
	}
	at = at.Add(time.Duration(n)*20*time.Millisecond + 10*time.Millisecond)
	add(a, b, d.Request("BYE", true, ""))
	add(b, a, d.Response(200, "OK", "BYE", true, ""))
	return out
}
