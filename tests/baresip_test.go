package tests

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// ua is one baresip user agent run by the test, driven through its cons
// module (UDP commands), as in the recipe of ../shared/testdata/pcap/SOURCES.md.
type ua struct {
	name    string
	sipPort int
	cons    int
	log     *syncBuffer
	cmd     *exec.Cmd
}

// writeTone writes an 8 kHz mono 16-bit WAV of a sine tone: each party
// has its own frequency, so each leg is recognisable.
func writeTone(path string, freq float64, seconds int) error {
	n := 8000 * seconds
	b := make([]byte, 44+2*n)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], 8000)
	binary.LittleEndian.PutUint32(b[28:], 16000)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*n))
	for i := range n {
		v := int16(12000 * math.Sin(2*math.Pi*freq*float64(i)/8000))
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(v))
	}
	return os.WriteFile(path, b, 0o600)
}

func startUA(t *testing.T, dir, name string, sipPort, cons, rtp int, freq float64) *ua {
	t.Helper()
	d := filepath.Join(dir, name)
	os.MkdirAll(d, 0o755)
	if err := writeTone(filepath.Join(d, "src.wav"), freq, 60); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`poll_method epoll
sip_listen 127.0.0.1:%d
net_interface 127.0.0.1
audio_player aufile,%[2]s/out.wav
audio_source aufile,%[2]s/src.wav
audio_alert aufile,%[2]s/alert.wav
rtp_ports %d-%d
rtcp_mux no
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module cons.so
module_tmp account.so
module_app menu.so
cons_listen 127.0.0.1:%d
`, sipPort, d, rtp, rtp+20, cons)
	os.WriteFile(filepath.Join(d, "config"), []byte(cfg), 0o600)
	os.WriteFile(filepath.Join(d, "accounts"), []byte(fmt.Sprintf("<sip:%s@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMU\n", name)), 0o600)
	u := &ua{name: name, sipPort: sipPort, cons: cons, log: &syncBuffer{}}
	u.cmd = exec.Command("baresip", "-f", d, "-t", "90")
	u.cmd.Stdout, u.cmd.Stderr = u.log, u.log
	if err := u.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		u.send(t, "/quit")
		done := make(chan struct{})
		go func() { u.cmd.Wait(); close(done) }() // exits when baresip does
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			u.cmd.Process.Kill()
		}
	})
	waitFor(t, name+" to be ready", 10*time.Second, func() bool { return strings.Contains(u.log.String(), "baresip is ready") })
	return u
}

func (u *ua) send(t *testing.T, command string) {
	t.Helper()
	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", u.cons))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "%s\n", command)
}

// talk lets a call run for d so that media flows: the scenario needs real
// time to pass, it does not wait for anything.
func talk(d time.Duration) { <-time.After(d) }

// TestLiveBaresipHoldTransfer makes a call with hold and a blind REFER
// transfer on loopback while the AF_PACKET source captures: alice calls
// bob, holds and resumes, then transfers bob to carol. The two calls must
// share one conversation, with RTP in both directions of each.
func TestLiveBaresipHoldTransfer(t *testing.T) {
	needRoot(t)
	needTool(t, "baresip")
	dir := t.TempDir()
	recDir := t.TempDir()
	_, stderr, stop := liveCapture(t, "extract", "-out", recDir)
	alice := startUA(t, dir, "alice", 5270, 5671, 11000, 440)
	bob := startUA(t, dir, "bob", 5280, 5672, 11100, 1000)
	startUA(t, dir, "carol", 5290, 5673, 11200, 2000)

	alice.send(t, "/dial sip:bob@127.0.0.1:5280")
	waitFor(t, "alice's call to be established", 10*time.Second, func() bool { return strings.Contains(alice.log.String(), "Call established") })
	talk(2 * time.Second)
	alice.send(t, "/hold")
	talk(2 * time.Second)
	alice.send(t, "/resume")
	talk(2 * time.Second)
	alice.send(t, "/transfer sip:carol@127.0.0.1:5290")
	waitFor(t, "bob's call to carol", 10*time.Second, func() bool { return strings.Contains(bob.log.String(), "Call established: sip:carol") })
	talk(2 * time.Second)
	bob.send(t, "/hangup")
	waitFor(t, "both recordings to finish", 15*time.Second, func() bool { return strings.Count(stderr.String(), "recording finished") >= 2 })
	stop()

	b, err := os.ReadFile(filepath.Join(recDir, "calls.json"))
	if err != nil {
		t.Fatal(err)
	}
	calls := liveCalls(t, string(b))
	if len(calls) != 2 {
		t.Fatalf("%d calls, want 2:\n%s", len(calls), b)
	}
	ab, bc := calls[0], calls[1]
	if ab.From.Raw != "alice" || ab.To.Raw != "bob" || bc.From.Raw != "bob" || bc.To.Raw != "carol" {
		t.Errorf("calls %s>%s and %s>%s, want alice>bob and bob>carol", ab.From.Raw, ab.To.Raw, bc.From.Raw, bc.To.Raw)
	}
	if ab.ConversationID != bc.ConversationID {
		t.Errorf("conversations %s and %s: the transfer must link them", ab.ConversationID, bc.ConversationID)
	}
	for _, f := range []string{"hold", "transfer"} {
		if !slices.Contains(ab.Flags, f) {
			t.Errorf("first call flags %v lack %q", ab.Flags, f)
		}
	}
	for _, c := range calls {
		m := c.Legs[0].Media[0]
		if m.CallerToCallee < 50 || m.CalleeToCaller < 50 || c.EndReason != "bye" {
			t.Errorf("call %s>%s: %d/%d packets, ended %q; want two-way RTP and a BYE", c.From.Raw, c.To.Raw, m.CallerToCallee, m.CalleeToCaller, c.EndReason)
		}
	}
	// Internal calls: the caller on the left. alice 440 Hz, bob 1000 Hz,
	// carol 2000 Hz.
	var files []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e struct{ File string }
		json.Unmarshal([]byte(line), &e)
		files = append(files, e.File)
	}
	checkTones(t, filepath.Join(recDir, files[0]), 440, 1000)
	checkTones(t, filepath.Join(recDir, files[1]), 1000, 2000)
}

// tone returns the level of frequency f in x (16 kHz), by the Goertzel
// algorithm.
func tone(x []float64, f float64) float64 {
	w := 2 * math.Pi * f / 16000
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s := v + coeff*s1 - s2
		s2, s1 = s1, s
	}
	return math.Sqrt(s1*s1+s2*s2-coeff*s1*s2) / float64(len(x))
}

// checkTones checks each party's tone is on its own channel: the louder
// of the two parties' frequencies in each channel is that channel's.
func checkTones(t *testing.T, path string, leftHz, rightHz float64) {
	t.Helper()
	l, r := decodeMP3(t, path)
	if len(l) < 16000 {
		t.Fatalf("%s: %d samples", path, len(l))
	}
	for _, c := range []struct {
		name       string
		x          []float64
		own, other float64
	}{{"left", l, leftHz, rightHz}, {"right", r, rightHz, leftHz}} {
		own, other := tone(c.x, c.own), tone(c.x, c.other)
		if own < 10*other || own < 50 {
			t.Errorf("%s: %s channel has %.0f Hz at %.1f and %.0f Hz at %.1f: want its own party's tone, clearly", path, c.name, c.own, own, c.other, other)
		}
	}
}
