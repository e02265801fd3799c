package tests

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sharedDir returns ../shared/testdata/pcap, skipping the test when it is
// absent outside CI (the captures are not ours to commit).
func sharedDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "testdata", "pcap")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared captures missing under CI: %v", err)
		}
		t.Skipf("shared captures not present (%s): %v", dir, err)
	}
	return dir
}

type inspectedCall struct {
	ID             string   `json:"id"`
	ConversationID string   `json:"conversation_id"`
	SIPCallIDs     []string `json:"sip_call_ids"`
	Start, End     string
	EndReason      string `json:"end_reason"`
	Direction      string
	From, To       struct{ Raw, E164 string }
	Legs           []struct {
		Media []inspectedStream
		Video []inspectedStream // counted with the call, not recorded
	}
	Video bool
	Flags []string
}

type inspectedStream struct {
	CallerAddr     string `json:"caller_addr"`
	CalleeAddr     string `json:"callee_addr"`
	Codecs         []string
	CallerToCallee int `json:"packets_caller_to_callee"`
	CalleeToCaller int `json:"packets_callee_to_caller"`
	Held           bool
}

func (c inspectedCall) packets() int {
	n := 0
	for _, l := range c.Legs {
		for _, m := range l.Media {
			n += m.CallerToCallee + m.CalleeToCaller
		}
	}
	return n
}

func inspect(t *testing.T, path string) ([]byte, []inspectedCall) {
	t.Helper()
	out, err := exec.Command(recorderd, "inspect", path).Output()
	if err != nil {
		t.Fatalf("recorderd inspect %s: %v", path, err)
	}
	var calls []inspectedCall
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var c inspectedCall
		if err := json.Unmarshal(line, &c); err != nil {
			t.Fatalf("%s: output line is not JSON: %v: %s", path, err, line)
		}
		calls = append(calls, c)
	}
	return out, calls
}

// TestInspectGolden runs every shared capture through `recorderd inspect`
// and compares with the golden output (go test ./tests -update rewrites it).
func TestInspectGolden(t *testing.T) {
	dir := sharedDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.*cap*"))
	if len(files) == 0 {
		t.Fatal("no captures found")
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			out, _ := inspect(t, f)
			out = stableIDs(out)
			golden := filepath.Join("testdata", "inspect", name+".jsonl")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./tests -run InspectGolden -update)", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("inspect %s differs from %s:\n got: %s\nwant: %s", name, golden, out, want)
			}
		})
	}
}

// callIDs matches the random ids the box gives calls.
var callIDs = regexp.MustCompile(`"c[0-9a-f]{32}"`)

// stableIDs replaces each call id with its order of first appearance, so
// that output with random ids compares with a golden file.
func stableIDs(b []byte) []byte {
	seen := map[string]string{}
	return callIDs.ReplaceAllFunc(b, func(id []byte) []byte {
		s, ok := seen[string(id)]
		if !ok {
			s = fmt.Sprintf(`"call-%d"`, len(seen)+1)
			seen[string(id)] = s
		}
		return []byte(s)
	})
}

// TestInspectFacts checks what tshark and the capture's authors say of each
// capture (../shared/testdata/pcap/SOURCES.md), independently of goldens.
// RTP counts there include packets in flight after the BYE, which the
// recorder reports separately: those counts are marked as lower bounds.
func TestInspectFacts(t *testing.T) {
	dir := sharedDir(t)
	tests := []struct {
		file    string
		calls   int
		packets int // RTP packets counted in calls (-1: not checked)
		flags   []string
		check   func(t *testing.T, calls []inspectedCall)
	}{
		{"sipp-uac_pcap-loopback.pcap", 1, 492, nil, nil},
		{"wsw-rtp_conversacion.pcap", 1, 2310, []string{"auth"}, nil},
		{"heplify-sip_ipv4_tcp.pcap", 1, 66, nil, func(t *testing.T, c []inspectedCall) {
			if m := c[0].Legs[0].Media[0]; m.CallerToCallee != 24 || m.CalleeToCaller != 42 {
				t.Errorf("packets %d/%d, want 24/42", m.CallerToCallee, m.CalleeToCaller)
			}
		}},
		{"wsw-Asterisk_ZFONE_XLITE.pcap", 1, 997, []string{"auth"}, nil},
		{"wsw-SIP_DTMF2.cap", 2, 1331, nil, func(t *testing.T, c []inspectedCall) {
			if c[0].EndReason != "rejected:603" {
				t.Errorf("first call ended %q, want rejected:603", c[0].EndReason)
			}
		}},
		{"wsw-FAX-Call-t38-CA-TDM-SIP-FB-1.pcap", 1, -1, []string{"duplicates_dropped", "b2bua_legs"}, func(t *testing.T, c []inspectedCall) {
			if len(c[0].SIPCallIDs) != 2 {
				t.Errorf("%d Call-IDs, want the SBC's 2 in one call", len(c[0].SIPCallIDs))
			}
		}},
		{"wsw-SIP_CALL_RTP_G711.pcap", 4, 2884, []string{"unsignalled"}, nil},
		{"wsw-sip-tls-1.3-and-rtcp.pcap", 1, 4414, []string{"unsignalled", "capture_integrity"}, nil},
		{"rtpproxy-call1_g722_srtp.pcap", 1, 2340, []string{"unsignalled"}, nil},
		{"sngrep-ipv6frag.pcap", 1, 0, []string{"ip_fragments"}, nil},
		{"sngrep-ipip.pcap", 1, 0, []string{"tunnelled"}, func(t *testing.T, c []inspectedCall) {
			if c[0].EndReason != "bye" {
				t.Errorf("ended %q, want bye (the BYE travels in the tunnel)", c[0].EndReason)
			}
		}},
		{"heplify-erspan_sip_ipv4_udp.pcapng", 2, 0, []string{"tunnelled", "transfer"}, func(t *testing.T, c []inspectedCall) {
			if c[0].ConversationID != c[1].ConversationID {
				t.Error("the attended transfer's consultation call is not in the first call's conversation")
			}
			if !c[0].Legs[0].Media[0].Held {
				t.Error("the first call is not marked held")
			}
		}},
		{"heplify-sip_ipv6_udp.pcap", 1, 0, nil, nil},
		{"heplify-sip_sctp.pcap", 1, 0, nil, func(t *testing.T, c []inspectedCall) {
			if c[0].EndReason != "rejected:403" {
				t.Errorf("ended %q, want rejected:403", c[0].EndReason)
			}
		}},
		{"suricata-sip_compact_form.pcap", 1, 0, nil, nil},
		{"wsw-DTMFsipinfo.pcap", 1, 0, nil, func(t *testing.T, c []inspectedCall) {
			if !c[0].Video {
				t.Error("audio+video call not marked video")
			}
		}},
		{"wsw-aaa.pcap", 6, 9, []string{"auth"}, nil},
		{"wsw-sip-rtp-g729a.pcap", 1, 425, []string{"unsupported_codec:g729"}, nil},
		{"wsw-sip-rtp-g726.pcap", 8, 3400, nil, nil},
		{"wsw-sip-rtp-l16.pcap", 4, 1641, nil, nil},
		{"wsw-sip-rtp-opus-hybrid.pcap", 1, 5, nil, nil},
		{"wsw-h263-over-rtp.pcap", 1, 0, nil, func(t *testing.T, c []inspectedCall) {
			// Video only: its 45 packets are the call's, not a call of their own.
			if v := c[0].Legs[0].Video; !c[0].Video || len(v) != 1 || v[0].CallerToCallee+v[0].CalleeToCaller != 45 {
				t.Errorf("video %v: want the call's one video stream with 45 packets", v)
			}
		}},
		{"heplify-sip_ipv4_tcp_fragmented.pcap", 38, 0, nil, nil},
		{"wsw-MagicJack-_short_call.pcap", 1, 1268 - 4, []string{"auth"}, nil}, // 4 after BYE
		{"wsw-nb6-telephone.pcap", 1, 509 - 2, nil, nil},                       // 2 after BYE
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, calls := inspect(t, filepath.Join(dir, tt.file))
			if len(calls) != tt.calls {
				t.Fatalf("%d calls, want %d", len(calls), tt.calls)
			}
			pk := 0
			var flags []string
			for _, c := range calls {
				pk += c.packets()
				flags = append(flags, c.Flags...)
			}
			if tt.packets >= 0 && pk != tt.packets {
				t.Errorf("%d RTP packets in calls, want %d", pk, tt.packets)
			}
			for _, f := range tt.flags {
				if !slices.Contains(flags, f) {
					t.Errorf("flags %v lack %q", flags, f)
				}
			}
			if tt.check != nil {
				tt.check(t, calls)
			}
		})
	}
}

// TestInspectBadInput checks a clear error and exit status 2 for a file
// that is not a capture, and for a truncated one, with the calls read so
// far still printed.
func TestInspectBadInput(t *testing.T) {
	dir := t.TempDir()
	notCap := filepath.Join(dir, "notes.txt")
	os.WriteFile(notCap, []byte("these are not packets"), 0o600)
	out, err := exec.Command(recorderd, "inspect", notCap).CombinedOutput()
	if exitCode(err) != 2 || !strings.Contains(string(out), "not a pcap or pcapng file") {
		t.Errorf("inspect of a text file: exit %d, %q", exitCode(err), out)
	}
	src, err := os.ReadFile(filepath.Join(sharedDir(t), "wsw-rtp_conversacion.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap")
	os.WriteFile(cut, src[:len(src)*3/4], 0o600)
	cmd := exec.Command(recorderd, "inspect", cut)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if exitCode(err) != 2 || !strings.Contains(stderr.String(), "truncated") || !strings.Contains(stdout.String(), `"sip_call_ids"`) {
		t.Errorf("inspect of a truncated file: exit %d, stderr %q, stdout %d bytes; want exit 2, a clear error and the call so far", exitCode(err), stderr.String(), stdout.Len())
	}
}
