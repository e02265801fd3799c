package sim

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"callrec/hal/haltest"
)

// Panel is the simulated front panel, watchdog and clock.
type Panel struct {
	StatusLED, RecLED, OptOutLED, FaultLED, FaultRedLED *haltest.LED
	OptOut                                              *haltest.Button
	Watchdog                                            *haltest.Watchdog
	Clock                                               *haltest.Clock
}

// New returns a simulated panel that logs LED changes to log. The
// opt-out button is pressed by sending the process SIGUSR1 (`kill -USR1
// PID`); the clock says it is synchronised.
func New(log *slog.Logger) *Panel {
	led := func(name string) *haltest.LED {
		return &haltest.LED{OnSet: func(on bool) { log.Info("led", "led", name, "on", on) }}
	}
	p := &Panel{
		StatusLED:   led("status"),
		RecLED:      led("rec"),
		OptOutLED:   led("optout"),
		FaultLED:    led("fault"),
		FaultRedLED: led("fault_red"),
		OptOut:      &haltest.Button{},
		Watchdog:    &haltest.Watchdog{},
		Clock:       &haltest.Clock{},
	}
	presses := make(chan os.Signal, 4)
	signal.Notify(presses, syscall.SIGUSR1)
	go func() { // for the process's life, as a panel's button
		for range presses {
			log.Info("button pressed (SIGUSR1)", "button", "optout")
			p.OptOut.Press()
		}
	}()
	return p
}
