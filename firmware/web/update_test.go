package web_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"callrec/firmware/update"
	"callrec/firmware/web"
)

// TestUpdateUpload: the Head of IG uploads a firmware bundle on the
// settings page: a good one is installed for a trial boot and the box
// reboots; one signed by an unknown key is refused, saying so, and
// nothing changes. The same service as the console's.
func TestUpdateUpload(t *testing.T) {
	_, root, _ := ed25519.GenerateKey(rand.Reader)
	_, release, _ := ed25519.GenerateKey(rand.Reader)
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	cert := update.Certify(root, release.Public().(ed25519.PublicKey))
	dir := t.TempDir()
	running := filepath.Join(dir, "old")
	os.WriteFile(running, []byte("old firmware"), 0o755)
	slots := update.Slots{Root: filepath.Join(dir, "slots")}
	if err := slots.Init(running, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var power []string
	b := newBox(t, func(c *web.Config) {
		c.Update = &update.Service{Slots: slots, Trust: update.Trust{Roots: []ed25519.PublicKey{root.Public().(ed25519.PublicKey)}},
			Model: "sim", Running: "1.0.0", Audit: c.Archive.Audit}
		c.Power = func(a string) error { mu.Lock(); power = append(power, a); mu.Unlock(); return nil }
	})
	newFirmware := filepath.Join(dir, "new")
	os.WriteFile(newFirmware, []byte("new firmware"), 0o755)
	bundle := func(key ed25519.PrivateKey, cert string) []byte {
		var z bytes.Buffer
		if _, err := update.Sign(&z, newFirmware, update.Manifest{Version: "1.1.0", Model: "sim"}, key, cert); err != nil {
			t.Fatal(err)
		}
		return z.Bytes()
	}
	c := b.signIn("boss")
	upload := func(zip []byte) (*http.Response, string) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("csrf", c.csrf)
		fw, _ := mw.CreateFormFile("bundle", "callrec-1.1.0.zip")
		fw.Write(zip)
		mw.Close()
		req, _ := http.NewRequest("POST", b.ts.URL+"/settings/update", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return c.do(req)
	}
	if _, body := c.get("/users"); !strings.Contains(body, "current  slot a, version 1.0.0") {
		t.Errorf("the settings page lacks the firmware's state")
	}
	resp, body := upload(bundle(stranger, ""))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "does not trust") {
		t.Errorf("an untrusted bundle = %d", resp.StatusCode)
	}
	if exe, trial, _ := slots.Boot(running); trial || exe != slots.Binary("a") {
		t.Errorf("after a refused upload the box would boot %s (trial %v)", exe, trial)
	}
	resp, body = upload(bundle(release, cert))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "checked and installed in slot b") {
		t.Fatalf("a good bundle = %d", resp.StatusCode)
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(power) == 1 && power[0] == "reboot" })
	if exe, trial, _ := slots.Boot(running); !trial || exe != slots.Binary("b") {
		t.Errorf("after the upload the box boots %s (trial %v), want slot b on trial", exe, trial)
	}
	if !b.audited("update-install", "1.1.0") || !anyAudited(b, "update-refused") {
		t.Error("the uploads are not in the audit log")
	}
}

func anyAudited(b *box, action string) bool {
	log, _ := b.a.AuditLog()
	for _, e := range log {
		if e.Action == action {
			return true
		}
	}
	return false
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("timed out")
}
