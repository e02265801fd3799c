// Package sim is the simulated board: hal fakes whose every change is
// logged, so the daemon runs on a developer's machine or in CI exactly as
// on the appliance, with the front panel shown in the log.
package sim
