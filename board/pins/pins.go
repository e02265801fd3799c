// Package pins makes hal parts of a real board's GPIO lines, through
// periph.io: LEDs (active high or low), a debounced button, and the
// kernel's watchdog device.
package pins

import (
	"context"
	"errors"
	"fmt"
	"time"

	"periph.io/x/conn/v3/gpio"

	"callrec/hal"
)

// LED is an LED on a GPIO line.
type LED struct {
	pin       gpio.PinOut
	activeLow bool
}

var _ hal.LED = (*LED)(nil)

// NewLED drives pin as an LED, off to begin with. activeLow: the line is
// wired so that low lights it.
func NewLED(pin gpio.PinOut, activeLow bool) (*LED, error) {
	l := &LED{pin: pin, activeLow: activeLow}
	if err := l.Set(false); err != nil {
		return nil, err
	}
	return l, nil
}

// Set implements hal.LED.
func (l *LED) Set(on bool) error {
	if err := l.pin.Out(gpio.Level(on != l.activeLow)); err != nil {
		return fmt.Errorf("pins: LED %s: %w", l.pin, err)
	}
	return nil
}

// Button is a push button on a GPIO line, debounced in software: a press
// counts once its level has held for the debounce time, and holding it
// down is one press.
type Button struct {
	pin       gpio.PinIn
	activeLow bool
	debounce  time.Duration
	held      bool // the last press has not been released yet
}

var _ hal.Button = (*Button)(nil)

// Debounce is how long a press must hold: a contact's bounce lasts a few
// milliseconds; a finger's press, a hundred or more.
const Debounce = 50 * time.Millisecond

// poll is how often Wait looks at ctx while no edge comes.
const poll = 200 * time.Millisecond

// NewButton reads pin as a button, with the pull that holds it released
// (up for an active-low button, which shorts the line to ground).
func NewButton(pin gpio.PinIn, activeLow bool, debounce time.Duration) (*Button, error) {
	pull := gpio.PullDown
	if activeLow {
		pull = gpio.PullUp
	}
	if err := pin.In(pull, gpio.BothEdges); err != nil {
		return nil, fmt.Errorf("pins: button %s: %w", pin, err)
	}
	return &Button{pin: pin, activeLow: activeLow, debounce: debounce}, nil
}

func (b *Button) pressed() bool { return (b.pin.Read() == gpio.High) != b.activeLow }

// Wait implements hal.Button: it returns at the next press.
func (b *Button) Wait(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if b.held && b.pressed() {
			b.pin.WaitForEdge(poll) // the last press, still down
			continue
		}
		b.held = false
		if !b.pressed() && !b.pin.WaitForEdge(poll) {
			continue
		}
		if !b.pressed() {
			continue
		}
		// Pressed: it must stay so for the debounce time.
		bounced := false
		for deadline := time.Now().Add(b.debounce); time.Now().Before(deadline); {
			if b.pin.WaitForEdge(time.Until(deadline)) && !b.pressed() {
				bounced = true
				break
			}
		}
		if bounced || !b.pressed() {
			continue
		}
		b.held = true
		return nil
	}
}

// ErrNoPin is a pin name the board does not have.
var ErrNoPin = errors.New("pins: no such GPIO line")
