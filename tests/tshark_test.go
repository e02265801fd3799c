package tests

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// tsharkStream is one line of `tshark -z rtp,streams`.
type tsharkStream struct {
	src, dst string // "ip:port"
	pkts     int
}

var rtpStreamLine = regexp.MustCompile(`^\s*[\d.]+\s+[\d.]+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+0x[0-9A-Fa-f]+\s+.*?\s(\d+)\s+-?\d+ \(`)

func tsharkStreams(t *testing.T, file string) []tsharkStream {
	t.Helper()
	out, err := exec.Command("tshark", "-n", "-r", file, "-q", "-z", "rtp,streams").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var s []tsharkStream
	for _, l := range strings.Split(string(out), "\n") {
		m := rtpStreamLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[5])
		s = append(s, tsharkStream{src: join(m[1], m[2]), dst: join(m[3], m[4]), pkts: n})
	}
	return s
}

func join(ip, port string) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]:" + port
	}
	return ip + ":" + port
}

// tsharkMisreads are captures where tshark's count is known to be short,
// and why.
var tsharkMisreads = map[string]string{
	"wsw-FAX-Call-t38-CA-TDM-SIP-FB-1.pcap": "after the T.38 re-INVITE (refused with 488) tshark decodes the port as T.38, but the packets are still PCMA RTP (PT 8, the same SSRC)",
	"wsw-LtoZ_rtpFilter_fail_2.pcap":        "the same: a T.38 re-INVITE makes tshark read later RTP as T.38",
}

var sipMessages = regexp.MustCompile(`Number of SIP messages: (\d+)`)

// TestAgainstTshark compares, for every shared capture, the RTP streams
// that tshark finds set up by SDP with the packets the recorder counts on
// the same addresses, and tshark's SIP message count (port 5060) with the
// recorder's (any port). The recorder leaves out packets that arrive after
// the BYE, so its counts may be lower by a few.
func TestAgainstTshark(t *testing.T) {
	dir := sharedDir(t)
	needTool(t, "tshark")
	files, _ := filepath.Glob(filepath.Join(dir, "*.*cap*"))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, calls := inspect(t, f)
			// Each of our stream directions, and what tshark counts for it:
			// a tshark stream belongs to a direction when its source is
			// where that direction's sender receives (symmetric RTP) or its
			// destination is where the receiver receives. tshark splits a
			// direction by SSRC, and follows media that moves mid-call as
			// new streams; both are summed.
			type counter struct {
				ours, tshark int
				name         string
			}
			var dirs []*counter
			type match struct{ src, dst string }
			var keys []match
			for _, c := range calls {
				for _, l := range c.Legs {
					for _, m := range append(l.Media, l.Video...) {
						dirs = append(dirs, &counter{ours: m.CallerToCallee, name: m.CallerAddr + " > " + m.CalleeAddr},
							&counter{ours: m.CalleeToCaller, name: m.CalleeAddr + " > " + m.CallerAddr})
						keys = append(keys, match{m.CallerAddr, m.CalleeAddr}, match{m.CalleeAddr, m.CallerAddr})
					}
				}
			}
			for _, s := range tsharkStreams(t, f) {
				// Both ends match best; then the sender's; then the receiver's
				// (one address can serve several calls in turn).
				found := false
				for _, ok := range []func(match) bool{
					func(k match) bool { return s.src == k.src && s.dst == k.dst },
					func(k match) bool { return s.src == k.src },
					func(k match) bool { return s.dst == k.dst },
				} {
					for i, k := range keys {
						if !found && ok(k) {
							dirs[i].tshark += s.pkts
							found = true
						}
					}
				}
				if !found {
					t.Errorf("tshark stream %s > %s (%d packets) not in any call", s.src, s.dst, s.pkts)
				}
			}
			for _, d := range dirs {
				if d.tshark == 0 {
					continue // tshark needs SDP it can see; unsignalled flows are checked in TestInspectFacts
				}
				if why, ok := tsharkMisreads[filepath.Base(f)]; ok && d.ours > d.tshark {
					t.Logf("%s: %d packets, tshark %d: %s", d.name, d.ours, d.tshark, why)
					continue
				}
				if d.ours > d.tshark || d.ours < d.tshark-10 {
					t.Errorf("%s: %d packets, tshark %d", d.name, d.ours, d.tshark)
				}
			}
			out, err := exec.Command("tshark", "-n", "-r", f, "-q", "-z", "sip,stat").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			m := sipMessages.FindSubmatch(out)
			if m == nil {
				return
			}
			want, _ := strconv.Atoi(string(m[1]))
			stats, err := exec.Command(recorderd, "inspect", "-stats", f).CombinedOutput()
			if err != nil {
				t.Fatalf("inspect -stats: %v", err)
			}
			seen := 0
			for _, k := range []string{"SIPMessages", "Duplicates", "SIPErrors"} {
				if m := regexp.MustCompile(k + `:(\d+)`).FindSubmatch(stats); m != nil {
					n, _ := strconv.Atoi(string(m[1]))
					seen += n
				}
			}
			if seen < want {
				t.Errorf("recorder saw %d SIP messages, tshark %d", seen, want)
			}
		})
	}
}
