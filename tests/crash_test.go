package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCrashRecovery kills the daemon with SIGKILL in the middle of 20
// concurrent calls, starts it again, and checks that every call is in the
// index, every recording decodes and holds its audio up to at most 1 s
// before the kill, and verify is clean.
func TestCrashRecovery(t *testing.T) {
	needRoot(t)
	needTool(t, "sipp")
	if testing.Short() {
		t.Skip("20 live calls")
	}
	b := newBox(t)
	_, _, kill := b.startDaemon()
	done := make(chan struct{})
	go func() { // ends when SIPp's calls end
		sippCalls(t, 5490, 20)
		close(done)
	}()
	b.waitRecording(20)
	time.Sleep(3 * time.Second) // let the calls run: the kill must land mid-call
	// A recording can be read while it is being written.
	live := b.calls()[0]
	partial := filepath.Join(b.dir, "partial.mp3")
	b.must("export", "-call", live.ID, "-out", partial, "-why", "listening live")
	if l, _ := decodeMP3(t, partial); len(l) < 16000 {
		t.Errorf("a recording in progress exported %d samples, want over a second", len(l))
	}
	if log := b.must("audit", "list"); !strings.Contains(log, "[partial: recording in progress") {
		t.Errorf("the export of a recording in progress is not marked partial in the audit:\n%s", log)
	}
	killed := time.Now()
	kill()
	<-done

	// The next start recovers what the crash left.
	_, stop, _ := b.startDaemon()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	calls := b.calls()
	if len(calls) != 20 {
		t.Fatalf("%d calls in the index after the crash, want 20", len(calls))
	}
	for _, c := range calls {
		if c.Recording.State != "recovered" {
			t.Errorf("call %s: recording %q, want recovered", c.ID, c.Recording.State)
			continue
		}
		out := filepath.Join(b.dir, c.ID+".mp3")
		b.must("export", "-call", c.ID, "-out", out)
		l, _ := decodeMP3(t, out)
		got := time.Duration(len(l)) * time.Second / 16000
		// The recording starts at the answer; all but the last second
		// before the kill must be there.
		var start time.Time
		for _, cc := range rawCalls(t, b) {
			if cc.ID == c.ID {
				start = cc.Answered
			}
		}
		if want := killed.Sub(start) - time.Second; got < want {
			t.Errorf("call %s: %v of audio, want at least %v (1 s before the kill)", c.ID, got, want)
		}
	}
	if v := b.must("verify"); !strings.Contains(v, "20 recordings checked, 0 problems") {
		t.Errorf("verify after the crash: %s", v)
	}
}

func rawCalls(t *testing.T, b *box) []struct {
	ID       string
	Answered time.Time
} {
	t.Helper()
	out, err := exec.Command(recorderd, b.args("calls")...).Output()
	if err != nil {
		t.Fatal(err)
	}
	var res []struct {
		ID       string
		Answered time.Time
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var c struct {
			ID       string
			Answered time.Time
		}
		jsonUnmarshal(t, l, &c)
		res = append(res, c)
	}
	return res
}

// smallDiskBox makes a box whose data directory is a 24 MB tmpfs (a disk
// the tests can fill) until the test ends, and a configuration keeping
// reserveMB free; it needs root and SIPp.
func smallDiskBox(t *testing.T, reserveMB int) (b *box, data, cfg string) {
	t.Helper()
	needRoot(t)
	needTool(t, "sipp")
	b = newBox(t)
	data = filepath.Join(b.dir, "data")
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", data).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount tmpfs: %v %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", data).Run() })
	cfg = filepath.Join(b.dir, "recorder.toml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "[storage]\nreserve_mb = %d\n", reserveMB), 0o600); err != nil {
		t.Fatal(err)
	}
	return b, data, cfg
}

// waitRecording waits until n calls are being recorded.
func (b *box) waitRecording(n int) {
	b.t.Helper()
	waitFor(b.t, fmt.Sprint(n, " calls to be recording"), 20*time.Second, func() bool {
		k := 0
		for _, c := range b.calls() {
			if c.Recording.State == "recording" {
				k++
			}
		}
		return k == n
	})
}

// TestDiskFull fills a small filesystem past the reserve: no new
// recording starts, a fault is raised, nothing breaks, and recording
// resumes by itself once space is freed.
func TestDiskFull(t *testing.T) {
	b, data, cfg := smallDiskBox(t, 16)
	junk := filepath.Join(data, "junk")
	if err := os.WriteFile(junk, make([]byte, 10<<20), 0o600); err != nil { // 14 MB left: under the reserve
		t.Fatal(err)
	}
	log, stop, _ := b.startDaemon("-config", cfg)
	waitFor(t, "the disk-full fault", 10*time.Second, func() bool {
		return strings.Contains(log.String(), "disk full") && strings.Contains(log.String(), "led=fault on=true")
	})
	waitFor(t, "the status to show the fault", 10*time.Second, func() bool {
		out, _ := b.run("status")
		return strings.Contains(out, `"disk_full"`) && strings.Contains(out, `"full": true`)
	})
	sippCalls(t, 5590, 1)
	waitFor(t, "the call in the index", 10*time.Second, func() bool { return len(b.calls()) == 1 })
	if c := b.calls()[0]; c.Recording.State != "" {
		t.Errorf("a recording started with the disk full: %+v", c.Recording)
	}
	os.Remove(junk)
	waitFor(t, "recording to resume", 15*time.Second, func() bool {
		return strings.Contains(log.String(), "recording resumed") && strings.Contains(log.String(), "led=fault on=false")
	})
	sippCalls(t, 5590, 1)
	waitFor(t, "the second call recorded", 15*time.Second, func() bool {
		cs := b.calls()
		return len(cs) == 2 && cs[1].Recording.State == "complete"
	})
	if err := stop(); err != nil {
		t.Fatalf("daemon: %v", err)
	}
	if v := b.must("verify"); !strings.Contains(v, "1 recordings checked, 0 problems") {
		t.Errorf("verify: %s", v)
	}
}

// TestDiskFillsMidCall replays part of defect 15: after the disk filled
// in the middle of a call, its recording could not be exported until a
// restart, and verify suggested a command that does not exist. Now the
// recording is closed on what was written whole before the failure, at
// the call's end: exportable and verified at once, the daemon still
// running, and its state says the disk failed.
func TestDiskFillsMidCall(t *testing.T) {
	b, data, cfg := smallDiskBox(t, 4)
	log, stop, _ := b.startDaemon("-config", cfg)
	done := make(chan struct{})
	go func() { sippCalls(t, 5590, 1); close(done) }()
	waitFor(t, "the call to be recording", 10*time.Second, func() bool {
		cs := b.calls()
		return len(cs) == 1 && cs[0].Recording.State == "recording"
	})
	// Two seconds in, fill the disk to the last byte, for two seconds.
	time.Sleep(2 * time.Second)
	junk := filepath.Join(data, "junk")
	exec.Command("dd", "if=/dev/zero", "of="+junk, "bs=64k").Run()
	time.Sleep(2 * time.Second)
	os.Remove(junk)
	<-done
	var c storedCall
	waitFor(t, "the recording to be closed", 15*time.Second, func() bool {
		cs := b.calls()
		if len(cs) == 1 {
			c = cs[0]
		}
		return c.Recording.State != "" && c.Recording.State != "recording"
	})
	if c.Recording.State != "failed" || c.Recording.Size == 0 {
		t.Errorf("recording %+v; want failed, with what was written before", c.Recording)
	}
	if !strings.Contains(log.String(), "led=fault_red on=true") {
		t.Error("the red fault LED never lit while recording was impossible")
	}
	out := filepath.Join(b.dir, "call.mp3")
	b.must("export", "-call", c.ID, "-out", out) // the daemon still runs
	if l, _ := decodeMP3(t, out); len(l) < 16000 {
		t.Errorf("exported %d samples; want at least the second before the disk filled", len(l))
	}
	if v := b.must("verify"); !strings.Contains(v, "1 recordings checked, 0 problems") {
		t.Errorf("verify: %s", v)
	}
	if err := stop(); err != nil {
		t.Fatalf("daemon: %v\n%s", err, log)
	}
}

// TestRestartMidCall kills the daemon in the middle of five calls and
// starts it again at once while they go on: each call's first part is
// recovered with its length, and the rest is recorded as part two of the
// same conversation, with the same parties, flagged restarted and ended
// by its BYE, not by the idle timeout.
func TestRestartMidCall(t *testing.T) {
	needRoot(t)
	needTool(t, "sipp")
	b := newBox(t)
	_, _, kill := b.startDaemon()
	done := make(chan struct{})
	go func() { // ends when SIPp's calls end
		sippCalls(t, 5590, 5)
		close(done)
	}()
	b.waitRecording(5)
	time.Sleep(2 * time.Second) // every call has over a second recorded, as the kill finds it
	kill()
	log, stop, _ := b.startDaemon()
	<-done
	time.Sleep(time.Second) // the last BYEs reach the tap
	defer func() {
		if t.Failed() {
			t.Logf("the restarted daemon said:\n%s", log)
		}
	}()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	type call struct {
		ID             string
		ConversationID string `json:"conversation_id"`
		Continues      string
		EndReason      string `json:"end_reason"`
		From, To       struct{ Raw string }
		Flags          []string
		Recording      struct {
			State    string
			Duration int64 `json:"duration_ms"`
		}
	}
	out := b.must("calls")
	byID := map[string]call{}
	var second []call
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var c call
		jsonUnmarshal(t, l, &c)
		byID[c.ID] = c
		if c.Continues != "" {
			second = append(second, c)
		}
	}
	if len(byID) != 10 || len(second) != 5 {
		t.Fatalf("%d calls, %d of them continuations; want 5 calls in two parts each:\n%s", len(byID), len(second), out)
	}
	for _, c := range second {
		first, ok := byID[c.Continues]
		switch {
		case !ok:
			t.Errorf("call %s continues %s, which is not in the index", c.ID, c.Continues)
		case first.Recording.State != "recovered" || first.Recording.Duration < 500 || first.EndReason != "recovered":
			t.Errorf("part one %s: %+v, want recovered with its length", first.ID, first)
		case c.ConversationID != first.ConversationID || c.From != first.From || c.To != first.To:
			t.Errorf("part two %s (%s, %v → %v) is not the same conversation as %s (%s, %v → %v)",
				c.ID, c.ConversationID, c.From, c.To, first.ID, first.ConversationID, first.From, first.To)
		case !slices.Contains(c.Flags, "restarted") || c.EndReason != "bye" || c.Recording.State != "complete" || c.Recording.Duration < 1000:
			t.Errorf("part two %s: flags %v, ended %q, recording %+v; want restarted, bye, complete", c.ID, c.Flags, c.EndReason, c.Recording)
		}
	}
}
