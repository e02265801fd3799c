package sim

import (
	"log/slog"

	"callrec/hal/haltest"
)

// Panel is the simulated front panel and watchdog.
type Panel struct {
	RecLED, OptOutLED, FaultLED *haltest.LED
	OptOut                      *haltest.Button
	Watchdog                    *haltest.Watchdog
}

// New returns a simulated panel that logs LED changes to log.
func New(log *slog.Logger) *Panel {
	led := func(name string) *haltest.LED {
		return &haltest.LED{OnSet: func(on bool) { log.Info("led", "led", name, "on", on) }}
	}
	return &Panel{
		RecLED:    led("rec"),
		OptOutLED: led("optout"),
		FaultLED:  led("fault"),
		OptOut:    &haltest.Button{},
		Watchdog:  &haltest.Watchdog{},
	}
}
