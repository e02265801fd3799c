package appliance_test

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callrec/firmware/appliance"
	"callrec/firmware/config"
	"callrec/firmware/panel"
	"callrec/firmware/recording"
	"callrec/firmware/status"
	"callrec/hal/haltest"
	"callrec/recorder/capture"
	ct "callrec/recorder/capture/capturetest"
	"callrec/storage/archive"
	"callrec/storage/index"
)

// replay is a capture interface that replays a scripted call in real time.
type replay struct{ *capture.Paced }

func (replay) Close() error { return nil }

func party(user, ip, tag string) ct.Party {
	a := netip.MustParseAddr(ip)
	return ct.Party{User: user, SIP: netip.AddrPortFrom(a, 5060), RTP: netip.AddrPortFrom(a, 4000), Tag: tag}
}

func box(t *testing.T) config.Config {
	cfg := config.Default()
	dir := t.TempDir()
	cfg.Storage.DataDir, cfg.Storage.KeyFile, cfg.Storage.ReserveMB = filepath.Join(dir, "data"), filepath.Join(dir, "keys", "kek"), 0
	cfg.Web.Listen, cfg.Web.Redirect = "127.0.0.1:0", "off"
	return cfg
}

func testPanel() (*panel.Panel, *haltest.LED, *haltest.LED, *haltest.Watchdog) {
	rec, fault, dog := &haltest.LED{}, &haltest.LED{}, &haltest.Watchdog{}
	return &panel.Panel{Rec: rec, OptOut: &haltest.LED{}, Fault: fault, Watchdog: dog}, rec, fault, dog
}

// TestRunRecordsAndReports runs the box on a capture interface that
// carries one call: the call is recorded whole, the recording LED lights
// while it is, the watchdog is fed, the status snapshot says the box
// runs and names its audit head, and stopping leaves no fault.
func TestRunRecordsAndReports(t *testing.T) {
	cfg := box(t)
	d := &ct.Dialog{CallID: "app-1", Caller: party("+441632960001", "203.0.113.5", "a"), Callee: party("201", "10.0.0.21", "b")}
	var pcap bytes.Buffer
	ct.WritePcap(&pcap, 1, ct.ToneCall(d, time.Now(), 2*time.Second, 440, 880))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pnl, rec, fault, dog := testPanel()
	recSeen := make(chan struct{}, 1)
	rec.OnSet = func(on bool) {
		if on {
			select {
			case recSeen <- struct{}{}:
			default:
			}
		}
	}
	done := make(chan error, 1)
	go func() {
		done <- appliance.Run(ctx, appliance.Config{Box: cfg, Interfaces: []string{"test0"}, Version: "t",
			Capture: func(string) (appliance.Source, error) {
				src, err := capture.NewReader(bytes.NewReader(pcap.Bytes()))
				return replay{capture.NewPaced(ctx.Done(), src)}, err
			},
			Feed: 10 * time.Millisecond, StatusEvery: 50 * time.Millisecond}, pnl, nil)
	}()

	beside, err := archive.Open(cfg.Storage.Archive(recording.Format{}), nil) // as a technician's command would
	waitFor(t, "the archive", func() bool {
		if err != nil {
			beside, err = archive.Open(cfg.Storage.Archive(recording.Format{}), nil)
		}
		return err == nil
	})
	defer beside.Close()
	var calls []*index.Record
	waitFor(t, "the call recorded", func() bool {
		calls, _ = beside.Index().Find(index.Query{})
		return len(calls) == 1 && calls[0].Recording.State == index.StateComplete
	})
	s, _, err := status.Read(cfg.Storage.DataDir, time.Now())
	if err != nil || len(s.Interfaces) != 1 || s.Audit == nil || s.Audit.Seq == 0 || len(s.Web) != 95 || s.LEDs == nil || s.LEDs.Status != panel.On {
		t.Errorf("status = %+v, %v; want the running box with its audit head and web certificate", s, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	select {
	case <-recSeen:
	default:
		t.Error("the recording LED never lit")
	}
	if dog.Feeds() == 0 || fault.On() || calls[0].Recording.Duration < 1500 {
		t.Errorf("watchdog fed %d times, fault %v, recording %+v", dog.Feeds(), fault.On(), calls[0].Recording)
	}
}

// TestRunFailsVisibly: a capture interface that cannot be opened stops
// the box with the error, and the fault LED stays lit.
func TestRunFailsVisibly(t *testing.T) {
	pnl, _, fault, _ := testPanel()
	err := appliance.Run(context.Background(), appliance.Config{Box: box(t), Interfaces: []string{"eth9"},
		Capture:   func(string) (appliance.Source, error) { return nil, errors.New("no such interface") },
		FailBlink: 2750 * time.Millisecond}, pnl, nil)
	if err == nil || !strings.Contains(err.Error(), "no such interface") || !fault.On() {
		t.Errorf("Run = %v, fault LED %v; want the error and the fault lit", err, fault.On())
	}
	// Code 4 (capture) blinked once through: 4 pulses, then steady.
	if n := fault.Changes(); n < 9 {
		t.Errorf("the fault LED changed %d times; want the lamp test, code 4's pulses, then steady", n)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
