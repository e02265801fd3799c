package tests

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	ct "callrec/recorder/capture/capturetest"
)

// TestExportIsGapless: an exported recording decodes, with ffmpeg and with
// mpg123, to exactly the recorded length (within one sample): the Info
// frame's encoder delay and padding are trimmed, so the export does not
// start with the encoder's 66 ms of delay.
func TestExportIsGapless(t *testing.T) {
	for _, tool := range []string{"ffmpeg", "mpg123"} {
		needTool(t, tool)
	}
	p := func(user, ip, tag string) ct.Party {
		a := netip.MustParseAddr(ip)
		return ct.Party{User: user, SIP: netip.AddrPortFrom(a, 5060), RTP: netip.AddrPortFrom(a, 4000), Tag: tag}
	}
	d := &ct.Dialog{CallID: "gapless@203.0.113.5", Caller: p("+441632960001", "203.0.113.5", "a"), Callee: p("201", "10.0.0.21", "b")}
	pcap := filepath.Join(t.TempDir(), "call.pcap")
	f, _ := os.Create(pcap)
	ct.WritePcap(f, 1, ct.ToneCall(d, time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), 3310*time.Millisecond, 440, 880))
	f.Close()
	b := newBox(t)
	b.must("ingest", pcap)
	calls := b.calls()
	if len(calls) != 1 || calls[0].Recording.Samples < 3*16000 {
		t.Fatalf("calls = %+v, want one recording over 3 s", calls)
	}
	want := calls[0].Recording.Samples
	out := filepath.Join(b.dir, "call.mp3")
	b.must("export", "-call", calls[0].ID, "-out", out, "-why", "test")
	for name, args := range map[string][]string{
		"ffmpeg": {"-v", "error", "-nostdin", "-i", out, "-f", "s16le", "-"},
		"mpg123": {"-q", "-s", out},
	} {
		raw, err := exec.Command(name, args...).Output()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := int64(len(raw) / 4); got < want-1 || got > want+1 {
			t.Errorf("%s decodes %d samples per channel, the recording holds %d", name, got, want)
		}
	}
}
