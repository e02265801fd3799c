package panel

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"callrec/hal"
)

// Panel is the front panel's lights and the watchdog.
type Panel struct {
	Rec, OptOut, Fault hal.LED
	Watchdog           hal.Watchdog // nil: none
	Log                *slog.Logger

	shown atomic.Pointer[Lights]
}

// Shown is what the LEDs were last set to, for the status page.
func (p *Panel) Shown() Lights {
	if l := p.shown.Load(); l != nil {
		return *l
	}
	return Lights{}
}

// Lights is what the LEDs show.
type Lights struct {
	Recording bool // a recording is being written
	OptOut    bool // a live call asked not to be recorded
	Fault     bool // storage or capture needs a technician
}

// Health is the box's state as the panel sees it.
type Health struct {
	Lights
	// Alive is false when a part that must keep running (capture) has
	// stopped: the watchdog is then starved and resets the box.
	Alive bool
}

// LampTest lights every LED and turns them off again, as a technician
// expects at power-on.
func (p *Panel) LampTest() {
	leds := []hal.LED{p.Rec, p.OptOut, p.Fault}
	for _, l := range leds {
		l.Set(true)
	}
	for _, l := range leds {
		l.Set(false)
	}
}

// Show sets the LEDs.
func (p *Panel) Show(l Lights) error {
	p.shown.Store(&l)
	return errors.Join(p.Rec.Set(l.Recording), p.OptOut.Set(l.OptOut), p.Fault.Set(l.Fault))
}

// Refresh is how often Run reads the box's health for the LEDs.
const Refresh = 100 * time.Millisecond

// Run keeps the LEDs in step with health and feeds the watchdog every
// feed while health says the box is alive. It returns when ctx is done,
// leaving the recording LED off.
func (p *Panel) Run(ctx context.Context, feed time.Duration, health func() Health) error {
	if feed <= 0 {
		return errors.New("panel: the watchdog feed interval must be positive")
	}
	log := p.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(min(feed, Refresh))
	defer t.Stop()
	var shown Lights
	first := true
	var lastFeed time.Time
	for {
		h := health()
		if first || h.Lights != shown {
			if err := p.Show(h.Lights); err != nil {
				log.Error("panel: LED not set", "err", err)
			}
			shown, first = h.Lights, false
		}
		if now := time.Now(); p.Watchdog != nil && h.Alive && now.Sub(lastFeed) >= feed {
			if err := p.Watchdog.Feed(); err != nil {
				log.Error("watchdog feed failed", "err", err)
			}
			lastFeed = now
		}
		select {
		case <-ctx.Done():
			p.Rec.Set(false)
			return nil
		case <-t.C:
		}
	}
}
