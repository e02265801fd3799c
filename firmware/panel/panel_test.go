package panel

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"callrec/hal/haltest"
)

type leds struct{ status, rec, opt, amber, red *haltest.LED }

func newPanel() (*Panel, leds, *haltest.Watchdog) {
	l := leds{&haltest.LED{}, &haltest.LED{}, &haltest.LED{}, &haltest.LED{}, &haltest.LED{}}
	wd := &haltest.Watchdog{}
	return &Panel{Status: l.status, Rec: l.rec, OptOut: l.opt, Fault: l.amber, FaultRed: l.red, Watchdog: wd}, l, wd
}

func TestLampTest(t *testing.T) {
	p, l, _ := newPanel()
	p.LampTest()
	for name, led := range map[string]*haltest.LED{"status": l.status, "rec": l.rec, "optout": l.opt, "fault amber": l.amber, "fault red": l.red} {
		if led.On() || led.Changes() != 2 {
			t.Errorf("%s: on %v after %d changes; want lit once and off again", name, led.On(), led.Changes())
		}
	}
}

func TestDecide(t *testing.T) {
	tests := []struct {
		name  string
		state State
		want  string // status rec optout fault [red]
	}{
		{"starting", State{Starting: true}, "1 Hz off off off"},
		{"ready and idle", State{}, "on off off off"},
		{"recording", State{Recording: true}, "on on off off"},
		{"recording, disk low", State{Recording: true, DiskLow: true}, "on 1 Hz off off"},
		{"disk low, idle", State{DiskLow: true}, "on off off off"},
		{"an opted-out call live", State{Recording: true, OptOutLive: true}, "on on on off"},
		{"just opted out", State{OptOutRecent: true}, "on off on off"},
		{"the button waits for a choice", State{Choosing: true, OptOutLive: true}, "on off 2 Hz off"},
		{"a warning", State{Warning: true}, "on off off on"},
		{"recording impossible", State{Critical: true, Warning: true}, "on off off on red"},
		{"a start-up failure", State{StartFailure: 3, Recording: true}, "off off off code 3 red"},
	}
	for _, tt := range tests {
		l := Decide(tt.state)
		got := strings.Join([]string{l.Status.String(), l.Rec.String(), l.OptOut.String(), l.Fault.String()}, " ")
		if l.FaultRed {
			got += " red"
		}
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestPatterns samples each pattern through its cycle on the fake clock.
func TestPatterns(t *testing.T) {
	sample := func(p Pattern, every, span time.Duration) string {
		var b strings.Builder
		for at := time.Duration(0); at < span; at += every {
			if p.lit(at) {
				b.WriteByte('#')
			} else {
				b.WriteByte('.')
			}
		}
		return b.String()
	}
	for _, tt := range []struct {
		p     Pattern
		every time.Duration
		span  time.Duration
		want  string
	}{
		{Slow, 250 * time.Millisecond, 2 * time.Second, "##..##.."},
		{Fast, 125 * time.Millisecond, time.Second, "##..##.."},
		{Code(3), 125 * time.Millisecond, 2750 * time.Millisecond, "#.#.#." + strings.Repeat(".", 16)},
		{Code(1), 125 * time.Millisecond, 2500 * time.Millisecond, "#." + strings.Repeat(".", 16) + "#."},
	} {
		if got := sample(tt.p, tt.every, tt.span); got != tt.want {
			t.Errorf("%v: %s, want %s", tt.p, got, tt.want)
		}
	}
	var p Pattern
	if err := p.UnmarshalText([]byte("code 4")); err != nil || p != Code(4) {
		t.Errorf("UnmarshalText(code 4) = %v, %v", p, err)
	}
}

// health is a health report the test changes while Run reads it.
type health struct {
	mu sync.Mutex
	h  Health
}

func (h *health) get() Health  { h.mu.Lock(); defer h.mu.Unlock(); return h.h }
func (h *health) set(v Health) { h.mu.Lock(); h.h = v; h.mu.Unlock() }

// TestRunFollowsHealth runs the panel on the fake clock: the LEDs follow
// the state, blink in time, the watchdog is fed only while the box is
// alive, and stopping leaves REC and OPT-OUT dark.
func TestRunFollowsHealth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, l, wd := newPanel()
		h := &health{h: Health{State: State{Starting: true}, Alive: true}}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx, time.Second, h.get) }()

		// Starting: STATUS blinks at 1 Hz (two changes a second).
		before := l.status.Changes()
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if n := l.status.Changes() - before; n < 7 || n > 9 {
			t.Errorf("STATUS changed %d times in 4 s while starting, want 8 (1 Hz)", n)
		}
		if wd.Feeds() < 4 {
			t.Errorf("watchdog fed %d times in 4 s", wd.Feeds())
		}
		h.set(Health{State: State{Recording: true, OptOutRecent: true}, Alive: true})
		time.Sleep(time.Second)
		synctest.Wait()
		if !l.status.On() || !l.rec.On() || !l.opt.On() || l.amber.On() || l.red.On() {
			t.Errorf("recording after an opt-out: status %v rec %v opt %v", l.status.On(), l.rec.On(), l.opt.On())
		}
		if got := p.Shown(); got.Rec != On || got.OptOut != On {
			t.Errorf("Shown = %+v", got)
		}
		// Recording impossible: the red fault LED, not the amber.
		h.set(Health{State: State{Critical: true}, Alive: true})
		time.Sleep(time.Second)
		synctest.Wait()
		if !l.red.On() || l.amber.On() || l.rec.On() {
			t.Errorf("critical: red %v amber %v rec %v", l.red.On(), l.amber.On(), l.rec.On())
		}
		// A hung capture: the watchdog is starved.
		h.set(Health{Alive: false})
		time.Sleep(time.Second)
		starved := wd.Feeds()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if wd.Feeds() != starved {
			t.Errorf("the watchdog was fed %d times while the box was not alive", wd.Feeds()-starved)
		}
		h.set(Health{State: State{Recording: true}, Alive: true})
		time.Sleep(time.Second)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if l.rec.On() || l.opt.On() {
			t.Error("REC or OPT-OUT stays lit after the panel stopped")
		}
	})
}

// TestBlink shows a start-up failure's code: 3 pulses, then dark.
func TestBlink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, l, _ := newPanel()
		p.Blink(context.Background(), 3, 2750*time.Millisecond)
		if n := l.red.Changes(); n != 6 {
			t.Errorf("the red fault LED changed %d times for code 3 in one cycle, want 6 (3 pulses)", n)
		}
		if l.amber.Changes() != 0 || l.red.On() {
			t.Errorf("amber changed %d times; red on %v at the end", l.amber.Changes(), l.red.On())
		}
	})
}

func TestRunRefusesZeroFeed(t *testing.T) {
	p, _, _ := newPanel()
	if err := p.Run(context.Background(), 0, func() Health { return Health{} }); err == nil {
		t.Error("Run with a zero feed interval returned nil")
	}
}

// TestLEDTest: each LED lights alone, in turn, while Run leaves them be.
func TestLEDTest(t *testing.T) {
	var order []string
	var mu sync.Mutex
	led := func(name string) *haltest.LED {
		return &haltest.LED{OnSet: func(on bool) {
			if on {
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
			}
		}}
	}
	p := &Panel{Status: led("status"), Rec: led("rec"), OptOut: led("optout"), Fault: led("fault"), FaultRed: led("fault_red")}
	if err := p.Test(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	want := []string{"status", "rec", "optout", "fault", "fault_red"}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(order, ",") != strings.Join(want, ",") {
		t.Errorf("lit %v, want %v in turn", order, want)
	}
}
