package appliance

import (
	"errors"
	"os"
	"strings"
	"sync"

	"callrec/storage/index"
)

// The watchdog reboots a hung box. After such a reboot the panel and the
// status show a warning ("watchdog_reset") until someone acknowledges it
// on the web page: a box that hangs should be looked at, not forgotten.
// The acknowledgement is kept per boot (the kernel's boot id), so a daemon
// restart does not raise it again.

const warnWatchdog = "watchdog_reset"

const settingWatchdogAck = "watchdog_reset_ack"

// resetFault is the acknowledgeable warning of a watchdog reboot.
type resetFault struct {
	store interface {
		Setting(name string, v any) (bool, error)
		PutSetting(name string, v any) error
		Audit(index.Entry) (index.Entry, error)
	}
	boot string
	mu   sync.Mutex
	on   bool
}

// bootID is this boot's id, from the kernel.
func bootID() string {
	b, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return strings.TrimSpace(string(b))
}

// newResetFault raises the warning if the watchdog caused this boot and
// nobody has acknowledged it yet.
func newResetFault(store interface {
	Setting(name string, v any) (bool, error)
	PutSetting(name string, v any) error
	Audit(index.Entry) (index.Entry, error)
}, cardReset bool, boot string) *resetFault {
	f := &resetFault{store: store, boot: boot}
	if !cardReset {
		return f
	}
	var acked string
	if _, err := store.Setting(settingWatchdogAck, &acked); err != nil || acked != boot || boot == "" {
		f.on = true
	}
	return f
}

func (f *resetFault) active() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.on
}

// Ack acknowledges the warning (audited).
func (f *resetFault) Ack(who string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.on {
		return errors.New("no watchdog reset to acknowledge")
	}
	if _, err := f.store.Audit(index.Entry{Who: who, Action: "fault-ack", Target: warnWatchdog, Why: "the last reboot was the watchdog's"}); err != nil {
		return err
	}
	if err := f.store.PutSetting(settingWatchdogAck, f.boot); err != nil {
		return err
	}
	f.on = false
	return nil
}
