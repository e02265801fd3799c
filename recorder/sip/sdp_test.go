package sip

import "testing"

func TestParseSDP(t *testing.T) {
	body := "v=0\r\no=alice 2890844526 2890844526 IN IP4 host.example\r\ns=-\r\n" +
		"c=IN IP4 192.0.2.10\r\nt=0 0\r\na=sendonly\r\n" +
		"m=audio 49170 RTP/SAVP 0 96 101\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\n" +
		"a=rtcp:49180 IN IP4 192.0.2.11\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\na=ptime:20\r\n" +
		"m=video 51372 RTP/AVP 99\r\nc=IN IP6 2001:db8::5\r\na=rtpmap:99 H264/90000\r\na=recvonly\r\n" +
		"m=image 0 udptl t38\r\n"
	s, err := ParseSDP([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Media) != 3 {
		t.Fatalf("%d media, want 3", len(s.Media))
	}
	a := s.Media[0]
	if a.Type != "audio" || a.Addr.String() != "192.0.2.10:49170" || a.Direction != SendOnly || a.Proto != "RTP/SAVP" {
		t.Errorf("audio = %+v", a)
	}
	if a.RTCP.String() != "192.0.2.11:49180" || len(a.Crypto) != 1 || a.Ptime != 20 {
		t.Errorf("audio rtcp %v crypto %d ptime %d", a.RTCP, len(a.Crypto), a.Ptime)
	}
	want := []Codec{{0, "PCMU", 8000, 1}, {96, "OPUS", 48000, 2}, {101, "TELEPHONE-EVENT", 8000, 1}}
	for i, c := range want {
		if a.Codecs[i] != c {
			t.Errorf("codec %d = %+v, want %+v", i, a.Codecs[i], c)
		}
	}
	v := s.Media[1]
	if v.Type != "video" || v.Addr.String() != "[2001:db8::5]:51372" || v.Direction != RecvOnly || !s.HasVideo() {
		t.Errorf("video = %+v", v)
	}
	if img := s.Media[2]; img.Type != "image" || img.Proto != "udptl" || img.Addr.Port() != 0 {
		t.Errorf("image = %+v", img)
	}
	if len(s.Audio()) != 1 {
		t.Errorf("Audio() = %d lines, want 1", len(s.Audio()))
	}
}

func TestParseSDPErrors(t *testing.T) {
	for _, in := range []string{"", "not sdp", "v=0\r\nm=audio x RTP/AVP 0\r\n"} {
		if _, err := ParseSDP([]byte(in)); err == nil {
			t.Errorf("ParseSDP(%q) = nil error, want one", in)
		}
	}
}
