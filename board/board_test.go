package board

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

func TestLookup(t *testing.T) {
	b, err := Lookup("sim")
	if err != nil {
		t.Fatalf("Lookup(sim) = %v", err)
	}
	p, err := b.Open(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	if err := p.RecLED.Set(true); err != nil {
		t.Fatalf("RecLED.Set = %v", err)
	}
	if _, err := Lookup("nope"); err == nil || !strings.Contains(err.Error(), "sim") {
		t.Fatalf("Lookup(nope) = %v, want an error naming the known boards", err)
	}
}

func TestBoardsNamePins(t *testing.T) {
	for name, b := range ByName {
		if b.Name != name || b.StatusLED == "" || b.RecLED == "" || b.OptOutLED == "" || b.FaultLED == "" || b.FaultRedLED == "" || b.OptOut == "" || b.open == nil {
			t.Errorf("board %q is incomplete: %+v", name, b)
		}
	}
}

// TestPinsBoard opens a real board's code on periph's fake GPIO lines: the
// LEDs are driven as the board is wired, and a press of the button (a
// falling edge, held) is one press.
func TestPinsBoard(t *testing.T) {
	fakes := map[string]*gpiotest.Pin{}
	for _, n := range []string{"T_STATUS", "T_REC", "T_OPT", "T_AMBER", "T_RED", "T_BUTTON"} {
		p := &gpiotest.Pin{N: n, Num: -1, EdgesChan: make(chan gpio.Level, 8)}
		if err := gpioreg.Register(p); err != nil {
			t.Fatal(err)
		}
		fakes[n] = p
	}
	wd := filepath.Join(t.TempDir(), "watchdog")
	os.WriteFile(wd, nil, 0o600)
	b := ByName["cm4"]
	b.StatusLED, b.RecLED, b.OptOutLED, b.FaultLED, b.FaultRedLED, b.OptOut, b.Watchdog = "T_STATUS", "T_REC", "T_OPT", "T_AMBER", "T_RED", "T_BUTTON", wd
	parts, err := b.Open(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	parts.RecLED.Set(true)
	if fakes["T_REC"].Read() != gpio.High || fakes["T_STATUS"].Read() != gpio.Low {
		t.Errorf("REC %v, STATUS %v; want REC lit (high), STATUS dark", fakes["T_REC"].Read(), fakes["T_STATUS"].Read())
	}
	if fakes["T_BUTTON"].P != gpio.PullUp {
		t.Errorf("the button's pull is %v, want up (active low)", fakes["T_BUTTON"].P)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	fakes["T_BUTTON"].EdgesChan <- gpio.Low
	if err := parts.OptOut.Wait(ctx); err != nil {
		t.Errorf("a press was not seen: %v", err)
	}
	if err := parts.Watchdog.Feed(); err != nil {
		t.Error(err)
	}
	if _, _, err := parts.Clock.Sync(); err != nil {
		t.Errorf("the kernel clock: %v", err)
	}
	b.RecLED = "T_MISSING"
	if _, err := b.Open(slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a board with a missing line opened")
	}
}
