package sip

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestParseCrypto(t *testing.T) {
	tests := []struct {
		in    string
		tag   int
		suite string
		key   int // bytes
		mki   []byte
		bad   bool
	}{
		{"1 AES_CM_128_HMAC_SHA1_80 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj|2^20|1:32", 1, "AES_CM_128_HMAC_SHA1_80", 30, append(make([]byte, 31), 1), false}, // MKI 1, 32 bytes long
		{"2 aes_cm_128_hmac_sha1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj", 2, "AES_CM_128_HMAC_SHA1_32", 30, nil, false},
		{"3 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw", 3, "AEAD_AES_128_GCM", 28, nil, false}, // no padding
		{"1 AES_CM_128_HMAC_SHA1_80 uri:https://example.com/k", 0, "", 0, nil, true},
		{"x AES_CM_128_HMAC_SHA1_80 inline:AAAA", 0, "", 0, nil, true},
		{"1 AES_CM_128_HMAC_SHA1_80", 0, "", 0, nil, true},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:!!!!", 0, "", 0, nil, true},
	}
	for _, tt := range tests {
		c, err := ParseCrypto(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseCrypto(%q) = %v, want an error", tt.in, c)
			}
			continue
		}
		if err != nil || c.Tag != tt.tag || c.Suite != tt.suite || len(c.Key) != tt.key || !bytes.Equal(c.MKI, tt.mki) {
			t.Errorf("ParseCrypto(%q) = %d %s %d-byte key MKI %v, %v", tt.in, c.Tag, c.Suite, len(c.Key), c.MKI, err)
		}
	}
}

// TestCryptoNeverPrinted: a parsed key reaches no formatted output.
func TestCryptoNeverPrinted(t *testing.T) {
	c, _ := ParseCrypto("1 AES_CM_128_HMAC_SHA1_80 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj")
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c)} {
		if strings.Contains(s, "d0Rm") || strings.Contains(s, string(c.Key[:4])) {
			t.Errorf("the key is printed: %q", s)
		}
	}
}

func TestKeyExchange(t *testing.T) {
	sdp := func(proto, attrs string) string {
		return "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4000 " + proto + " 0\r\n" + attrs
	}
	for _, tt := range []struct{ sdp, want string }{
		{sdp("RTP/AVP", ""), KeyNone},
		{sdp("RTP/SAVP", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj\r\n"), KeySDES},
		{sdp("UDP/TLS/RTP/SAVPF", "a=fingerprint:sha-256 AB:CD\r\n"), KeyDTLS},
		{sdp("RTP/SAVP", "a=key-mgmt:mikey AQAFgM0\r\n"), KeyMIKEY},
		{sdp("RTP/AVP", "a=zrtp-hash:1.10 abcdef\r\n"), KeyZRTP},
		{sdp("RTP/SAVP", ""), KeySRTP},
	} {
		s, err := ParseSDP([]byte(tt.sdp))
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Media[0].KeyExchange; got != tt.want {
			t.Errorf("key exchange of %q = %q, want %q", tt.sdp[strings.Index(tt.sdp, "m="):], got, tt.want)
		}
	}
}
