package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// needRoot skips (or under CI fails) a test that needs root: live capture
// and SIPp's raw-socket RTP.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("live tests need root under CI")
		}
		t.Skip("live capture needs root or CAP_NET_RAW")
	}
}

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed under CI (make test installs it)", name)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
}

// syncBuffer is a buffer written by a child process and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// liveCapture starts `recorderd inspect -iface lo` and returns its outputs
// once it is capturing, and a stop function that interrupts it and waits.
func liveCapture(t *testing.T, args ...string) (stdout, stderr *syncBuffer, stop func()) {
	t.Helper()
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	if len(args) == 0 {
		args = []string{"inspect"}
	}
	cmd := exec.Command(recorderd, append(args, "-iface", "lo", "-duration", "120s")...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the live capture to start", 10*time.Second, func() bool { return strings.Contains(stderr.String(), "msg=capturing") })
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGINT)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }() // exits when recorderd does
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("recorderd inspect -iface: %v\n%s", err, stderr.String())
				}
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Error("recorderd did not stop within 10 s of SIGINT")
			}
		})
	}
	t.Cleanup(stop)
	return stdout, stderr, stop
}

func liveCalls(t *testing.T, out string) []inspectedCall {
	t.Helper()
	var calls []inspectedCall
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var c inspectedCall
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("not JSON: %v: %s", err, sc.Text())
		}
		calls = append(calls, c)
	}
	return calls
}

// TestLiveSIPp makes a SIPp call on loopback (the recipe in SOURCES.md)
// while the AF_PACKET source captures, and checks the call and its RTP,
// each packet counted once.
func TestLiveSIPp(t *testing.T) {
	needRoot(t)
	needTool(t, "sipp")
	dir := t.TempDir()
	if err := os.Symlink("/usr/share/sip-tester", filepath.Join(dir, "pcap")); err != nil {
		t.Fatal(err)
	}
	stdout, _, stop := liveCapture(t)

	uas := exec.Command("sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", "5190", "-mi", "127.0.0.1", "-mp", "16100",
		"-rtp_echo", "-m", "1", "-timeout", "40s", "-nostdin")
	uas.Dir = dir
	if err := uas.Start(); err != nil {
		t.Fatal(err)
	}
	defer uas.Process.Kill()
	uac := exec.Command("sipp", "-sn", "uac_pcap", "127.0.0.1:5190", "-i", "127.0.0.1", "-p", "5191", "-mi", "127.0.0.1",
		"-m", "1", "-timeout", "40s", "-nostdin")
	uac.Dir = dir
	if out, err := uac.CombinedOutput(); err != nil {
		t.Fatalf("sipp uac: %v\n%s", err, out)
	}
	waitFor(t, "the call to end", 15*time.Second, func() bool { return strings.Contains(stdout.String(), `"end_reason":"bye"`) })
	stop()
	calls := liveCalls(t, stdout.String())
	if len(calls) != 1 {
		t.Fatalf("%d calls, want 1:\n%s", len(calls), stdout.String())
	}
	c := calls[0]
	m := c.Legs[0].Media[0]
	// 236 PCMA packets and 10 DTMF packets each way (the UAS echoes).
	if m.CallerToCallee != 246 || m.CalleeToCaller != 246 {
		t.Errorf("packets %d/%d, want 246/246: each seen once", m.CallerToCallee, m.CalleeToCaller)
	}
	if c.From.Raw != "sipp" || c.To.Raw != "service" || c.EndReason != "bye" {
		t.Errorf("call = %+v", c)
	}
}
