package haltest

import (
	"context"
	"sync"
	"time"

	"callrec/hal"
)

// LED is a fake LED that remembers its state and every change.
type LED struct {
	mu      sync.Mutex
	on      bool
	changes int
	// OnSet, if set, is called after every change (the simulated board logs).
	OnSet func(on bool)
}

var _ hal.LED = (*LED)(nil)

// Set implements hal.LED.
func (l *LED) Set(on bool) error {
	l.mu.Lock()
	changed := l.on != on
	l.on = on
	if changed {
		l.changes++
	}
	f := l.OnSet
	l.mu.Unlock()
	if changed && f != nil {
		f(on)
	}
	return nil
}

// On reports the LED's state.
func (l *LED) On() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.on
}

// Changes is the number of times the state changed.
func (l *LED) Changes() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changes
}

// Button is a fake button pressed by calling Press.
type Button struct {
	once    sync.Once
	presses chan struct{}
}

var _ hal.Button = (*Button)(nil)

func (b *Button) ch() chan struct{} {
	b.once.Do(func() { b.presses = make(chan struct{}, 16) })
	return b.presses
}

// Press simulates one press; it does not block.
func (b *Button) Press() {
	select {
	case b.ch() <- struct{}{}:
	default: // presses beyond the buffer are lost, as a bouncing key's are
	}
}

// Wait implements hal.Button.
func (b *Button) Wait(ctx context.Context) error {
	select {
	case <-b.ch():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Watchdog is a fake watchdog that counts feeds.
type Watchdog struct {
	mu    sync.Mutex
	feeds int
	// Reset fakes a last reboot caused by the watchdog.
	Reset bool
}

// CardReset says whether the (fake) last reboot was the watchdog's.
func (w *Watchdog) CardReset() bool { return w.Reset }

var _ hal.Watchdog = (*Watchdog)(nil)

// Feed implements hal.Watchdog.
func (w *Watchdog) Feed() error {
	w.mu.Lock()
	w.feeds++
	w.mu.Unlock()
	return nil
}

// Feeds is the number of feeds so far.
func (w *Watchdog) Feeds() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.feeds
}

// Clock is a fake clock synchronisation.
type Clock struct {
	mu       sync.Mutex
	unsynced bool
	maxError time.Duration
}

var _ hal.Clock = (*Clock)(nil)

// Set sets what Sync reports.
func (c *Clock) Set(synced bool, maxError time.Duration) {
	c.mu.Lock()
	c.unsynced, c.maxError = !synced, maxError
	c.mu.Unlock()
}

// Sync implements hal.Clock; a new Clock is synchronised.
func (c *Clock) Sync() (bool, time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.unsynced, c.maxError, nil
}
