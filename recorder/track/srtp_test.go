package track_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/pion/srtp/v3"

	"callrec/recorder/capture"
	ct "callrec/recorder/capture/capturetest"
	"callrec/recorder/track"
)

// payload is packet i's audio from one side: recognisable after decryption.
func payload(side byte) func(i int) []byte {
	return func(i int) []byte {
		b := bytes.Repeat([]byte{side}, 160)
		b[0], b[1] = byte(i>>8), byte(i)
		return b
	}
}

// srtpCall scripts an SDES-keyed call: both sides' media encrypted, the
// sequence numbers crossing the 16-bit wrap, and (rekey) a re-INVITE with
// new keys half-way, after which both sides send under the new keys.
func srtpCall(t *testing.T, suite string, profile srtp.ProtectionProfile, rekey bool) []ct.Frame {
	t.Helper()
	key := func(seed byte) *ct.SDES {
		k, err := ct.NewSDES(1, suite, profile, seed)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ka, kb := key(1), key(2)
	a, b := alice, bob
	a.Crypto, b.Crypto = []string{ka.Line}, []string{kb.Line}
	d := &ct.Dialog{CallID: "srtp@10.0.0.11", Caller: a, Callee: b}
	s := newScript()
	s.sip(a, b, d.Request("INVITE", true, "sendrecv"))
	s.sip(b, a, d.Response(200, "OK", "INVITE", true, "sendrecv"))
	s.sip(a, b, d.Request("ACK", true, ""))
	media := func(ka, kb *ct.SDES, seq0 uint16, n int) {
		fa := ct.StreamFrom(a.RTP, b.RTP, 0xa1, seq0, s.now, n, payload('A'))
		fb := ct.StreamFrom(b.RTP, a.RTP, 0xb2, seq0+7, s.now, n, payload('B'))
		if err := ka.Protect(fa); err != nil {
			t.Fatal(err)
		}
		if err := kb.Protect(fb); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			s.frames = append(s.frames, fa[i], fb[i])
		}
		s.now = s.now.Add(time.Duration(n) * 20 * time.Millisecond)
	}
	media(ka, kb, 65500, 100) // crosses 65535 → 0: the rollover counter moves to 1
	if rekey {
		ka2, kb2 := key(3), key(4)
		a.Crypto, b.Crypto = []string{ka2.Line}, []string{kb2.Line}
		d.Caller, d.Callee = a, b
		s.sip(a, b, d.Request("INVITE", true, "sendrecv"))
		s.sip(b, a, d.Response(200, "OK", "INVITE", true, "sendrecv"))
		s.sip(a, b, d.Request("ACK", true, ""))
		media(ka2, kb2, 65500, 100) // new keys start a new context: a new wrap
	}
	s.sip(a, b, d.Request("BYE", true, ""))
	return s.frames
}

// TestSRTPDecrypted: SDES-keyed SRTP reaches the recorder as the plain RTP
// the sender encrypted, in both directions, across the sequence wrap and a
// re-key, for each suite offered in practice.
func TestSRTPDecrypted(t *testing.T) {
	for _, tt := range []struct {
		suite   string
		profile srtp.ProtectionProfile
	}{
		{"AES_CM_128_HMAC_SHA1_80", srtp.ProtectionProfileAes128CmHmacSha1_80},
		{"AES_CM_128_HMAC_SHA1_32", srtp.ProtectionProfileAes128CmHmacSha1_32},
		{"AEAD_AES_128_GCM", srtp.ProtectionProfileAeadAes128Gcm},
	} {
		for _, rekey := range []bool{false, true} {
			name := fmt.Sprintf("%s rekey=%v", tt.suite, rekey)
			got := map[bool][]int{}
			calls, _, tr := run(t, track.Config{OnRTP: func(_ *track.Stream, fromCaller bool, d *capture.Datagram) {
				p := d.Payload[12:]
				want := byte('B')
				if fromCaller {
					want = 'A'
				}
				if len(p) != 160 || p[5] != want {
					t.Errorf("%s: a packet from the caller=%v is not the plaintext sent", name, fromCaller)
					return
				}
				got[fromCaller] = append(got[fromCaller], int(p[0])<<8|int(p[1]))
			}}, srtpCall(t, tt.suite, tt.profile, rekey))
			n := 100
			if rekey {
				n = 200
			}
			st := tr.Stats()
			if len(got[true]) != n || len(got[false]) != n || st.SRTPFailed != 0 || st.SRTPDecrypted != uint64(2*n) {
				t.Errorf("%s: %d/%d packets decrypted each way, stats %+v; want %d each, none failed", name, len(got[true]), len(got[false]), st, n)
			}
			if len(calls) != 1 || !slices.Contains(calls[0].Flags, "srtp") || slices.ContainsFunc(calls[0].Flags, func(f string) bool { return strings.HasPrefix(f, "srtp_undecryptable") }) {
				t.Errorf("%s: calls %d, flags %v", name, len(calls), calls[0].Flags)
			}
		}
	}
}

// TestSRTPWrongKeyDropped: media under a key the SDP did not announce is
// dropped, never handed on as noise, and the call says why.
func TestSRTPWrongKeyDropped(t *testing.T) {
	frames := srtpCall(t, "AES_CM_128_HMAC_SHA1_80", srtp.ProtectionProfileAes128CmHmacSha1_80, false)
	// Replace the SDP keys with others: the media no longer authenticates.
	other, _ := ct.NewSDES(1, "AES_CM_128_HMAC_SHA1_80", srtp.ProtectionProfileAes128CmHmacSha1_80, 99)
	for i, f := range frames {
		if i := bytes.Index(f.Data, []byte("a=crypto:")); i >= 0 {
			end := bytes.Index(f.Data[i:], []byte("\r\n"))
			line := []byte("a=crypto:" + other.Line)
			if len(line) == end {
				f.Data = append(append(append([]byte{}, f.Data[:i]...), line...), f.Data[i+end:]...)
			}
		}
		frames[i] = f
	}
	passed := 0
	calls, _, tr := run(t, track.Config{OnRTP: func(*track.Stream, bool, *capture.Datagram) { passed++ }}, frames)
	if passed != 0 || tr.Stats().SRTPFailed != 200 {
		t.Errorf("%d packets passed on, %d failed; want none passed, all 200 failed", passed, tr.Stats().SRTPFailed)
	}
	if !slices.Contains(calls[0].Flags, "srtp_undecryptable:auth_failed") {
		t.Errorf("flags %v: want srtp_undecryptable:auth_failed", calls[0].Flags)
	}
}

// TestDTLSSRTPFlagged: media keyed by DTLS-SRTP cannot be decrypted by a
// tap: the call is flagged, and no packet reaches the recorder.
func TestDTLSSRTPFlagged(t *testing.T) {
	d := &ct.Dialog{CallID: "dtls@10.0.0.11", Caller: alice, Callee: bob}
	s := newScript()
	invite := bytes.Replace(d.Request("INVITE", true, "sendrecv"), []byte("RTP/AVP"), []byte("UDP/TLS/RTP/SAVP"), 1)
	s.sip(alice, bob, fixLength(invite))
	answer := bytes.Replace(d.Response(200, "OK", "INVITE", true, "sendrecv"), []byte("RTP/AVP"), []byte("UDP/TLS/RTP/SAVP"), 1)
	s.sip(bob, alice, fixLength(answer))
	s.rtp(alice, bob, 20)
	passed := 0
	calls, _, _ := run(t, track.Config{OnRTP: func(*track.Stream, bool, *capture.Datagram) { passed++ }}, s.frames)
	if passed != 0 || len(calls) != 1 || !slices.Contains(calls[0].Flags, "srtp_undecryptable:dtls") {
		t.Errorf("%d packets passed on; flags %v; want none and srtp_undecryptable:dtls", passed, calls[0].Flags)
	}
}

// sharedCapture opens a capture of ../shared/testdata/pcap, skipping
// (failing under CI) when the shared captures are absent.
func sharedCapture(t *testing.T, name string) *capture.File {
	t.Helper()
	f, err := capture.OpenFile(filepath.Join("..", "..", "..", "shared", "testdata", "pcap", name))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared capture %s missing under CI: %v", name, err)
		}
		t.Skipf("shared capture %s not here: %v", name, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestSRTPRealCapture decrypts a real SRTP call (rtpproxy's G.722 test
// call, media only) with the SDES keys SOURCES.md gives for it, put into
// signalling made here: every one of its 2,340 packets authenticates and
// decrypts to G.722.
func TestSRTPRealCapture(t *testing.T) {
	media := sharedCapture(t, "rtpproxy-call1_g722_srtp.pcap")
	alice := party("201", "192.168.1.62", 5060, 2230, "a")
	bob := party("202", "192.168.1.69", 5060, 44724, "b")
	alice.Crypto = []string{"1 AES_CM_128_HMAC_SHA1_80 inline:UHXu88YuDj8guQxhCqEeue0CSr+JcQ/Uii4NdaS5"}
	bob.Crypto = []string{"1 AES_CM_128_HMAC_SHA1_80 inline:UBFc5R7tK5f91V8j1da++z3h/3H2yS5WaN819nJd"}
	d := &ct.Dialog{CallID: "rtpproxy-srtp", Caller: alice, Callee: bob}
	var pts []uint8
	decrypted := 0
	tr := track.New(track.Config{OnRTP: func(_ *track.Stream, _ bool, d *capture.Datagram) {
		decrypted++
		if pt := d.Payload[1] & 0x7f; !slices.Contains(pts, pt) {
			pts = append(pts, pt)
		}
	}}, nil)
	var first []byte
	var ci gopacket.CaptureInfo
	first, ci, err := media.ReadPacketData()
	if err != nil {
		t.Fatal(err)
	}
	// The signalling, just before the first packet.
	s := &script{now: ci.Timestamp.Add(-100 * time.Millisecond)}
	s.sip(alice, bob, d.Request("INVITE", true, "sendrecv"))
	s.sip(bob, alice, d.Response(200, "OK", "INVITE", true, "sendrecv"))
	sipDec := capture.NewDecoder(capture.Config{})
	for _, f := range s.frames {
		sipDec.Decode(layers.LinkTypeEthernet, f.Data, f.Time, tr.Handle)
	}
	dec := capture.NewDecoder(capture.Config{})
	for data := first; ; {
		dec.Decode(media.LinkType(), data, ci.Timestamp, tr.Handle)
		if data, ci, err = media.ReadPacketData(); err != nil {
			break
		}
	}
	st := tr.Stats()
	if st.SRTPDecrypted != 2340 || st.SRTPFailed != 0 || decrypted != 2340 || !slices.Equal(pts, []uint8{9}) {
		t.Errorf("decrypted %d (to the recorder %d), failed %d, payload types %v; want all 2340 as G.722 (9)", st.SRTPDecrypted, decrypted, st.SRTPFailed, pts)
	}
}
