package board

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"callrec/board/sim"
	"callrec/hal"
)

// Parts are a board's front panel and watchdog.
type Parts struct {
	StatusLED   hal.LED // green: the daemon runs
	RecLED      hal.LED // red: recording in progress
	OptOutLED   hal.LED // amber: a call asked not to be recorded
	FaultLED    hal.LED // amber: a warning
	FaultRedLED hal.LED // red: recording impossible, or a start-up failure's code
	OptOut      hal.Button
	Watchdog    hal.Watchdog
	Clock       hal.Clock
}

// Board describes one board: its pins and how to open them.
type Board struct {
	Name      string
	RecLED    string // pin names, as periph names them
	OptOutLED string
	FaultLED  string
	OptOut    string
	open      func(b Board, log *slog.Logger) (Parts, error)
}

// Open claims the board's pins.
func (b Board) Open(log *slog.Logger) (Parts, error) { return b.open(b, log) }

// ByName lists every known board.
var ByName = map[string]Board{
	"sim": {
		Name:      "sim",
		RecLED:    "SIM_REC",    // front panel, red
		OptOutLED: "SIM_OPTOUT", // front panel, amber
		FaultLED:  "SIM_FAULT",  // front panel, yellow
		OptOut:    "SIM_BUTTON",
		open: func(b Board, log *slog.Logger) (Parts, error) {
			p := sim.New(log)
			return Parts{StatusLED: p.StatusLED, RecLED: p.RecLED, OptOutLED: p.OptOutLED, FaultLED: p.FaultLED, FaultRedLED: p.FaultRedLED,
				OptOut: p.OptOut, Watchdog: p.Watchdog, Clock: p.Clock}, nil
		},
	},
}

// Lookup returns the board called name, or an error listing the known ones.
func Lookup(name string) (Board, error) {
	b, ok := ByName[name]
	if !ok {
		names := make([]string, 0, len(ByName))
		for n := range ByName {
			names = append(names, n)
		}
		slices.Sort(names)
		return Board{}, fmt.Errorf("board: unknown board %q: known boards are %s", name, strings.Join(names, ", "))
	}
	return b, nil
}
