package tests

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gomp3 "github.com/hajimehoshi/go-mp3"
)

// recorderd is the path of the binary built once for these tests.
var recorderd string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "recorderd-e2e")
	if err != nil {
		panic(err)
	}
	recorderd = filepath.Join(dir, "recorderd")
	build := exec.Command("go", "build", "-tags", "callrec_testkeys", "-o", recorderd, "../cmd/recorderd")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no command given"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"encode", "-bitrate", "33"}, "bitrate 33 kbit/s not allowed"},
		{[]string{"encode", "-rate", "8000"}, "sample rate 8000 Hz not supported"},
		{[]string{"run", "-board", "nope", "-iface", "lo"}, `unknown board "nope"`},
		{[]string{"run"}, "no capture interface"},
		{[]string{"run", "extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		out, err := exec.Command(recorderd, tt.args...).CombinedOutput()
		if exitCode(err) != 2 || !strings.Contains(string(out), tt.want) {
			t.Errorf("recorderd %v: exit %d, output %q; want exit 2 and %q", tt.args, exitCode(err), out, tt.want)
		}
	}
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(recorderd, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "recorderd ") {
		t.Fatalf("recorderd version = %q, %v", out, err)
	}
}

// TestEncode pipes a tone through `recorderd encode` and decodes the MP3.
func TestEncode(t *testing.T) {
	const n = 16000 * 2
	raw := make([]byte, 2*n)
	for i := range n {
		v := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/16000))
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(v))
	}
	path := filepath.Join(t.TempDir(), "tone.mp3")
	for _, args := range [][]string{{"encode"}, {"encode", "-out", path}} {
		cmd := exec.Command(recorderd, args...)
		cmd.Stdin = bytes.NewReader(raw)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("recorderd %v: %v", args, err)
		}
		if len(args) > 1 {
			if out, err = os.ReadFile(path); err != nil {
				t.Fatal(err)
			}
		}
		d, err := gomp3.NewDecoder(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("%v: go-mp3: %v", args, err)
		}
		pcm, err := io.ReadAll(d)
		if err != nil {
			t.Fatalf("%v: go-mp3: %v", args, err)
		}
		// go-mp3 gives stereo; 2 s of mono plus the coder's delay and, with
		// -out, the Info frame's silence.
		if got := len(pcm) / 4; got < n || got > n+4*576 {
			t.Errorf("%v: decoded %d samples, want about %d", args, got, n)
		}
		if d.SampleRate() != 16000 {
			t.Errorf("%v: sample rate %d, want 16000", args, d.SampleRate())
		}
	}
	cmd := exec.Command(recorderd, "encode", "-channels", "2")
	cmd.Stdin = bytes.NewReader(raw[:6]) // one and a half stereo instants
	if out, err := cmd.CombinedOutput(); exitCode(err) != 1 || !strings.Contains(string(out), "stray bytes") {
		t.Errorf("encode of a partial instant: exit %d, %q; want exit 1 naming the stray bytes", exitCode(err), out)
	}
}

// TestRunSimBoard starts the daemon on the simulated board, waits for the
// front panel's lamp test in its log and stops it with SIGTERM.
func TestRunSimBoard(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	cmd := exec.Command(recorderd, "run", "-board", "sim", "-watchdog", "50ms", "-iface", "lo", "-web", "127.0.0.1:0", "-web-redirect", "off", "-data", dir+"/data", "-key", dir+"/kek")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() { // exits when the daemon closes its stderr
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(10 * time.Second)
	seen := map[string]bool{}
	for !(seen["started"] && seen["fault off"]) {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("daemon exited early: %v", cmd.Wait())
			}
			if strings.Contains(l, "recorderd started") {
				seen["started"] = true
			}
			if strings.Contains(l, "led=fault on=false") {
				seen["fault off"] = true
			}
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("no start-up and lamp test in the log within 10 s: saw %v", seen)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	var rest []string
	for l := range lines {
		rest = append(rest, l)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("daemon exit after SIGTERM = %v, want 0", err)
	}
	if !strings.Contains(strings.Join(rest, "\n"), "recorderd stopping") {
		t.Errorf("no 'recorderd stopping' after SIGTERM: %q", rest)
	}
}
