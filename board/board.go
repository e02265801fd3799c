package board

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"time"

	"go.bug.st/serial"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"

	"callrec/board/netd"
	"callrec/board/pins"
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
	Network     hal.Network // the management port's settings
}

// Board describes one board: its pins and how to open them.
type Board struct {
	Name        string
	StatusLED   string // GPIO line names, as periph names them
	RecLED      string
	OptOutLED   string
	FaultLED    string // the fault LED's amber element
	FaultRedLED string // and its red one
	OptOut      string // the opt-out button
	// LEDsActiveLow and ButtonActiveLow: the lines are wired so that low
	// lights an LED, or means pressed.
	LEDsActiveLow   bool
	ButtonActiveLow bool
	Watchdog        string // the watchdog device ("" none)
	open            func(b Board, log *slog.Logger) (Parts, error)
	console         func(device string, log *slog.Logger) (hal.Serial, error)
	// Simulated: a reboot re-executes the daemon and a shutdown ends it,
	// rather than the machine's.
	Simulated bool
}

// OpenConsole opens the technician's console port: the serial device
// (115200 8N1), or on the simulated board a pty whose path it logs.
func (b Board) OpenConsole(device string, log *slog.Logger) (hal.Serial, error) {
	return b.console(device, log)
}

// openSerial opens a serial port (or a USB gadget's) at 115200 8N1.
func openSerial(device string, _ *slog.Logger) (hal.Serial, error) {
	p, err := serial.Open(device, &serial.Mode{BaudRate: 115200, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("board: console %s: %w", device, err)
	}
	return p, nil
}

// Open claims the board's pins.
func (b Board) Open(log *slog.Logger) (Parts, error) { return b.open(b, log) }

// ByName lists every known board.
var ByName = map[string]Board{
	// A 1U box on a Raspberry Pi Compute Module 4: the front panel's LEDs
	// are driven high through their resistors, the button shorts its line
	// to ground (pulled up), and the SoC's watchdog is /dev/watchdog.
	"cm4": {
		Name:            "cm4",
		StatusLED:       "GPIO17", // green
		RecLED:          "GPIO27", // red
		OptOutLED:       "GPIO22", // amber
		FaultLED:        "GPIO23", // bicolour fault LED, amber element
		FaultRedLED:     "GPIO24", // and its red element
		OptOut:          "GPIO25", // the opt-out button
		ButtonActiveLow: true,
		Watchdog:        "/dev/watchdog",
		open:            openPins,
		console:         openSerial,
	},
	"sim": {
		Name:        "sim",
		StatusLED:   "SIM_STATUS", // front panel, green
		FaultRedLED: "SIM_FAULT_RED",
		RecLED:      "SIM_REC",    // front panel, red
		OptOutLED:   "SIM_OPTOUT", // front panel, amber
		FaultLED:    "SIM_FAULT",  // front panel, yellow
		OptOut:      "SIM_BUTTON",
		open: func(b Board, log *slog.Logger) (Parts, error) {
			p := sim.New(log)
			return Parts{StatusLED: p.StatusLED, RecLED: p.RecLED, OptOutLED: p.OptOutLED, FaultLED: p.FaultLED, FaultRedLED: p.FaultRedLED,
				OptOut: p.OptOut, Watchdog: p.Watchdog, Clock: p.Clock, Network: sim.NewNetwork(log)}, nil
		},
		console: func(_ string, log *slog.Logger) (hal.Serial, error) {
			c, err := sim.OpenConsole(log)
			if err != nil {
				return nil, err
			}
			return c, nil
		},
		Simulated: true,
	},
}

// openPins claims a real board's lines through periph.io, and arms its
// watchdog.
func openPins(b Board, log *slog.Logger) (Parts, error) {
	if _, err := host.Init(); err != nil {
		return Parts{}, fmt.Errorf("board %s: %w", b.Name, err)
	}
	pin := func(name string) (gpio.PinIO, error) {
		p := gpioreg.ByName(name)
		if p == nil {
			return nil, fmt.Errorf("board %s: %w: %s", b.Name, pins.ErrNoPin, name)
		}
		return p, nil
	}
	var parts Parts
	for _, l := range []struct {
		name string
		into *hal.LED
	}{{b.StatusLED, &parts.StatusLED}, {b.RecLED, &parts.RecLED}, {b.OptOutLED, &parts.OptOutLED}, {b.FaultLED, &parts.FaultLED}, {b.FaultRedLED, &parts.FaultRedLED}} {
		p, err := pin(l.name)
		if err != nil {
			return Parts{}, err
		}
		led, err := pins.NewLED(p, b.LEDsActiveLow)
		if err != nil {
			return Parts{}, err
		}
		*l.into = led
	}
	p, err := pin(b.OptOut)
	if err != nil {
		return Parts{}, err
	}
	if parts.OptOut, err = pins.NewButton(p, b.ButtonActiveLow, pins.Debounce); err != nil {
		return Parts{}, err
	}
	if b.Watchdog != "" {
		wd, err := pins.OpenWatchdog(b.Watchdog, 15*time.Second)
		if err != nil {
			return Parts{}, err
		}
		if wd.CardReset() {
			log.Warn("the last reboot was the watchdog's: the box had hung")
		}
		parts.Watchdog = wd
	}
	parts.Clock = hal.KernelClock{}
	parts.Network = &netd.Networkd{Dir: "/etc/systemd/network", Iface: "eth0"}
	return parts, nil
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
