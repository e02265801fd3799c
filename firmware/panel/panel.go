package panel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"callrec/hal"
)

// Panel is the front panel's lights and the watchdog.
//
//	STATUS  green   1 Hz while starting; steady when ready; off when the daemon is dead
//	REC     red     steady while a call is recorded; 1 Hz when, besides, the disk is low
//	OPT-OUT amber   steady while an opted-out call is live, and 10 s after any opt-out;
//	                2 Hz while the button waits for a choice on the web page
//	FAULT   amber   a warning (clock not synchronised, mirror port silent, disk over 85%)
//	        red     recording is impossible (no capture, disk full, vault unwritable);
//	                a code (N pulses at 4 Hz, then 2 s dark) for a start-up failure
type Panel struct {
	Status, Rec, OptOut hal.LED
	Fault               hal.LED      // amber (or the only fault LED)
	FaultRed            hal.LED      // red; nil: the one fault LED shows both
	Watchdog            hal.Watchdog // nil: none
	Log                 *slog.Logger

	mu      sync.Mutex
	shown   Lights
	testing atomic.Bool // Test has the LEDs
}

// Pattern is how one LED shows: off, on, blinking, or a blink code.
type Pattern uint8

// The patterns; Code(n) makes a blink code.
const (
	Off  Pattern = iota
	On           // steady
	Slow         // 1 Hz
	Fast         // 2 Hz
	codes
)

// Code is n pulses at 4 Hz, then 2 s dark (n from 1 to 9).
func Code(n int) Pattern { return codes + Pattern(min(max(n, 1), 9)) - 1 }

// String names a pattern ("off", "on", "1 Hz", "2 Hz", "code 3").
func (p Pattern) String() string {
	switch p {
	case Off:
		return "off"
	case On:
		return "on"
	case Slow:
		return "1 Hz"
	case Fast:
		return "2 Hz"
	}
	return fmt.Sprintf("code %d", p-codes+1)
}

// MarshalText writes the pattern's name (the status snapshot's form).
func (p Pattern) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a pattern's name.
func (p *Pattern) UnmarshalText(b []byte) error {
	for q := range codes + 9 {
		if q.String() == string(b) {
			*p = q
			return nil
		}
	}
	return fmt.Errorf("panel: no pattern %q", b)
}

// lit says whether the pattern lights its LED at t into its cycle.
func (p Pattern) lit(t time.Duration) bool {
	switch p {
	case Off:
		return false
	case On:
		return true
	case Slow:
		return t%time.Second < 500*time.Millisecond
	case Fast:
		return t%(500*time.Millisecond) < 250*time.Millisecond
	}
	n := time.Duration(p-codes) + 1
	pulse := 250 * time.Millisecond // 4 Hz
	t %= n*pulse + 2*time.Second
	return t < n*pulse && t%pulse < pulse/2
}

// Lights is what the LEDs show.
type Lights struct {
	Status   Pattern `json:"status"`
	Rec      Pattern `json:"rec"`
	OptOut   Pattern `json:"optout"`
	Fault    Pattern `json:"fault"`
	FaultRed bool    `json:"fault_red,omitempty"` // red (recording impossible, a start-up failure), not amber
}

// State is the box's state as the panel shows it.
type State struct {
	Starting     bool
	StartFailure int  // a start-up failure's blink code (0: none)
	Recording    bool // a call is being recorded
	DiskLow      bool // below the disk's warning level, still recording
	OptOutLive   bool // an opted-out call is in progress
	OptOutRecent bool // an opt-out in the last 10 s
	Choosing     bool // the button was pressed with several calls live: the choice is on the web page
	Warning      bool // clock not synchronised, mirror port silent, disk over 85%
	Critical     bool // recording impossible: no capture, disk full, vault unwritable
}

// Decide is the LEDs for a state.
func Decide(s State) Lights {
	var l Lights
	switch {
	case s.StartFailure > 0:
		return Lights{Fault: Code(s.StartFailure), FaultRed: true}
	case s.Starting:
		l.Status = Slow
	default:
		l.Status = On
	}
	switch {
	case s.Recording && s.DiskLow:
		l.Rec = Slow
	case s.Recording:
		l.Rec = On
	}
	switch {
	case s.Choosing:
		l.OptOut = Fast
	case s.OptOutLive, s.OptOutRecent:
		l.OptOut = On
	}
	switch {
	case s.Critical:
		l.Fault, l.FaultRed = On, true
	case s.Warning:
		l.Fault = On
	}
	return l
}

// Health is the box's state as the panel sees it.
type Health struct {
	State
	// Alive is false when a part that must keep running (capture, the
	// disk worker) has not shown progress in time: the watchdog is then
	// starved and resets the box.
	Alive bool
}

// LampTest lights every LED and turns them off again, as a technician
// expects at power-on.
func (p *Panel) LampTest() {
	for _, l := range p.leds() {
		l.Set(true)
	}
	for _, l := range p.leds() {
		l.Set(false)
	}
}

// Test lights each LED alone for step, in turn (status, rec, opt-out,
// fault amber, fault red), for a technician to see each works; Run leaves
// the LEDs alone meanwhile (and still feeds the watchdog).
func (p *Panel) Test(ctx context.Context, step time.Duration) error {
	p.testing.Store(true)
	defer p.testing.Store(false)
	leds := p.leds()
	for _, l := range leds {
		l.Set(false)
	}
	for _, l := range leds {
		if err := l.Set(true); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			l.Set(false)
			return ctx.Err()
		case <-time.After(step):
		}
		l.Set(false)
	}
	return nil
}

func (p *Panel) leds() []hal.LED {
	var out []hal.LED
	for _, l := range []hal.LED{p.Status, p.Rec, p.OptOut, p.Fault, p.FaultRed} {
		if l != nil {
			out = append(out, l)
		}
	}
	return out
}

// Show sets the LEDs to lights, at t into their patterns' cycles.
func (p *Panel) Show(l Lights, t time.Duration) error {
	p.mu.Lock()
	p.shown = l
	p.mu.Unlock()
	set := func(led hal.LED, on bool) error {
		if led == nil {
			return nil
		}
		return led.Set(on)
	}
	amber, red := l.Fault.lit(t) && !l.FaultRed, l.Fault.lit(t) && l.FaultRed
	if p.FaultRed == nil {
		amber, red = l.Fault.lit(t), false
	}
	return errors.Join(set(p.Status, l.Status.lit(t)), set(p.Rec, l.Rec.lit(t)), set(p.OptOut, l.OptOut.lit(t)),
		set(p.Fault, amber), set(p.FaultRed, red))
}

// Shown is what the LEDs show now (their patterns), for the status page
// and `recorderd status`.
func (p *Panel) Shown() Lights {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.shown
}

// Tick is how often Run steps the LEDs' patterns and reads the box's
// health: the 4 Hz pulses of a blink code need 125 ms.
const Tick = 125 * time.Millisecond

// Run keeps the LEDs in step with health and feeds the watchdog every
// feed while health says the box is alive. It returns when ctx is done,
// leaving the recording and opt-out LEDs off.
func (p *Panel) Run(ctx context.Context, feed time.Duration, health func() Health) error {
	if feed <= 0 {
		return errors.New("panel: the watchdog feed interval must be positive")
	}
	log := p.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(min(feed, Tick))
	defer t.Stop()
	epoch := time.Now()
	var lastFeed time.Time
	var failing bool
	for {
		h := health()
		now := time.Now()
		if p.testing.Load() {
			// a technician's LED test has the LEDs
		} else if err := p.Show(Decide(h.State), now.Sub(epoch)); err != nil {
			if !failing {
				log.Error("panel: LED not set", "err", err)
			}
			failing = true
		} else {
			failing = false
		}
		if p.Watchdog != nil && h.Alive && now.Sub(lastFeed) >= feed {
			if err := p.Watchdog.Feed(); err != nil {
				log.Error("watchdog feed failed", "err", err)
			}
			lastFeed = now
		}
		select {
		case <-ctx.Done():
			p.Rec.Set(false)
			if p.OptOut != nil {
				p.OptOut.Set(false)
			}
			return nil
		case <-t.C:
		}
	}
}

// Blink shows a start-up failure's code on the fault LED for d, or until
// ctx is done: the daemon is stopping, and a technician at the box reads
// why from the panel.
func (p *Panel) Blink(ctx context.Context, code int, d time.Duration) {
	l := Lights{Fault: Code(code), FaultRed: true}
	t := time.NewTicker(Tick)
	defer t.Stop()
	start := time.Now()
	for {
		el := time.Since(start)
		if el >= d {
			p.Show(Lights{}, 0)
			return
		}
		p.Show(l, el)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
