package sip

import (
	"strings"
	"testing"
)

func TestParseRequest(t *testing.T) {
	raw := "INVITE sip:201@pbx.example SIP/2.0\r\n" +
		"v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n" +
		"f: \"Reception\" <sip:200@pbx.example>;tag=abc\r\n" +
		"t: <sip:201@pbx.example>\r\n" +
		"i: call-1@192.0.2.1\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"Subject: a header\r\n  folded over\r\n\tthree lines\r\n" +
		"c: application/sdp\r\n" +
		"l: 5\r\n\r\nv=0\r\nignored beyond Content-Length"
	m, err := Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ got, want string }{
		{m.Method, "INVITE"},
		{m.RequestURI, "sip:201@pbx.example"},
		{m.Get("via"), "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1"},
		{m.Get("call-id"), "call-1@192.0.2.1"},
		{m.Get("subject"), "a header folded over three lines"},
		{m.Get("content-type"), "application/sdp"},
		{string(m.Body), "v=0\r\n"},
		{ParseAddress(m.Get("from")).Tag(), "abc"},
		{ParseAddress(m.Get("from")).Display, "Reception"},
		{User(ParseAddress(m.Get("to")).URI), "201"},
	}
	for i, c := range checks {
		if c.got != c.want {
			t.Errorf("check %d: got %q, want %q", i, c.got, c.want)
		}
	}
}

func TestParseResponseLFOnly(t *testing.T) {
	m, err := Parse([]byte("SIP/2.0 180 Ringing\nCall-ID: x\nCSeq: 2 INVITE\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != 180 || m.Reason != "Ringing" || m.Get("call-id") != "x" || m.IsRequest() {
		t.Fatalf("got %+v", m)
	}
	if n, method := CSeq(m.Get("cseq")); n != 2 || method != "INVITE" {
		t.Errorf("CSeq = %d %s, want 2 INVITE", n, method)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"", "hello world", "HTTP/1.1 200 OK\r\n\r\n", "SIP/2.0 abc OK\r\n\r\n", "INVITE sip:x HTTP/1.1\r\n\r\n", "SIP/2.0 99 Low\r\n\r\n"} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) = nil error, want one", in)
		}
	}
}

func TestTruncatedBody(t *testing.T) {
	m, err := Parse([]byte("SIP/2.0 200 OK\r\nContent-Length: 100\r\n\r\nshort"))
	if err != nil || !m.Truncated || string(m.Body) != "short" {
		t.Fatalf("got %+v, %v; want the short body kept and flagged", m, err)
	}
}

func TestMultipartSDP(t *testing.T) {
	raw := "INVITE sip:x@y SIP/2.0\r\nContent-Type: multipart/mixed;boundary=unique-boundary-1\r\n\r\n" +
		"--unique-boundary-1\r\nContent-Type: application/isup\r\n\r\nbinary\r\n" +
		"--unique-boundary-1\nContent-Type: application/sdp\n\nv=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 8\n" +
		"--unique-boundary-1--\r\n"
	m, err := Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSDP(m.SDP())
	if err != nil {
		t.Fatalf("ParseSDP(%q) = %v", m.SDP(), err)
	}
	if len(s.Media) != 1 || s.Media[0].Addr.String() != "192.0.2.1:4000" || s.Media[0].Codecs[0].Name != "PCMA" {
		t.Fatalf("got %+v", s.Media)
	}
}

func TestSplitComma(t *testing.T) {
	got := splitComma(`"Smith, J" <sip:a@x>;tag=1, <sip:b@y;p=1,2>, sip:c@z`)
	if len(got) != 3 || !strings.HasPrefix(got[0], `"Smith, J"`) || got[1] != "<sip:b@y;p=1,2>" {
		t.Fatalf("splitComma = %q", got)
	}
}

func TestLooksLikeSIP(t *testing.T) {
	for in, want := range map[string]bool{
		"INVITE sip:x SIP/2.0\r\n":        true,
		"\r\nSIP/2.0 200 OK\r\n":          true,
		"OPTIONS sip:x@y;a=b SIP/2.0\n":   true,
		"GET / HTTP/1.1\r\n":              false,
		"\x80\x00\x01\x02 rtp junk":       false,
		"INVITE sip:x SIP/2.0 no newline": false,
	} {
		if got := LooksLikeSIP([]byte(in)); got != want {
			t.Errorf("LooksLikeSIP(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestURIHelpers(t *testing.T) {
	tests := []struct{ uri, user, host string }{
		{"sip:+441632960001@trunk.example:5060;user=phone", "+441632960001", "trunk.example"},
		{"sips:201:secret@[2001:db8::1]:5061", "201", "2001:db8::1"},
		{"tel:+44-1632-960001;phone-context=x", "+44-1632-960001", ""},
		{"sip:pbx.example", "", "pbx.example"},
	}
	for _, tt := range tests {
		if u := User(tt.uri); u != tt.user {
			t.Errorf("User(%q) = %q, want %q", tt.uri, u, tt.user)
		}
		if h := Host(tt.uri); tt.host != "" && h != tt.host {
			t.Errorf("Host(%q) = %q, want %q", tt.uri, h, tt.host)
		}
	}
	hs := URIHeaders("sip:c@x?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2")
	r := ParseReplaces(hs["replaces"])
	if r != (Replaces{"abc@host", "1", "2"}) {
		t.Errorf("Replaces = %+v", r)
	}
}
