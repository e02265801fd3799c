package panel

import (
	"context"
	"sync"
	"testing"
	"time"

	"callrec/hal/haltest"
)

func newPanel() (*Panel, *haltest.LED, *haltest.LED, *haltest.LED, *haltest.Watchdog) {
	rec, opt, fault, wd := &haltest.LED{}, &haltest.LED{}, &haltest.LED{}, &haltest.Watchdog{}
	return &Panel{Rec: rec, OptOut: opt, Fault: fault, Watchdog: wd}, rec, opt, fault, wd
}

func TestLampTest(t *testing.T) {
	p, rec, opt, fault, _ := newPanel()
	p.LampTest()
	for name, l := range map[string]*haltest.LED{"rec": rec, "optout": opt, "fault": fault} {
		if l.On() || l.Changes() != 2 {
			t.Errorf("%s: on %v after %d changes; want lit once and off again", name, l.On(), l.Changes())
		}
	}
}

// health is a health report the test changes while Run reads it.
type health struct {
	mu sync.Mutex
	h  Health
}

func (h *health) get() Health  { h.mu.Lock(); defer h.mu.Unlock(); return h.h }
func (h *health) set(v Health) { h.mu.Lock(); h.h = v; h.mu.Unlock() }
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestRunFollowsHealth(t *testing.T) {
	p, rec, opt, fault, wd := newPanel()
	h := &health{h: Health{Alive: true}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, 5*time.Millisecond, h.get) }()

	waitFor(t, "the watchdog fed while alive", func() bool { return wd.Feeds() >= 3 })
	h.set(Health{Alive: true, Lights: Lights{Recording: true, Fault: true}})
	waitFor(t, "rec and fault lit", func() bool { return rec.On() && fault.On() && !opt.On() })
	h.set(Health{Alive: true, Lights: Lights{OptOut: true}})
	waitFor(t, "only opt-out lit", func() bool { return !rec.On() && !fault.On() && opt.On() })

	// A hung capture: the watchdog is starved.
	h.set(Health{Alive: false})
	time.Sleep(20 * time.Millisecond) // a feed already due may still land
	starved := wd.Feeds()
	time.Sleep(50 * time.Millisecond)
	if wd.Feeds() != starved {
		t.Errorf("the watchdog was fed %d times while the box was not alive", wd.Feeds()-starved)
	}
	h.set(Health{Alive: true, Lights: Lights{Recording: true}})
	waitFor(t, "rec lit", rec.On)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rec.On() {
		t.Error("the recording LED stays lit after the panel stopped")
	}
}

func TestRunRefusesZeroFeed(t *testing.T) {
	p, _, _, _, _ := newPanel()
	if err := p.Run(context.Background(), 0, func() Health { return Health{} }); err == nil {
		t.Error("Run with a zero feed interval returned nil")
	}
}
