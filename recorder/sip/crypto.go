package sip

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Crypto is one SDES a=crypto attribute (RFC 4568 section 9.1): the key a
// side uses to send SRTP. Its key is a secret: its String never shows it.
type Crypto struct {
	Tag   int
	Suite string // upper case: "AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM", …
	Key   []byte // master key ‖ master salt, as the inline parameter gives them
	MKI   []byte // master key identifier, if the line has one
}

// String names the suite and tag, never the key.
func (c Crypto) String() string { return fmt.Sprintf("crypto:%d %s", c.Tag, c.Suite) }

// GoString is String: a key must not reach a log through %#v.
func (c Crypto) GoString() string { return c.String() }

var errCrypto = errors.New("sip: a=crypto")

// ParseCrypto parses the value of an a=crypto attribute:
//
//	1 AES_CM_128_HMAC_SHA1_80 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj|2^20|1:32
//
// Only the first inline key of a line is taken (several are allowed for
// a key change by MKI; the box's peers use one).
func ParseCrypto(v string) (Crypto, error) {
	var c Crypto
	f := strings.Fields(v)
	if len(f) < 3 {
		return c, fmt.Errorf("%w: want tag, suite and key parameters", errCrypto)
	}
	tag, err := strconv.Atoi(f[0])
	if err != nil || tag < 0 || tag > 999999999 {
		return c, fmt.Errorf("%w: tag %q", errCrypto, f[0])
	}
	c.Tag, c.Suite = tag, strings.ToUpper(f[1])
	method, params, ok := strings.Cut(f[2], ":")
	if !ok || !strings.EqualFold(method, "inline") {
		return c, fmt.Errorf("%w: key method %q is not inline", errCrypto, method)
	}
	params, _, _ = strings.Cut(params, ";") // further keys
	parts := strings.Split(params, "|")
	c.Key, err = base64.StdEncoding.DecodeString(parts[0])
	if err != nil {
		// Some devices leave out the padding.
		if c.Key, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(parts[0], "=")); err != nil {
			return c, fmt.Errorf("%w: the key is not base64", errCrypto)
		}
	}
	for _, p := range parts[1:] {
		if mki, length, ok := strings.Cut(p, ":"); ok && !strings.HasPrefix(p, "2^") {
			n, err1 := strconv.ParseUint(mki, 10, 64)
			l, err2 := strconv.Atoi(length)
			if err1 != nil || err2 != nil || l < 1 || l > 128 {
				return c, fmt.Errorf("%w: MKI %q", errCrypto, p)
			}
			c.MKI = make([]byte, l)
			for i := l - 1; i >= 0 && n > 0; i-- {
				c.MKI[i], n = byte(n), n>>8
			}
		}
	}
	return c, nil
}

// Key exchanges an SDP media line may use for SRTP.
const (
	KeyNone  = ""      // plain RTP
	KeySDES  = "sdes"  // a=crypto in the SDP: a tap can decrypt
	KeyDTLS  = "dtls"  // DTLS-SRTP (a=fingerprint, UDP/TLS/RTP/SAVP): keys never on the wire
	KeyMIKEY = "mikey" // a=key-mgmt:mikey, usually public-key protected
	KeyZRTP  = "zrtp"  // a=zrtp-hash: keys agreed in the media path
	KeySRTP  = "srtp"  // RTP/SAVP with no key exchange the box knows
)
