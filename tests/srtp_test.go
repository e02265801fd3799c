package tests

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pion/srtp/v3"

	ct "callrec/recorder/capture/capturetest"
)

// TestSRTPCallRecorded: a call whose SDP carries SDES keys over plain SIP
// is recorded with both parties' audio, not as silence; and no key
// reaches inspect's output.
func TestSRTPCallRecorded(t *testing.T) {
	p := func(user, ip, tag string) ct.Party {
		a := netip.MustParseAddr(ip)
		return ct.Party{User: user, SIP: netip.AddrPortFrom(a, 5060), RTP: netip.AddrPortFrom(a, 4000), Tag: tag}
	}
	ka, _ := ct.NewSDES(1, "AES_CM_128_HMAC_SHA1_80", srtp.ProtectionProfileAes128CmHmacSha1_80, 11)
	kb, _ := ct.NewSDES(1, "AES_CM_128_HMAC_SHA1_80", srtp.ProtectionProfileAes128CmHmacSha1_80, 22)
	a, b := p("201", "10.0.0.11", "a"), p("+441632960001", "203.0.113.7", "b")
	a.Crypto, b.Crypto = []string{ka.Line}, []string{kb.Line}
	d := &ct.Dialog{CallID: "srtp-1@10.0.0.11", Caller: a, Callee: b}
	frames := ct.ToneCall(d, time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), 3*time.Second, 500, 900)
	// Encrypt each side's media with its own key.
	for i := range frames {
		for _, side := range []struct {
			from ct.Party
			key  *ct.SDES
		}{{a, ka}, {b, kb}} {
			src := append(side.from.RTP.Addr().AsSlice(), byte(side.from.RTP.Port()>>8), byte(side.from.RTP.Port()))
			if bytes.Contains(frames[i].Data[14+12:14+12+4], src[:4]) && bytes.Contains(frames[i].Data[34:36], src[4:]) {
				if err := side.key.Protect(frames[i : i+1]); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	path := filepath.Join(t.TempDir(), "srtp-call.pcap")
	f, _ := os.Create(path)
	ct.WritePcap(f, 1, frames)
	f.Close()

	raw, calls := inspect(t, path)
	if len(calls) != 1 || !slices.Contains(calls[0].Flags, "srtp") {
		t.Fatalf("inspect: %+v", calls)
	}
	for _, secret := range []string{ka.Line[len("1 AES_CM_128_HMAC_SHA1_80 inline:"):], kb.Line[len("1 AES_CM_128_HMAC_SHA1_80 inline:"):]} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Error("inspect printed an SRTP key")
		}
	}
	dir, extracted := runExtract(t, path)
	if len(extracted) != 1 || extracted[0].File == "" {
		t.Fatalf("extract: %+v", extracted)
	}
	left, right := decodeMP3(t, filepath.Join(dir, extracted[0].File))
	// Outbound: the outside party (900 Hz) is on the left.
	if l, r := tone(left, 900), tone(right, 500); l < 0.2 || r < 0.2 {
		t.Errorf("tone strength %.2f left (900 Hz), %.2f right (500 Hz): the decrypted audio is missing", l, r)
	}
}
