package board

import (
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// Restart reboots the box after the daemon has stopped cleanly: a real
// board asks systemd; the simulated board starts the daemon again by
// executing exe (the slots' current firmware) with the same arguments.
func (b Board) Restart(exe string, log *slog.Logger) error {
	if !b.Simulated {
		log.Info("rebooting")
		return exec.Command("systemctl", "reboot").Run()
	}
	log.Info("rebooting (simulated: the daemon starts again)", "exe", exe)
	return syscall.Exec(exe, append([]string{exe}, os.Args[1:]...), os.Environ())
}

// PowerOff powers the box off after the daemon has stopped cleanly; on the
// simulated board the daemon just ends.
func (b Board) PowerOff(log *slog.Logger) error {
	log.Info("shutting down")
	if b.Simulated {
		return nil
	}
	return exec.Command("systemctl", "poweroff").Run()
}

// SerialNumber is the box's serial number (a Raspberry Pi's, from the
// device tree; else the machine id), or "unknown".
func SerialNumber() string {
	for _, p := range []string{"/sys/firmware/devicetree/base/serial-number", "/etc/machine-id"} {
		if b, err := os.ReadFile(p); err == nil {
			if s := strings.Trim(string(b), "\x00\n "); s != "" {
				return s
			}
		}
	}
	return "unknown"
}
