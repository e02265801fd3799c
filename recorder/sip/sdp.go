package sip

import (
	"bytes"
	"fmt"
	"mime"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Direction is an SDP media direction attribute (RFC 8866 section 6.7).
type Direction uint8

const (
	SendRecv Direction = iota // the default
	SendOnly
	RecvOnly
	Inactive
)

func (d Direction) String() string {
	return [...]string{"sendrecv", "sendonly", "recvonly", "inactive"}[d]
}

// Codec is one payload type of a media line.
type Codec struct {
	PT       uint8
	Name     string // upper case: "PCMU", "OPUS", "TELEPHONE-EVENT"
	Rate     int
	Channels int
}

// Media is one m= line: where its sender wants to receive.
type Media struct {
	Type      string         // "audio", "video", "image"…
	Addr      netip.AddrPort // c= address and m= port (port 0: refused)
	RTCP      netip.AddrPort // a=rtcp, else port+1
	Proto     string         // "RTP/AVP", "RTP/SAVP", "udptl"…
	Codecs    []Codec        // in order of preference
	Direction Direction
	Crypto    []string // a=crypto lines, for SRTP (SDES)
	Ptime     int      // ms, 0 if not given
	// KeyExchange says how SRTP keys are agreed for this line (KeySDES,
	// KeyDTLS, …), or KeyNone for plain RTP.
	KeyExchange string
}

// Session is a parsed session description.
type Session struct {
	Origin string // o= username and session id, for logs
	Media  []Media
}

// Audio returns the audio media lines.
func (s *Session) Audio() []Media {
	var out []Media
	for _, m := range s.Media {
		if m.Type == "audio" {
			out = append(out, m)
		}
	}
	return out
}

// HasVideo reports whether any video line is offered with a port.
func (s *Session) HasVideo() bool {
	for _, m := range s.Media {
		if m.Type == "video" && m.Addr.Port() != 0 {
			return true
		}
	}
	return false
}

// staticCodecs are the static payload types of RFC 3551 Table 4.
var staticCodecs = map[uint8]Codec{
	0: {0, "PCMU", 8000, 1}, 3: {3, "GSM", 8000, 1}, 4: {4, "G723", 8000, 1},
	5: {5, "DVI4", 8000, 1}, 6: {6, "DVI4", 16000, 1}, 7: {7, "LPC", 8000, 1},
	8: {8, "PCMA", 8000, 1}, 9: {9, "G722", 8000, 1}, 10: {10, "L16", 44100, 2},
	11: {11, "L16", 44100, 1}, 12: {12, "QCELP", 8000, 1}, 13: {13, "CN", 8000, 1},
	14: {14, "MPA", 90000, 1}, 15: {15, "G728", 8000, 1}, 16: {16, "DVI4", 11025, 1},
	17: {17, "DVI4", 22050, 1}, 18: {18, "G729", 8000, 1},
	26: {26, "JPEG", 90000, 0}, 31: {31, "H261", 90000, 0}, 32: {32, "MPV", 90000, 0},
	34: {34, "H263", 90000, 0},
}

// StaticCodec returns the codec of a static payload type.
func StaticCodec(pt uint8) (Codec, bool) {
	c, ok := staticCodecs[pt]
	return c, ok
}

// SDP returns the session description in a message body: the body itself
// for application/sdp, or the SDP part of a multipart body.
func (m *Message) SDP() []byte {
	if len(m.Body) == 0 {
		return nil
	}
	ct := m.Get("content-type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.Split(ct, ";")[0]))
	}
	switch {
	case mt == "application/sdp" || (ct == "" && bytes.HasPrefix(m.Body, []byte("v=0"))):
		return m.Body
	case strings.HasPrefix(mt, "multipart/"):
		return sdpPart(m.Body, params["boundary"])
	}
	return nil
}

// sdpPart finds the application/sdp part of a multipart body (RFC 2046
// section 5.1), tolerating LF-only lines.
func sdpPart(body []byte, boundary string) []byte {
	if boundary == "" {
		return nil
	}
	delim := []byte("--" + boundary)
	parts := bytes.Split(body, delim)
	for _, p := range parts[1:] {
		if bytes.HasPrefix(p, []byte("--")) {
			break // the closing delimiter
		}
		p = bytes.TrimLeft(p, "\r\n")
		end, sep := bytes.Index(p, []byte("\r\n\r\n")), 4
		if lf := bytes.Index(p, []byte("\n\n")); lf >= 0 && (end < 0 || lf < end) {
			end, sep = lf, 2
		}
		if end < 0 {
			continue
		}
		if bytes.Contains(bytes.ToLower(p[:end]), []byte("application/sdp")) {
			return bytes.TrimRight(p[end+sep:], "\r\n")
		}
	}
	return nil
}

// ParseSDP parses a session description with pion/sdp. Lines pion does
// not accept in place (a stray attribute before the first m=, LF-only line
// ends) are tolerated by normalising first.
func ParseSDP(b []byte) (*Session, error) {
	var sd sdp.SessionDescription
	text, types := normaliseSDP(b)
	if !strings.HasPrefix(text, "v=") {
		return nil, fmt.Errorf("sip: sdp: does not start with v=")
	}
	if err := sd.UnmarshalString(text); err != nil {
		return nil, fmt.Errorf("sip: sdp: %w", err)
	}
	s := &Session{Origin: sd.Origin.Username + " " + strconv.FormatUint(sd.Origin.SessionID, 10)}
	sessionAddr := connAddr(sd.ConnectionInformation)
	sessionDir := direction(sd.Attributes, SendRecv)
	sessionKeys := keyExchange(sd.Attributes, "")
	for i, md := range sd.MediaDescriptions {
		m := Media{
			Type:      strings.ToLower(md.MediaName.Media),
			Proto:     strings.Join(md.MediaName.Protos, "/"),
			Direction: direction(md.Attributes, sessionDir),
		}
		if i < len(types) && types[i] != "" {
			m.Type, m.Proto, _ = strings.Cut(types[i], " ")
		}
		addr := connAddr(md.ConnectionInformation)
		if !addr.IsValid() {
			addr = sessionAddr
		}
		port := md.MediaName.Port.Value
		if addr.IsValid() && port >= 0 && port < 65536 {
			m.Addr = netip.AddrPortFrom(addr, uint16(port))
			m.RTCP = netip.AddrPortFrom(addr, uint16(port+1))
		}
		rtpmap := map[uint8]Codec{}
		for _, a := range md.Attributes {
			switch strings.ToLower(a.Key) {
			case "rtpmap":
				if c, ok := parseRtpmap(a.Value); ok {
					rtpmap[c.PT] = c
				}
			case "rtcp":
				if p, rest, _ := strings.Cut(a.Value, " "); p != "" {
					if n, err := strconv.Atoi(p); err == nil && n > 0 && n < 65536 && addr.IsValid() {
						ra := addr
						if f := strings.Fields(rest); len(f) == 3 {
							if x, err := netip.ParseAddr(f[2]); err == nil {
								ra = x
							}
						}
						m.RTCP = netip.AddrPortFrom(ra, uint16(n))
					}
				}
			case "rtcp-mux":
				m.RTCP = m.Addr
			case "crypto":
				m.Crypto = append(m.Crypto, a.Value)
			case "ptime":
				m.Ptime, _ = strconv.Atoi(strings.TrimSpace(a.Value))
			}
		}
		for _, f := range md.MediaName.Formats {
			n, err := strconv.Atoi(f)
			if err != nil || n < 0 || n > 127 {
				continue // udptl, t38 and other non-RTP formats
			}
			pt := uint8(n)
			c, ok := rtpmap[pt]
			if !ok {
				c, ok = staticCodecs[pt]
			}
			if !ok {
				c = Codec{PT: pt, Name: "PT" + f}
			}
			m.Codecs = append(m.Codecs, c)
		}
		m.KeyExchange = keyExchange(md.Attributes, sessionKeys)
		if m.KeyExchange == KeyNone && strings.Contains(strings.ToUpper(m.Proto), "SAVP") {
			m.KeyExchange = KeySRTP
			if strings.Contains(strings.ToUpper(m.Proto), "TLS") {
				m.KeyExchange = KeyDTLS
			}
		}
		s.Media = append(s.Media, m)
	}
	return s, nil
}

// keyExchange reads how a media line's SRTP keys are agreed from its
// attributes, falling back to the session's.
func keyExchange(attrs []sdp.Attribute, session string) string {
	for _, a := range attrs {
		switch strings.ToLower(a.Key) {
		case "crypto":
			return KeySDES
		case "fingerprint":
			return KeyDTLS
		case "zrtp-hash":
			return KeyZRTP
		case "key-mgmt":
			return KeyMIKEY
		}
	}
	return session
}

func connAddr(ci *sdp.ConnectionInformation) netip.Addr {
	if ci == nil || ci.Address == nil {
		return netip.Addr{}
	}
	host, _, _ := strings.Cut(ci.Address.Address, "/") // multicast TTL
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a
}

func direction(attrs []sdp.Attribute, def Direction) Direction {
	for _, a := range attrs {
		switch strings.ToLower(a.Key) {
		case "sendrecv":
			return SendRecv
		case "sendonly":
			return SendOnly
		case "recvonly":
			return RecvOnly
		case "inactive":
			return Inactive
		}
	}
	return def
}

// parseRtpmap parses "96 opus/48000/2".
func parseRtpmap(v string) (Codec, bool) {
	pt, enc, ok := strings.Cut(strings.TrimSpace(v), " ")
	n, err := strconv.Atoi(pt)
	if !ok || err != nil || n < 0 || n > 127 {
		return Codec{}, false
	}
	parts := strings.Split(strings.TrimSpace(enc), "/")
	c := Codec{PT: uint8(n), Name: strings.ToUpper(parts[0]), Channels: 1}
	if len(parts) > 1 {
		c.Rate, _ = strconv.Atoi(parts[1])
	}
	if len(parts) > 2 {
		c.Channels, _ = strconv.Atoi(parts[2])
	}
	return c, true
}

// pionMedia are the media types pion/sdp accepts on an m= line.
var pionMedia = map[string]bool{"audio": true, "video": true, "text": true, "application": true, "message": true}

// normaliseSDP gives pion CRLF lines with no blanks or junk lines, and
// stands "application UDP" in for media types pion does not know (T.38's
// "image udptl"); types holds the original type and protocol of each m=
// line so replaced.
func normaliseSDP(b []byte) (text string, types []string) {
	var sb strings.Builder
	sb.Grow(len(b) + 32)
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if len(l) < 2 || l[1] != '=' {
			continue
		}
		if l[0] == 'm' {
			f := strings.Fields(l[2:])
			if len(f) >= 3 && !pionMedia[strings.ToLower(f[0])] {
				types = append(types, strings.ToLower(f[0])+" "+f[2])
				f[0], f[2] = "application", "UDP"
				l = "m=" + strings.Join(f, " ")
			} else {
				types = append(types, "")
			}
		}
		sb.WriteString(l)
		sb.WriteString("\r\n")
	}
	return sb.String(), types
}
