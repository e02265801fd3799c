// Package panel drives the front panel: the recording, opt-out and fault
// LEDs, the lamp test at power-on, and the hardware watchdog, which is fed
// only while the box reports itself healthy.
package panel
