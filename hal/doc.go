// Package hal is the vocabulary between the appliance and its hardware:
// small interfaces for the front-panel LEDs, the button, the watchdog and
// the serial console, each of one to three methods, like periph's conn.
// It imports nothing of ours. Fakes for tests live in hal/haltest.
package hal
