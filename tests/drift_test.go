package tests

import (
	"math"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// wireOffsets reads one direction's packets with tshark and returns, for
// a moment at (relative to start), where the wire puts the sender's
// audio against its own timeline anchored at the least-delayed packet of
// the call (as reference lays it out): the least delay of the packets
// within a second either side, above the call's least. It follows clock
// drift and changes of network delay, not jitter.
func wireOffsets(t *testing.T, file, src string, start time.Time) func(at time.Duration) time.Duration {
	t.Helper()
	i := strings.LastIndex(src, ":")
	ip, port := strings.Trim(src[:i], "[]"), src[i+1:]
	out, err := exec.Command("tshark", "-n", "-r", file, "-Y", "rtp && ip.src=="+ip+" && udp.srcport=="+port+" && rtp.p_type < 100 && rtp.p_type != 13",
		"-T", "fields", "-e", "frame.time_epoch", "-e", "rtp.timestamp").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	type pkt struct{ at, delay time.Duration }
	var pkts []pkt
	var ts0 int64
	least := time.Duration(math.MaxInt64)
	for n, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		sec, _ := strconv.ParseFloat(f[0], 64)
		ts, _ := strconv.ParseInt(f[1], 10, 64)
		if n == 0 {
			ts0 = ts
		}
		at := time.Unix(0, int64(sec*1e9)).Sub(start)
		delay := at - time.Duration(ts-ts0)*time.Second/8000
		least = min(least, delay)
		pkts = append(pkts, pkt{at, delay})
	}
	return func(at time.Duration) time.Duration {
		m := time.Duration(math.MaxInt64)
		for _, p := range pkts {
			if p.at > at-time.Second && p.at < at+time.Second {
				m = min(m, p.delay)
			}
		}
		if m == math.MaxInt64 {
			return 0
		}
		return m - least
	}
}

// lagTrack aligns got against the wire reference 2 s at a time (every
// second), for each window with speech and a clear match: the window's
// start (in samples) and how far got lies from the wire there (samples;
// positive is late), within ±60 ms.
func lagTrack(ref, got []float64) (at, lags []int) {
	const win, hop, search = 32000, 16000, 960
	for b := search; b+win+search <= len(ref) && b+win+search <= len(got); b += hop {
		if energy(ref[b:b+win]) < 300*300 {
			continue // no speech to align on
		}
		best, bestLag := 0.0, 0
		er := energy(ref[b : b+win])
		for lag := -search; lag <= search; lag++ {
			var s float64
			for i := 0; i < win; i += 2 {
				s += ref[b+i] * got[b+i+lag]
			}
			if r := s / math.Sqrt(er*energy(got[b+lag:b+lag+win])+1) * 2; r > best {
				best, bestLag = r, lag
			}
		}
		if best > 0.5 {
			at, lags = append(at, b), append(lags, bestLag)
		}
	}
	return at, lags
}

// energy is the mean square of every other sample.
func energy(x []float64) float64 {
	var e float64
	for i := 0; i < len(x); i += 2 {
		e += x[i] * x[i]
	}
	return e / float64(len(x)/2)
}

// stepAt finds where, between two windows whose lags differ, got moved from
// lag1 to lag2: the 20 ms boundary that best splits it, by the error
// against the reference on each side.
func stepAt(ref, got []float64, from, to, lag1, lag2 int) int {
	best, bestAt := math.Inf(1), from
	errAt := func(i, lag int) float64 {
		if j := i + lag; j >= 0 && j < len(got) {
			d := ref[i] - got[j]
			return d * d
		}
		return 0
	}
	// Running sums: before the split at lag1, after it at lag2.
	var after float64
	for i := from; i < to; i++ {
		after += errAt(i, lag2)
	}
	var before float64
	for s := from; s < to; s += 320 {
		if before+after < best {
			best, bestAt = before+after, s
		}
		for i := s; i < s+320 && i < to; i++ {
			before += errAt(i, lag1)
			after -= errAt(i, lag2)
		}
	}
	return bestAt
}

// TestDriftOnRealCall measures, on a real call, where each party's speech
// lands in the recording against where the wire puts it (arrival time),
// window by window: each party within 20 ms of the wire, every correction
// of the drift (a step of the lag between windows) placed where the wire
// audio around it is a pause, not speech, and the worst offset between the
// two channels reported.
func TestDriftOnRealCall(t *testing.T) {
	dir := sharedDir(t)
	needTool(t, "tshark")
	needTool(t, "sox")
	f := filepath.Join(dir, "wsw-rtp_conversacion.pcap")
	out, calls := runExtract(t, f)
	c := calls[0]
	left, right := decodeMP3(t, filepath.Join(out, c.File))
	end, _ := time.Parse(time.RFC3339Nano, c.End)
	start := end.Add(-time.Duration(c.DurationMS) * time.Millisecond)
	m := c.Legs[0].Media[0]
	tracks := map[string][2][]int{}
	for side, ch := range map[string][]float64{m.CallerAddr: left, m.CalleeAddr: right} {
		// Steps: against the sender's own timeline (payloads laid out by
		// timestamp), a correction is a jump of the lag, and must fall in a
		// pause. Network delay changes do not show here.
		timeline, first := reference(t, f, side, "ul")
		shift := int(first.Sub(start).Seconds() * 16000)
		placed := make([]float64, len(ch))
		for i, v := range timeline {
			if j := i + shift; j >= 0 && j < len(placed) {
				placed[j] = v
			}
		}
		at, lags := lagTrack(placed, ch)
		steps, audible := 0, 0
		for i := range lags {
			if i == 0 || (lags[i]-lags[i-1] <= 48 && lags[i-1]-lags[i] <= 48) {
				continue // within 3 ms: the clocks' drift, not a step
			}
			steps++
			s := stepAt(placed, ch, at[i-1]+16000, at[i]+16000, lags[i-1], lags[i])
			lo, hi := max(s-480, 0), min(s+480, len(placed))
			speech := energy(placed[lo:hi]) > 300*300
			if speech {
				audible++
			}
			t.Logf("%s: a step of %+.1f ms at %.2f s; level around it %.0f (±30 ms), %.0f (±200 ms); speech: %v", side, float64(lags[i]-lags[i-1])/16, float64(s)/16000, math.Sqrt(energy(placed[lo:hi])), math.Sqrt(energy(placed[max(s-3200, 0):min(s+3200, len(placed))])), speech)
		}
		// Placement: against the wire, the timeline lag less where the
		// wire has the sender's audio at that moment.
		wire := wireOffsets(t, f, side, start)
		worst := 0
		wlags := make([]int, len(lags))
		for i, l := range lags {
			centre := time.Duration(at[i]+16000) * time.Second / 16000
			wlags[i] = l - int(wire(centre).Seconds()*16000)
			worst = max(worst, wlags[i], -wlags[i])
		}
		t.Logf("%s: %d steps, %d audible (inside speech); worst %.1f ms from the wire over %d windows", side, steps, audible, float64(worst)/16, len(wlags))
		if audible != 0 {
			t.Errorf("%s: %d drift corrections inside speech, want 0", side, audible)
		}
		if worst > 320 {
			t.Errorf("%s: up to %.1f ms from the wire, want at most 20 ms", side, float64(worst)/16)
		}
		if len(lags) < 10 {
			t.Errorf("%s: only %d windows aligned: the measurement is not reliable", side, len(lags))
		}
		wat := at
		tracks[side] = [2][]int{wat, wlags}
	}
	// The offset between the parties: each channel's lag at the same moment
	// (its nearest window within two seconds).
	a, b := tracks[m.CallerAddr], tracks[m.CalleeAddr]
	apart := 0
	for i, at := range a[0] {
		for j, bt := range b[0] {
			if d := at - bt; d > -32000 && d < 32000 {
				apart = max(apart, a[1][i]-b[1][j], b[1][j]-a[1][i])
			}
		}
	}
	t.Logf("the parties are at most %.1f ms further apart than on the wire", float64(apart)/16)
	if apart > 640 {
		t.Errorf("the parties are up to %.1f ms further apart than on the wire, beyond the 20 ms each may be off", float64(apart)/16)
	}
}
