package tests

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	ct "callrec/recorder/capture/capturetest"
)

// writeCall writes a capture of one 2-second call with the given Call-ID
// and start.
func writeCall(t *testing.T, callID string, start time.Time) string {
	t.Helper()
	p := func(user, ip, tag string) ct.Party {
		a := netip.MustParseAddr(ip)
		return ct.Party{User: user, SIP: netip.AddrPortFrom(a, 5060), RTP: netip.AddrPortFrom(a, 4000), Tag: tag}
	}
	d := &ct.Dialog{CallID: callID, Caller: p("+441632960001", "203.0.113.5", "a"), Callee: p("201", "10.0.0.21", "b")}
	path := filepath.Join(t.TempDir(), "call.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := ct.WritePcap(f, 1, ct.ToneCall(d, start, 2*time.Second, 440, 880)); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestForgedCallIDCannotShred replays defect 1 of the attack: a capture
// with the Call-ID of a stored call and a start in 2015 is ingested, then
// the retention purge runs. The stored call keeps its record and its
// recording; the forged one is a call of its own.
func TestForgedCallIDCannotShred(t *testing.T) {
	b := newBox(t)
	now := time.Now().UTC().Truncate(time.Second)
	b.must("ingest", writeCall(t, "victim@10.0.0.21", now.Add(-time.Hour)))
	victim := b.calls()[0]
	out := b.must("ingest", writeCall(t, "victim@10.0.0.21", time.Date(2015, 3, 1, 9, 0, 0, 0, time.UTC)))
	if !strings.Contains(out, "1 recordings stored") {
		t.Errorf("ingest of the forged capture: %s", out)
	}
	calls := b.calls()
	if len(calls) != 2 || calls[0].ID == calls[1].ID {
		t.Fatalf("calls after the forged ingest: %+v; want two calls with their own ids", calls)
	}
	// The daily purge (the daemon runs it at start).
	log, stop, _ := b.startDaemon()
	waitFor(t, "the retention purge", 10*time.Second, func() bool { return strings.Contains(log.String(), "msg=\"retention purge\"") })
	if !strings.Contains(log.String(), "shredded=0") {
		t.Errorf("the purge shredded: %s", log)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, c := range b.calls() {
		if c.Recording.State != "complete" {
			t.Errorf("call %s: recording %q after the purge; want both kept (each recording was made today)", c.ID, c.Recording.State)
		}
	}
	if v := b.must("verify"); !strings.Contains(v, "2 recordings checked, 0 problems") {
		t.Errorf("verify: %s", v)
	}
	b.must("export", "-call", victim.ID, "-out", filepath.Join(b.dir, "victim.mp3"), "-why", "check")
}

// TestReingestChangesNothing replays defect 8: the same capture ingested
// twice is stored once; the second run says so and changes nothing.
func TestReingestChangesNothing(t *testing.T) {
	b := newBox(t)
	pcap := writeCall(t, "again@10.0.0.21", time.Now().UTC().Add(-time.Hour))
	b.must("ingest", pcap)
	before := b.must("calls")
	out := b.must("ingest", pcap)
	if !strings.Contains(out, "0 recordings stored") || !strings.Contains(out, "1 already stored") {
		t.Errorf("second ingest: %s", out)
	}
	if after := b.must("calls"); after != before {
		t.Errorf("the index changed:\nbefore %s\nafter  %s", before, after)
	}
}

// TestRotateUnderDaemonRefused replays defect 2: with the daemon running,
// `keys rotate` on another data directory with the live key is refused,
// the key file is unchanged, and the daemon's recordings still open.
func TestRotateUnderDaemonRefused(t *testing.T) {
	needRoot(t)
	b := newBox(t)
	b.must("ingest", writeCall(t, "rot@x", time.Now().UTC().Add(-time.Hour)))
	_, stop, _ := b.startDaemon()
	keyFile := filepath.Join(b.dir, "keys", "kek")
	before, _ := os.ReadFile(keyFile)
	other := filepath.Join(t.TempDir(), "other")
	out, err := exec.Command(recorderd, "keys", "rotate", "-data", other, "-key", keyFile).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use by a running daemon") {
		t.Errorf("keys rotate beside the daemon: %v\n%s", err, out)
	}
	if after, _ := os.ReadFile(keyFile); !bytes.Equal(before, after) {
		t.Error("the key file changed")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if v := b.must("verify"); !strings.Contains(v, "1 recordings checked, 0 problems") {
		t.Errorf("verify: %s", v)
	}
}

// TestMissingKeyIsFatal replays defect 5: with the key file gone, no
// command makes a new key: each stops with an error naming the key the
// recordings need.
func TestMissingKeyIsFatal(t *testing.T) {
	b := newBox(t)
	b.must("ingest", writeCall(t, "key@x", time.Now().UTC().Add(-time.Hour)))
	bound, _ := os.ReadFile(filepath.Join(b.dir, "data", "kek.id"))
	keyFile := filepath.Join(b.dir, "keys", "kek")
	os.Rename(keyFile, keyFile+".away")
	for _, cmd := range [][]string{{"verify"}, {"ingest", writeCall(t, "key2@x", time.Now())}, {"export", "-call", "x", "-out", filepath.Join(t.TempDir(), "x.mp3"), "-why", "t"}, {"calls"}} {
		out, err := b.run(cmd[0], cmd[1:]...)
		if err == nil || !strings.Contains(out, strings.TrimSpace(string(bound))) {
			t.Errorf("%v without its key: %v\n%s\nwant an error naming key %s", cmd, err, out, bound)
		}
		if _, err := os.Stat(keyFile); err == nil {
			t.Fatalf("%v made a new key file", cmd)
		}
	}
}

// TestHelpTouchesNothing replays defect 3: -h and --help on every command
// print help, exit 0, and create nothing, in the working directory or at
// the default paths.
func TestHelpTouchesNothing(t *testing.T) {
	defaults := []string{"/var/lib/callrec", "/etc/callrec"}
	existed := map[string]bool{}
	for _, d := range defaults {
		_, err := os.Stat(d)
		existed[d] = err == nil
	}
	cmds := [][]string{{"run"}, {"inspect"}, {"extract"}, {"ingest"}, {"calls"}, {"export"}, {"verify"},
		{"audit"}, {"audit", "verify"}, {"audit", "list"}, {"keys"}, {"keys", "init"}, {"keys", "rotate"},
		{"keys", "export-recovery"}, {"hold"}, {"release"}, {"status"}, {"encode"}, {"index"}, {"index", "rebuild"}}
	for _, c := range cmds {
		for _, h := range []string{"-h", "--help"} {
			dir := t.TempDir()
			cmd := exec.Command(recorderd, append(c, h)...)
			cmd.Dir = dir
			cmd.Stdin = strings.NewReader("some stdin that must not be encoded")
			out, err := cmd.CombinedOutput()
			if exitCode(err) != 0 || len(out) == 0 {
				t.Errorf("recorderd %v %s: exit %d, output %q; want help and 0", c, h, exitCode(err), out)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("recorderd %v %s created %v", c, h, entries)
			}
			for _, d := range defaults {
				if _, err := os.Stat(d); err == nil && !existed[d] {
					t.Fatalf("recorderd %v %s created %s", c, h, d)
				}
			}
		}
	}
}

// TestLiveFlood replays defect 4 live: 2,000 bogus INVITEs a second on
// the tapped wire (UDP to the PBX's port, never answered) while SIPp makes
// real calls. Every real call is recorded whole, and the kernel drops no
// packet (reported when the daemon stops).
func TestLiveFlood(t *testing.T) {
	needRoot(t)
	needTool(t, "sipp")
	if testing.Short() {
		t.Skip("a live flood")
	}
	b := newBox(t)
	log, stop, _ := b.startDaemon()
	// The flood: pre-built INVITEs, each from its own port, to 5062.
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5062}
	const rate, seconds = 2000, 12
	flooded := make(chan int)
	go func() { // ends after seconds
		sent := 0
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for start := time.Now(); time.Since(start) < seconds*time.Second; <-tick.C {
			for range rate / 100 {
				msg := fmt.Sprintf("INVITE sip:01632960000@127.0.0.1:5062 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%d\r\n"+
					"From: <sip:anonymous@127.0.0.1>;tag=f%d\r\nTo: <sip:01632960000@127.0.0.1>\r\nCall-ID: flood-%d@x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
					40000+sent%20000, sent, sent, sent)
				conn.WriteToUDP([]byte(msg), to)
				sent++
			}
		}
		flooded <- sent
	}()
	time.Sleep(time.Second)
	sippCalls(t, 5790, 10)
	sent := <-flooded
	time.Sleep(time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`kernel_drops=(\d+)`).FindStringSubmatch(log.String())
	if m == nil {
		t.Fatalf("no drop count in the log:\n%s", log)
	}
	t.Logf("%d bogus INVITEs sent; kernel drops %s", sent, m[1])
	if m[1] != "0" {
		t.Errorf("the kernel dropped %s packets under the flood", m[1])
	}
	whole := 0
	for _, c := range b.calls() {
		if c.Recording.State == "complete" && c.Recording.Duration >= 6500 {
			whole++
		}
	}
	if whole != 10 {
		t.Errorf("%d of 10 real calls recorded whole under the flood", whole)
	}
}
