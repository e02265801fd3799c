package appliance

import (
	"bytes"
	"path/filepath"
	"testing"

	"callrec/storage/index"
)

func TestResetFault(t *testing.T) {
	ix, err := index.Open(filepath.Join(t.TempDir(), "index.db"), index.Options{Key: bytes.Repeat([]byte{9}, index.KeySize), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if f := newResetFault(ix, false, "boot-1"); f.active() || f.Ack("x") == nil {
		t.Error("a normal boot raised the warning, or acknowledged nothing")
	}
	f := newResetFault(ix, true, "boot-1")
	if !f.active() {
		t.Fatal("a watchdog reboot raised no warning")
	}
	if err := f.Ack("boss"); err != nil || f.active() {
		t.Fatalf("Ack = %v, still active %v", err, f.active())
	}
	if again := newResetFault(ix, true, "boot-1"); again.active() {
		t.Error("a daemon restart in the same boot raised the acknowledged warning again")
	}
	if next := newResetFault(ix, true, "boot-2"); !next.active() {
		t.Error("a new watchdog reboot raised no warning")
	}
	log, _ := ix.AuditLog()
	if len(log) != 1 || log[0].Action != "fault-ack" || log[0].Who != "boss" {
		t.Errorf("audit: %+v", log)
	}
}
