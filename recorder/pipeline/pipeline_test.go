package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"callrec/recorder/capture"
	ct "callrec/recorder/capture/capturetest"
	"callrec/recorder/mix"
	"callrec/recorder/pipeline"
	"callrec/recorder/track"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func party(user, ip string, tag string) ct.Party {
	a := netip.MustParseAddr(ip)
	return ct.Party{User: user, SIP: netip.AddrPortFrom(a, 5060), RTP: netip.AddrPortFrom(a, 4000), Tag: tag}
}

// calls scripts n tone calls, one second apart, between distinct parties.
func calls(n int, dur time.Duration) []ct.Frame {
	var frames []ct.Frame
	for i := range n {
		d := &ct.Dialog{CallID: fmt.Sprintf("p-%d", i),
			Caller: party(fmt.Sprint(200+i), fmt.Sprintf("10.1.0.%d", i+1), "a"),
			Callee: party(fmt.Sprintf("0163296%04d", i), fmt.Sprintf("10.2.0.%d", i+1), "b")}
		frames = append(frames, ct.ToneCall(d, t0.Add(time.Duration(i)*time.Second), dur, 400, 900)...)
	}
	slices.SortStableFunc(frames, func(x, y ct.Frame) int { return x.Time.Compare(y.Time) })
	return frames
}

func pcapOf(t *testing.T, frames []ct.Frame) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := ct.WritePcap(&b, 1, frames); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func reader(t *testing.T, pcap []byte) capture.Source {
	t.Helper()
	src, err := capture.NewReader(bytes.NewReader(pcap))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// memSink keeps each recording in memory, by call id.
type memSink struct {
	mu    sync.Mutex
	files map[string]*memFile
}

type memFile struct {
	bytes.Buffer
	closed bool
}

func (f *memFile) Close() error { f.closed = true; return nil }

func (s *memSink) Create(c *track.Call) (io.WriteCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := &memFile{}
	s.files[c.ID] = f
	return f, nil
}

func TestRunRecordsEveryCall(t *testing.T) {
	sink := &memSink{files: map[string]*memFile{}}
	var ended []string
	var finished []mix.Info
	p := pipeline.New(pipeline.Config{Sink: sink,
		Mix: mix.Config{OnFinish: func(i mix.Info) { finished = append(finished, i) }},
		OnEvent: func(e track.Event) {
			if e.Kind == track.CallEnded {
				ended = append(ended, e.Call.ID)
			}
		}}, nil)
	if err := p.Run(context.Background(), reader(t, pcapOf(t, calls(3, 2*time.Second)))); err != nil {
		t.Fatalf("Run = %v, want nil at the end of the file", err)
	}
	p.Close("capture_end")
	if len(ended) != 3 || len(finished) != 3 || len(sink.files) != 3 {
		t.Fatalf("%d ended, %d finished, %d files; want 3 each", len(ended), len(finished), len(sink.files))
	}
	for _, i := range finished {
		f := sink.files[i.Call.ID]
		if !f.closed || f.Len() == 0 || i.Err != nil {
			t.Errorf("call %s: closed %v, %d bytes, err %v", i.Call.ID, f.closed, f.Len(), i.Err)
		}
		if d := i.Duration; d < 1900*time.Millisecond || d > 2100*time.Millisecond {
			t.Errorf("call %s: duration %v, want about 2 s", i.Call.ID, d)
		}
	}
	st := p.Stats()
	if st.Track.CallsStarted != 3 || st.Track.CallsEnded != 3 || st.Capture.Packets == 0 || st.Active != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

// TestCloseFinishesOpenCalls stops in the middle of calls, as a shutdown
// does: each recording is closed with the reason given.
func TestCloseFinishesOpenCalls(t *testing.T) {
	frames := calls(2, 4*time.Second)
	sink := &memSink{files: map[string]*memFile{}}
	var reasons []string
	p := pipeline.New(pipeline.Config{Sink: sink, OnEvent: func(e track.Event) {
		if e.Kind == track.CallEnded {
			reasons = append(reasons, e.Call.EndReason)
		}
	}}, nil)
	if err := p.Run(context.Background(), reader(t, pcapOf(t, frames[:len(frames)/2]))); err != nil {
		t.Fatal(err)
	}
	if got := p.Calls(); len(got) != 2 || got[0].From.Raw != "200" {
		t.Fatalf("Calls() = %d calls, want both in progress", len(got))
	}
	p.Close("stopped")
	p.Close("stopped") // a second close changes nothing
	if !slices.Equal(reasons, []string{"stopped", "stopped"}) {
		t.Errorf("end reasons %q, want stopped twice", reasons)
	}
	for id, f := range sink.files {
		if !f.closed || f.Len() == 0 {
			t.Errorf("call %s: closed %v with %d bytes", id, f.closed, f.Len())
		}
	}
}

// TestTwoSourcesOneTracker feeds two sources at once, as two SPAN ports
// would: their calls land in one tracker and their counters add up.
func TestTwoSourcesOneTracker(t *testing.T) {
	frames := calls(2, 2*time.Second)
	var a, b []ct.Frame
	for _, f := range frames {
		// Each call on its own port: 10.1.0.1's on one, 10.1.0.2's on the other.
		if bytes.Contains(f.Data, []byte{10, 1, 0, 1}) || bytes.Contains(f.Data, []byte{10, 2, 0, 1}) {
			a = append(a, f)
		} else {
			b = append(b, f)
		}
	}
	if len(a) == 0 || len(b) == 0 {
		t.Fatal("the calls were not split between the sources")
	}
	sink := &memSink{files: map[string]*memFile{}}
	p := pipeline.New(pipeline.Config{Sink: sink}, nil)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, part := range [][]ct.Frame{a, b} {
		src := reader(t, pcapOf(t, part))
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = p.Run(context.Background(), src) }()
	}
	wg.Wait()
	p.Close("capture_end")
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	if st.Capture.Packets != uint64(len(frames)) {
		t.Errorf("%d packets decoded over both sources, want %d", st.Capture.Packets, len(frames))
	}
	if st.Track.CallsStarted != 2 || len(sink.files) != 2 {
		t.Errorf("%d calls started, %d recorded; want 2 each", st.Track.CallsStarted, len(sink.files))
	}
}

// failing is a source that breaks after a few packets.
type failing struct {
	capture.Source
	left int
}

func (f *failing) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	if f.left == 0 {
		return nil, gopacket.CaptureInfo{}, errors.New("pcap: record header cut short")
	}
	f.left--
	return f.Source.ReadPacketData()
}

// TestBadInputKeepsWhatWasRead: a capture that breaks mid-way is an input
// error, and the calls read before the break are still recorded.
func TestBadInputKeepsWhatWasRead(t *testing.T) {
	frames := calls(1, 2*time.Second)
	sink := &memSink{files: map[string]*memFile{}}
	p := pipeline.New(pipeline.Config{Sink: sink}, nil)
	err := p.Run(context.Background(), &failing{Source: reader(t, pcapOf(t, frames)), left: len(frames) / 2})
	if !errors.Is(err, pipeline.ErrInput) {
		t.Fatalf("Run = %v, want ErrInput", err)
	}
	p.Close("capture_end")
	if len(sink.files) != 1 {
		t.Fatalf("%d recordings, want the one call read before the fault", len(sink.files))
	}
	for _, f := range sink.files {
		if f.Len() == 0 {
			t.Error("the recording is empty")
		}
	}
}

// quiet is a live source with nothing on the wire: every read times out.
type quiet struct{ reads int }

func (q *quiet) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	q.reads++
	time.Sleep(time.Millisecond)
	return nil, gopacket.CaptureInfo{}, timeoutErr{}
}
func (*quiet) LinkType() layers.LinkType { return layers.LinkTypeEthernet }

type timeoutErr struct{}

func (timeoutErr) Error() string { return "timeout" }

// TestRunStopsWithContext: a live source runs until its context is done.
func TestRunStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	before := time.Now()
	p := pipeline.New(pipeline.Config{}, nil)
	// A timeout that capture does not recognise is a failure...
	if err := p.Run(ctx, &quiet{}); err == nil || !errors.Is(err, pipeline.ErrInput) {
		t.Fatalf("Run on an unknown error = %v, want ErrInput", err)
	}
	// ...and a source that is only quiet runs until ctx is done.
	src := &quietLive{}
	if err := p.Run(ctx, src); err != nil {
		t.Fatalf("Run = %v, want nil when ctx is done", err)
	}
	if src.reads < 2 || !p.Alive().After(before) {
		t.Errorf("%d reads, alive at %v: the loop did not keep reading", src.reads, p.Alive())
	}
}

// quietLive is a live source with nothing on the wire.
type quietLive struct{ quiet }

func (q *quietLive) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	q.reads++
	time.Sleep(time.Millisecond)
	return nil, gopacket.CaptureInfo{}, capture.ErrTimeout
}

func TestLadder(t *testing.T) {
	var out bytes.Buffer
	if err := pipeline.Ladder(reader(t, pcapOf(t, calls(1, time.Second))), &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 6 || !strings.Contains(lines[0], `"INVITE sip:01632960000@10.2.0.1:5060"`) ||
		!strings.Contains(lines[0], "m=audio@10.1.0.1:4000/sendrecv") || !strings.Contains(lines[5], `"200 OK"`) {
		t.Errorf("ladder:\n%s", out.String())
	}
}

// TestInspect: a file's calls come out in order of start, once each, and
// ended; live, each comes out as it ends.
func TestInspect(t *testing.T) {
	frames := calls(3, 2*time.Second)
	for _, live := range []bool{false, true} {
		var got []string
		_, err := pipeline.Inspect(context.Background(), reader(t, pcapOf(t, frames)), track.Config{}, live, func(c *track.Call) error {
			if c.End.IsZero() {
				t.Errorf("live=%v: call %v handed out before it ended", live, c.SIPCallIDs)
			}
			got = append(got, c.SIPCallIDs[0])
			return nil
		}, nil)
		if err != nil || strings.Join(got, " ") != "p-0 p-1 p-2" {
			t.Errorf("Inspect(live=%v) = %v, %v; want p-0 p-1 p-2", live, got, err)
		}
	}
}

// TestOptOut: an opt-out mid-call closes that call's recording at once,
// flagged, and nothing more of it is recorded; the other call goes on
// whole; a call not in progress is ErrNotLive.
func TestOptOut(t *testing.T) {
	sink := &memSink{files: map[string]*memFile{}}
	var finished []mix.Info
	p := pipeline.New(pipeline.Config{Sink: sink, Mix: mix.Config{OnFinish: func(i mix.Info) { finished = append(finished, i) }}}, nil)
	frames := calls(2, 4*time.Second) // p-0 from t0, p-1 from t0+1s
	cut := slices.IndexFunc(frames, func(f ct.Frame) bool { return f.Time.After(t0.Add(2500 * time.Millisecond)) })
	if err := p.Run(context.Background(), reader(t, pcapOf(t, frames[:cut]))); err != nil {
		t.Fatal(err)
	}
	live := p.Live()
	if len(live) != 2 || live[0].OptedOut || p.OptedOutLive() {
		t.Fatalf("Live = %+v", live)
	}
	if _, err := p.OptOut("nope"); !errors.Is(err, pipeline.ErrNotLive) {
		t.Errorf("OptOut(nope) = %v, want ErrNotLive", err)
	}
	ids, err := p.OptOut(live[0].ID)
	if err != nil || len(ids) != 1 || ids[0] != live[0].ID {
		t.Fatalf("OptOut = %v, %v", ids, err)
	}
	stopped := sink.files[live[0].ID]
	if !stopped.closed || len(finished) != 1 || !slices.Contains(finished[0].Flags, mix.FlagOptedOut) {
		t.Fatalf("after the opt-out: closed %v, %d finished %+v", stopped.closed, len(finished), finished)
	}
	size := stopped.Len()
	if _, err := p.OptOut(live[0].ID); !errors.Is(err, pipeline.ErrOptedOut) {
		t.Errorf("a second opt-out = %v, want ErrOptedOut", err)
	}
	if !p.Live()[0].OptedOut || !p.OptedOutLive() {
		t.Error("Live does not show the opt-out")
	}
	if err := p.Run(context.Background(), reader(t, pcapOf(t, frames[cut:]))); err != nil {
		t.Fatal(err)
	}
	p.Close("capture_end")
	if stopped.Len() != size {
		t.Errorf("the opted-out recording grew from %d to %d bytes", size, stopped.Len())
	}
	if len(finished) != 2 || finished[1].Call.ID != live[1].ID || finished[1].Duration < 3900*time.Millisecond {
		t.Errorf("the other call: %+v", finished[1:])
	}
	if finished[0].Duration > 2600*time.Millisecond || finished[0].Duration < 2*time.Second {
		t.Errorf("the opted-out call was recorded for %v, want to the moment of the opt-out (2.5 s)", finished[0].Duration)
	}
}

// TestOptOutCoversTransfer: after an opt-out, the leg a blind transfer
// adds to the conversation is not recorded either.
func TestOptOutCoversTransfer(t *testing.T) {
	alice, bob, carol := party("+441632960001", "203.0.113.5", "a"), party("201", "10.0.0.11", "b"), party("203", "10.0.0.13", "c")
	d1 := &ct.Dialog{CallID: "ab@x", Caller: alice, Callee: bob}
	d2 := &ct.Dialog{CallID: "bc@x", Caller: bob, Callee: carol}
	now := t0
	var part1, part2 []ct.Frame
	sip := func(into *[]ct.Frame, from, to ct.Party, msg []byte) {
		*into = append(*into, ct.Frame{Time: now, Data: ct.UDPFrame(from.SIP, to.SIP, msg)})
		now = now.Add(10 * time.Millisecond)
	}
	media := func(into *[]ct.Frame, a, b ct.Party, n int) {
		*into = append(*into, ct.Stream(a.RTP, b.RTP, 0x1111, now, n, ct.Silence)...)
		*into = append(*into, ct.Stream(b.RTP, a.RTP, 0x2222, now, n, ct.Silence)...)
		slices.SortStableFunc(*into, func(x, y ct.Frame) int { return x.Time.Compare(y.Time) })
		now = now.Add(time.Duration(n) * 20 * time.Millisecond)
	}
	sip(&part1, alice, bob, d1.Request("INVITE", true, "sendrecv"))
	sip(&part1, bob, alice, d1.Response(200, "OK", "INVITE", true, "sendrecv"))
	media(&part1, alice, bob, 50)
	sip(&part2, alice, bob, d1.Request("REFER", true, "", "Refer-To: <sip:203@10.0.0.13>", "Referred-By: <sip:201@10.0.0.11>"))
	sip(&part2, bob, alice, d1.Response(202, "Accepted", "REFER", true, ""))
	sip(&part2, bob, carol, d2.Request("INVITE", true, "sendrecv", "Referred-By: <sip:201@10.0.0.11>"))
	sip(&part2, carol, bob, d2.Response(200, "OK", "INVITE", true, "sendrecv"))
	media(&part2, bob, carol, 50)
	sip(&part2, bob, carol, d2.Request("BYE", true, ""))
	sip(&part2, alice, bob, d1.Request("BYE", true, ""))

	sink := &memSink{files: map[string]*memFile{}}
	var finished []mix.Info
	p := pipeline.New(pipeline.Config{Sink: sink, Mix: mix.Config{OnFinish: func(i mix.Info) { finished = append(finished, i) }}}, nil)
	if err := p.Run(context.Background(), reader(t, pcapOf(t, part1))); err != nil {
		t.Fatal(err)
	}
	live := p.Live()
	if len(live) != 1 {
		t.Fatalf("%d calls live", len(live))
	}
	if _, err := p.OptOut(live[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background(), reader(t, pcapOf(t, part2))); err != nil {
		t.Fatal(err)
	}
	p.Close("capture_end")
	if len(sink.files) != 1 {
		t.Errorf("%d recordings made, want only the first leg's (stopped)", len(sink.files))
	}
	var legs int
	for _, i := range finished {
		if !slices.Contains(i.Flags, mix.FlagOptedOut) {
			t.Errorf("call %s finished without the opt-out flag: %v", i.Call.ID, i.Flags)
		}
		legs++
	}
	if legs != 2 {
		t.Errorf("%d calls reported, want both legs", legs)
	}
}
