package track

import (
	"errors"
	"fmt"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"callrec/recorder/sip"
)

// profiles are the SDES crypto suites (RFC 4568, RFC 6188, RFC 7714) the
// box decrypts, as pion/srtp names them.
var profiles = map[string]srtp.ProtectionProfile{
	"AES_CM_128_HMAC_SHA1_80": srtp.ProtectionProfileAes128CmHmacSha1_80,
	"AES_CM_128_HMAC_SHA1_32": srtp.ProtectionProfileAes128CmHmacSha1_32,
	"AES_256_CM_HMAC_SHA1_80": srtp.ProtectionProfileAes256CmHmacSha1_80,
	"AES_256_CM_HMAC_SHA1_32": srtp.ProtectionProfileAes256CmHmacSha1_32,
	"AEAD_AES_128_GCM":        srtp.ProtectionProfileAeadAes128Gcm,
	"AEAD_AES_256_GCM":        srtp.ProtectionProfileAeadAes256Gcm,
}

// decrypter is one sending side's SRTP state: the context of its current
// key, and of the key before a re-key, for packets still in flight. It
// lives in memory only; keys are never logged, stored or printed.
type decrypter struct {
	line      string // the a=crypto line cur was made from
	cur, prev *srtp.Context
	ok        map[uint32]bool // SSRCs that have decrypted: their rollover counter is known
	hdr       rtp.Header
}

// newContext makes an SRTP context from an a=crypto line.
func newContext(line string) (*srtp.Context, error) {
	c, err := sip.ParseCrypto(line)
	if err != nil {
		return nil, err
	}
	profile, ok := profiles[c.Suite]
	if !ok {
		return nil, fmt.Errorf("crypto suite %s not supported", c.Suite)
	}
	kl, _ := profile.KeyLen()
	sl, _ := profile.SaltLen()
	if len(c.Key) != kl+sl {
		return nil, fmt.Errorf("%s: a %d-byte key and salt, want %d", c.Suite, len(c.Key), kl+sl)
	}
	var opts []srtp.ContextOption
	if len(c.MKI) > 0 {
		opts = append(opts, srtp.MasterKeyIndicator(c.MKI))
	}
	return srtp.CreateContext(c.Key[:kl], c.Key[kl:], profile, opts...)
}

// keyLine is the a=crypto line side s sends with: of its lines, the one
// whose tag the other side answered with (RFC 4568 section 5.1.3).
func (st *Stream) keyLine(s side) string {
	own, theirs := st.keys[s-1], st.keys[other(s)-1]
	if len(own) == 0 {
		return ""
	}
	if len(own) > 1 && len(theirs) > 0 {
		if answered, err := sip.ParseCrypto(theirs[0]); err == nil {
			for _, l := range own {
				if c, err := sip.ParseCrypto(l); err == nil && c.Tag == answered.Tag {
					return l
				}
			}
		}
	}
	return own[0]
}

var errNoKey = errors.New("no SDES key for this side")

// decrypt returns the plaintext RTP packet of an SRTP packet from side s,
// written into dst.
func (st *Stream) decrypt(s side, dst, pkt []byte) ([]byte, error) {
	line := st.keyLine(s)
	if line == "" {
		return nil, errNoKey
	}
	d := &st.srtp[s-1]
	if d.line != line {
		// A new key (a re-INVITE): keep the old context for late packets.
		ctx, err := newContext(line)
		if err != nil {
			return nil, err
		}
		d.prev, d.cur, d.line, d.ok = d.cur, ctx, line, map[uint32]bool{}
	}
	out, err := d.cur.DecryptRTP(dst, pkt, &d.hdr)
	if err == nil {
		d.ok[d.hdr.SSRC] = true
		return out, nil
	}
	if d.prev != nil {
		if out, perr := d.prev.DecryptRTP(dst, pkt, &d.hdr); perr == nil {
			return out, nil
		}
	}
	if !d.ok[d.hdr.SSRC] && len(d.ok) < 64 {
		// Joined a stream whose rollover counter has already moved on (a
		// call in progress at start, after 65536 packets): try the next few.
		for roc := uint32(1); roc < 8; roc++ {
			d.cur.SetROC(d.hdr.SSRC, roc)
			if out, rerr := d.cur.DecryptRTP(dst, pkt, &d.hdr); rerr == nil {
				d.ok[d.hdr.SSRC] = true
				return out, nil
			}
		}
		d.cur.SetROC(d.hdr.SSRC, 0)
	}
	return nil, err
}
