package console_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callrec/firmware/console"
	"callrec/firmware/panel"
	"callrec/hal/haltest"
	"callrec/storage/archive"
)

type archiveKeys struct{ a *archive.Archive }

func (k archiveKeys) Status() (string, error) { return k.a.KeysStatus() }
func (k archiveKeys) ExportRecovery(acc archive.Access, p, path string) error {
	return k.a.ExportRecoveryFile(acc, p, path)
}

// TestKeysAndLEDs: `keys status` names the key by its fingerprint and
// nothing secret; `keys export-recovery` asks the passphrase twice,
// refuses a weak one and writes the recovery copy to the stick; `leds
// test` lights each LED in turn on a real panel.
func TestKeysAndLEDs(t *testing.T) {
	dir := t.TempDir()
	a, err := archive.Open(archive.Config{DataDir: filepath.Join(dir, "data"), KeyFile: filepath.Join(dir, "kek"), CreateKey: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var lit []string
	led := func(name string) *haltest.LED {
		return &haltest.LED{OnSet: func(on bool) {
			if on {
				lit = append(lit, name)
			}
		}}
	}
	pnl := &panel.Panel{Status: led("status"), Rec: led("rec"), OptOut: led("optout"), Fault: led("fault"), FaultRed: led("fault_red")}
	r := start(t, func(c *console.Config) {
		c.Keys = archiveKeys{a}
		c.LEDTest = func(ctx context.Context) error { return pnl.Test(ctx, time.Millisecond) }
	})
	r.signIn()
	r.typeLine("keys status")
	out := r.wait("device signing key")
	if !strings.Contains(out, "key-encryption key") {
		t.Errorf("keys status:\n%s", out)
	}
	stick := filepath.Join(dir, "usb", "callrec-recovery.age")
	os.MkdirAll(filepath.Dir(stick), 0o700)
	r.typeLine("keys export-recovery " + stick)
	r.wait("recovery passphrase: ")
	r.typeLine("short")
	r.wait("too weak")
	r.typeLine("keys export-recovery " + stick)
	r.wait("recovery passphrase: ")
	r.typeLine("correct horse battery staple practice")
	r.wait("the same again: ")
	r.typeLine("correct horse battery staple practice")
	r.Wait("Written to "+stick, 60*time.Second) // scrypt, slow under the race detector
	if b, err := os.ReadFile(stick); err != nil || !strings.HasPrefix(string(b), "age-encryption.org") {
		t.Errorf("the recovery copy: %d bytes, %v", len(b), err)
	}
	if strings.Contains(r.All(), "correct horse") {
		t.Error("the passphrase was echoed")
	}
	r.typeLine("leds test")
	r.wait("Done.")
	if strings.Join(lit, ",") != "status,rec,optout,fault,fault_red" {
		t.Errorf("lit %v", lit)
	}
}
