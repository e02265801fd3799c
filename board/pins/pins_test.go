package pins

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

func TestLEDActiveLow(t *testing.T) {
	for _, low := range []bool{false, true} {
		p := &gpiotest.Pin{N: "GPIO17"}
		l, err := NewLED(p, low)
		if err != nil {
			t.Fatal(err)
		}
		if off := p.Read(); (off == gpio.High) != low {
			t.Errorf("active-low %v: off is %v", low, off)
		}
		l.Set(true)
		if on := p.Read(); (on == gpio.High) == low {
			t.Errorf("active-low %v: on is %v", low, on)
		}
	}
}

// TestButtonDebounce: a bouncing contact is one press, a short glitch is
// none, and holding the button down is one press.
func TestButtonDebounce(t *testing.T) {
	p := &gpiotest.Pin{N: "GPIO25", EdgesChan: make(chan gpio.Level, 64)}
	b, err := NewButton(p, true, 30*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if p.Read() != gpio.High || p.P != gpio.PullUp {
		t.Fatalf("an active-low button: level %v, pull %v; want high, pulled up", p.Read(), p.P)
	}
	presses := make(chan struct{}, 8)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for b.Wait(ctx) == nil {
			presses <- struct{}{}
		}
	}()
	count := func(d time.Duration) int {
		n := 0
		for end := time.After(d); ; {
			select {
			case <-presses:
				n++
			case <-end:
				return n
			}
		}
	}
	// A 5 ms glitch: no press.
	p.EdgesChan <- gpio.Low
	time.Sleep(5 * time.Millisecond)
	p.EdgesChan <- gpio.High
	if n := count(150 * time.Millisecond); n != 0 {
		t.Errorf("a glitch counted as %d presses", n)
	}
	// A bouncing press held down for 200 ms, then released: one press.
	for _, l := range []gpio.Level{gpio.Low, gpio.High, gpio.Low, gpio.High, gpio.Low} {
		p.EdgesChan <- l
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	p.EdgesChan <- gpio.High
	if n := count(200 * time.Millisecond); n != 1 {
		t.Errorf("a bouncing press held down counted as %d presses, want 1", n)
	}
	// A second press.
	p.EdgesChan <- gpio.Low
	if n := count(200 * time.Millisecond); n != 1 {
		t.Errorf("the second press counted as %d", n)
	}
	cancel()
}

// TestWatchdogFile drives the watchdog on a plain file standing in for the
// device: each feed writes, a clean stop writes the magic 'V'.
func TestWatchdogFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "watchdog")
	os.WriteFile(path, nil, 0o600)
	w, err := OpenWatchdog(path, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	w.Feed()
	w.Feed()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "\x00\x00V" || w.CardReset() {
		t.Errorf("the device got %q, card reset %v", b, w.CardReset())
	}
	if _, err := OpenWatchdog(filepath.Join(t.TempDir(), "none"), 0); err == nil {
		t.Error("a missing device opened")
	}
}
