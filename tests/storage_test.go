package tests

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	ct "callrec/recorder/capture/capturetest"
)

type storedCall struct {
	ID             string
	ConversationID string `json:"conversation_id"`
	Direction      string
	Numbers        []string
	Extensions     []string
	EndReason      string `json:"end_reason"`
	Flags          []string
	Recording      struct {
		State    string
		Size     int64
		SHA256   string
		Duration int64 `json:"duration_ms"`
		Samples  int64
	}
}

// box runs recorderd commands against one data directory and key file.
type box struct {
	t   *testing.T
	dir string
	pid int    // the daemon's, once started
	exe string // the daemon's binary, if not the tests' recorderd
}

// newBox makes an empty data directory and its key, as an installer does
// with `recorderd keys init`.
func newBox(t *testing.T) *box {
	b := &box{t: t, dir: t.TempDir()}
	b.must("keys", "init")
	return b
}

// args makes a command line on the box's directories. A command that is
// audited, and must say why, says it is this test unless the test gives
// its own -why (the tests of the refusal give an empty one).
func (b *box) args(cmd string, more ...string) []string {
	args := append(append([]string{cmd}, more...), "-data", filepath.Join(b.dir, "data"), "-key", filepath.Join(b.dir, "keys", "kek"))
	if (cmd == "calls" || cmd == "export" || cmd == "index") && !slices.Contains(more, "-why") {
		args = append(args, "-why", "test "+b.t.Name())
	}
	return args
}

func (b *box) run(cmd string, more ...string) (string, error) {
	out, err := exec.Command(recorderd, b.args(cmd, more...)...).CombinedOutput()
	return string(out), err
}

func (b *box) must(cmd string, more ...string) string {
	b.t.Helper()
	out, err := b.run(cmd, more...)
	if err != nil {
		b.t.Fatalf("recorderd %s %v: %v\n%s", cmd, more, err, out)
	}
	return out
}

func (b *box) calls(more ...string) []storedCall {
	b.t.Helper()
	out, err := exec.Command(recorderd, b.args("calls", more...)...).Output()
	if err != nil {
		b.t.Fatalf("recorderd calls: %v", err)
	}
	var cs []storedCall
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l == "" {
			continue
		}
		var c storedCall
		if err := json.Unmarshal([]byte(l), &c); err != nil {
			b.t.Fatalf("calls output %q: %v", l, err)
		}
		cs = append(cs, c)
	}
	return cs
}

// TestIngestExportVerify stores real calls in a vault and index, finds
// one by a party's number, exports it, and verifies everything, then
// catches a tampered recording.
func TestIngestExportVerify(t *testing.T) {
	dir := sharedDir(t)
	b := newBox(t)
	for _, f := range []string{"wsw-rtp_conversacion.pcap", "wsw-nb6-telephone.pcap", "wsw-MagicJack-_short_call.pcap"} {
		b.must("ingest", filepath.Join(dir, f))
	}
	all := b.calls()
	if len(all) != 3 {
		t.Fatalf("%d calls in the index, want 3", len(all))
	}
	// A subject access request: every call with this number.
	found := b.calls("-number", "+33360653674", "-who", "supervisor-ann", "-why", "SAR 2026-031")
	if len(found) != 1 || found[0].Recording.State != "complete" || found[0].Recording.SHA256 == "" {
		t.Fatalf("calls -number = %+v, want the nb6 call, recorded", found)
	}
	out := filepath.Join(b.dir, "sar.mp3")
	b.must("export", "-call", found[0].ID, "-out", out, "-who", "supervisor-ann", "-why", "SAR 2026-031")
	left, _ := decodeMP3(t, out)
	if got := len(left) / 16; got < int(found[0].Recording.Duration)-100 {
		t.Errorf("exported MP3 holds %d ms, recording %d ms", got, found[0].Recording.Duration)
	}
	if v := b.must("verify"); !strings.Contains(v, "3 recordings checked, 0 problems") {
		t.Errorf("verify: %s", v)
	}
	b.must("hold", "-call", found[0].ID, "-reason", "complaint 114", "-who", "head-of-ig")
	if _, err := b.run("hold", "-call", found[0].ID); err == nil {
		t.Error("a hold without a reason was accepted")
	}
	log := b.must("audit", "list")
	if !strings.Contains(log, `"action":"hold","target":"`+found[0].ID) {
		t.Errorf("audit log lacks the hold: %s", log)
	}
	if !strings.Contains(log, `"who":"supervisor-ann","action":"export"`) || !strings.Contains(log, "SAR 2026-031") {
		t.Errorf("audit log lacks the export: %s", log)
	}
	if !strings.Contains(log, `"who":"supervisor-ann","action":"search","target":"number=\"+33360653674\"`) ||
		!strings.Contains(log, "SAR 2026-031 [1 calls found]") {
		t.Errorf("audit log lacks the search: %s", log)
	}
	if v := b.must("audit", "verify"); !strings.Contains(v, "intact") {
		t.Errorf("audit verify: %s", v)
	}
	// Someone edits a recording on the disk.
	crv := filepath.Join(b.dir, "data", "recordings", all[0].ID+".crv")
	raw, _ := os.ReadFile(crv)
	raw[len(raw)/2] ^= 1
	os.WriteFile(crv, raw, 0o600)
	v, err := b.run("verify")
	if err == nil || !strings.Contains(v, all[0].ID) || !strings.Contains(v, "tampered") {
		t.Errorf("verify after tampering: %v\n%s", err, v)
	}
	if _, err := b.run("export", "-call", all[0].ID, "-out", filepath.Join(b.dir, "bad.mp3")); err == nil {
		t.Error("a tampered recording was exported")
	}
}

// TestKeys rotates the key-encryption key (no audio re-encrypted) and
// writes a recovery copy that opens with the passphrase.
func TestKeys(t *testing.T) {
	dir := sharedDir(t)
	b := newBox(t)
	b.must("ingest", filepath.Join(dir, "wsw-nb6-telephone.pcap"))
	keyFile := filepath.Join(b.dir, "keys", "kek")
	before, _ := os.ReadFile(keyFile)
	b.must("keys", "rotate", "-who", "technician")
	after, _ := os.ReadFile(keyFile)
	if bytes.Equal(before, after) {
		t.Fatal("key file unchanged by rotation")
	}
	if v := b.must("verify"); !strings.Contains(v, "0 problems") {
		t.Fatalf("verify after rotation: %s", v)
	}
	rec := filepath.Join(b.dir, "recovery.age")
	cmd := exec.Command(recorderd, b.args("keys", "export-recovery", "-out", rec)...)
	cmd.Env = append(os.Environ(), "CALLREC_RECOVERY_PASSPHRASE=correct horse battery staple")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("export-recovery: %v\n%s", err, out)
	}
	f, _ := os.Open(rec)
	defer f.Close()
	id, _ := age.NewScryptIdentity("correct horse battery staple")
	r, err := age.Decrypt(f, id)
	if err != nil {
		t.Fatalf("recovery file does not open with the passphrase: %v", err)
	}
	key, _ := io.ReadAll(r)
	var current string
	for _, l := range strings.Split(string(after), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			current = l
			break
		}
	}
	if strings.TrimSpace(string(key)) != current {
		t.Error("the recovery copy is not the current key")
	}
	if _, err := hex.DecodeString(current); err != nil {
		t.Error(err)
	}
	if log := b.must("audit", "list"); !strings.Contains(log, "key-rotate") || !strings.Contains(log, "key-export") {
		t.Errorf("audit lacks key operations: %s", log)
	}
}

// startDaemon runs `recorderd run` on loopback until stop (SIGTERM) or
// kill (SIGKILL).
func (b *box) startDaemon(extra ...string) (stderr *syncBuffer, stop func() error, kill func()) {
	b.t.Helper()
	stderr = &syncBuffer{}
	exe := recorderd
	if b.exe != "" {
		exe = b.exe
	}
	cmd := exec.Command(exe, append(b.args("run", "-iface", "lo", "-watchdog", "100ms", "-web", "127.0.0.1:0", "-web-redirect", "off"), extra...)...)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	b.pid = cmd.Process.Pid
	waitFor(b.t, "the daemon to capture", 10*time.Second, func() bool { return strings.Contains(stderr.String(), "msg=capturing") })
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }() // exits with the daemon
	stop = func() error {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			return io.ErrNoProgress
		}
	}
	kill = func() {
		cmd.Process.Kill()
		<-done
	}
	b.t.Cleanup(func() { cmd.Process.Kill() })
	return stderr, stop, kill
}

// sippCall makes n concurrent SIPp calls on loopback (the uac_pcap recipe,
// the far end echoing) and returns when the caller side is done.
func sippCalls(t *testing.T, port, n int) { sippCallsTo(t, port, n, "service") }

// sippCallsTo is sippCalls to a called number (SIPp's -s).
func sippCallsTo(t *testing.T, port, n int, called string) {
	t.Helper()
	dir := t.TempDir()
	os.Symlink("/usr/share/sip-tester", filepath.Join(dir, "pcap"))
	p := strconv.Itoa
	uas := exec.Command("sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", p(port), "-mi", "127.0.0.1", "-mp", p(port+10000),
		"-rtp_echo", "-m", p(n), "-timeout", "60s", "-nostdin")
	uas.Dir = dir
	if err := uas.Start(); err != nil {
		t.Fatal(err)
	}
	defer uas.Process.Kill()
	uac := exec.Command("sipp", "-sn", "uac_pcap", "127.0.0.1:"+p(port), "-s", called, "-i", "127.0.0.1", "-p", p(port+1), "-mi", "127.0.0.1",
		"-m", p(n), "-l", p(n), "-r", p(n), "-timeout", "60s", "-nostdin")
	uac.Dir = dir
	if out, err := uac.CombinedOutput(); err != nil {
		t.Logf("sipp uac: %v\n%s", err, out)
	}
}

// TestRunRecordsLive records a live SIPp call with the daemon, stops it
// cleanly, and exports the recording.
func TestRunRecordsLive(t *testing.T) {
	needRoot(t)
	needTool(t, "sipp")
	b := newBox(t)
	_, stop, _ := b.startDaemon()
	sippCalls(t, 5390, 1)
	waitFor(t, "the call to be recorded", 15*time.Second, func() bool {
		cs := b.calls()
		return len(cs) == 1 && cs[0].Recording.State == "complete"
	})
	// `status` knows the daemon runs from its lock (defect 15 of the
	// attack), and shows the audit head.
	waitFor(t, "status", 10*time.Second, func() bool {
		out, err := b.run("status")
		return err == nil && strings.Contains(out, `"audit_head"`)
	})
	if err := stop(); err != nil {
		t.Fatalf("daemon exit after SIGTERM: %v", err)
	}
	if out, err := b.run("status"); exitCode(err) != 1 || !strings.Contains(out, "not running") {
		t.Errorf("status after the daemon stopped: exit %d\n%s", exitCode(err), out)
	}
	// A configuration change is audited at the next start, once.
	if log := b.must("audit", "list"); strings.Count(log, `"action":"config"`) != 1 {
		t.Errorf("want one config entry after the first start: %s", log)
	}
	_, stop, _ = b.startDaemon("-purge-every", "1h")
	stop()
	if log := b.must("audit", "list"); strings.Count(log, `"action":"config"`) != 1 {
		t.Errorf("a restart with the same configuration was audited as a change")
	}
	cfg := filepath.Join(b.dir, "recorder.toml")
	os.WriteFile(cfg, []byte("[storage]\nretention_years = 4\n"), 0o600)
	_, stop, _ = b.startDaemon("-config", cfg)
	stop()
	if log := b.must("audit", "list"); strings.Count(log, `"action":"config"`) != 2 || !strings.Contains(log, `\"RetentionYears\":4`) {
		t.Errorf("the retention change was not audited: %s", log)
	}
	c := b.calls()[0]
	if c.EndReason != "bye" || c.Recording.Duration < 8000 {
		t.Errorf("call %+v: want a bye and about 9 s of recording", c)
	}
	out := filepath.Join(b.dir, "call.mp3")
	b.must("export", "-call", c.ID, "-out", out)
	l, r := decodeMP3(t, out)
	if len(l) < 8*16000 || tone(l, 1000) == 0 && tone(r, 1000) == 0 {
		t.Errorf("exported %d samples", len(l))
	}
}

func jsonUnmarshal(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
}

// TestIngestKeepsRecordingFlags records a call whose callee, the outside
// party (left channel), sends no audio: the index keeps the recorder's
// one_way flag beside the tracker's.
func TestIngestKeepsRecordingFlags(t *testing.T) {
	b := newBox(t)
	frames := slices.DeleteFunc(toneCalls(1, 2*time.Second), func(f ct.Frame) bool {
		return bytes.Contains(f.Data, []byte{0, 0xb2}) && len(f.Data) > 180 // the callee's RTP (SSRC 0xb2)
	})
	pcap := filepath.Join(b.dir, "oneway.pcap")
	var buf bytes.Buffer
	if err := ct.WritePcap(&buf, 1, frames); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(pcap, buf.Bytes(), 0o600)
	b.must("ingest", pcap)
	cs := b.calls()
	if len(cs) != 1 || cs[0].Recording.State != "complete" || !slices.Contains(cs[0].Flags, "one_way:left") {
		t.Errorf("calls = %+v, want one complete recording flagged one_way:left", cs)
	}
}
