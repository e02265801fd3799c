package sip

import (
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte("INVITE sip:201@x SIP/2.0\r\nf: <sip:a@b>;tag=1\r\ni: c\r\nCSeq: 1 INVITE\r\nc: multipart/mixed;boundary=b\r\nl: 40\r\n\r\n--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--b--"))
	f.Add([]byte("SIP/2.0 200 OK\nContent-Length: 3\n\nabc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		// Everything a tracker calls on a message must be safe.
		ParseAddress(m.Get("from")).Tag()
		User(m.RequestURI)
		Host(m.RequestURI)
		CSeq(m.Get("cseq"))
		URIHeaders(m.Get("refer-to"))
		ParseReplaces(m.Get("replaces"))
		m.Values("via")
		if sdp := m.SDP(); sdp != nil {
			ParseSDP(sdp)
		}
	})
}

func FuzzParseSDP(f *testing.F) {
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=rtcp:4001\r\n"))
	f.Add([]byte("v=0\nm=image 0 udptl t38\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSDP(b)
		if err != nil {
			return
		}
		s.Audio()
		s.HasVideo()
	})
}

func FuzzE164(f *testing.F) {
	f.Add("+441632960001")
	f.Add("9 01632 960001")
	f.Fuzz(func(t *testing.T, s string) {
		n := NumberPlan{OutsidePrefix: "9"}.E164(s)
		if n != "" && (n[0] != '+' || len(n) > 16) {
			t.Fatalf("E164(%q) = %q", s, n)
		}
	})
}

func FuzzParseCrypto(f *testing.F) {
	f.Add("1 AES_CM_128_HMAC_SHA1_80 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj|2^20|1:32")
	f.Add("2 AEAD_AES_128_GCM inline:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, v string) {
		c, err := ParseCrypto(v)
		if err != nil {
			return
		}
		if s := c.String(); len(c.Key) > 0 && strings.Contains(s, string(c.Key)) {
			t.Errorf("String shows the key: %q", s)
		}
	})
}
