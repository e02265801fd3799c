package tests

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"callrec/firmware/bundle"
)

// TestSubjectAccessInBrowser is a SAR from end to end. Calls for one
// person are recorded live: one inbound (SIPp), one outbound (SIPp), and a
// baresip call from reception to extension 202 that reception transfers
// (REFER) to the person, whose third leg carries the person's number. In
// headless Chromium the Head of IG logs the request, searches (every one
// of those calls is found, the transfer's first leg through its
// conversation), leaves the outbound call out with a reason, builds the
// encrypted bundle, checks it and downloads it. `recorderd bundle verify`
// accepts it with the key the status page shows; one changed byte of an
// MP3 makes it fail, naming the file. The audit log holds every step.
func TestSubjectAccessInBrowser(t *testing.T) {
	needTool(t, "sipp")
	needTool(t, "baresip")
	w := startWebBox(t)
	boss := w.addUser("boss", "head_of_ig")
	const person = "01632960111"

	withScenario(t, dtmfScenario, 5460, person, "201", "", true) // inbound
	withScenario(t, dtmfScenario, 5470, "202", person, "", true) // outbound
	dir := t.TempDir()
	reception := startUA(t, dir, "201", 5480, 5684, 12000, 440)
	ext202 := startUA(t, dir, "202", 5490, 5685, 12100, 1000)
	startUA(t, dir, person, 5500, 5686, 12200, 2000)
	reception.send(t, "/dial sip:202@127.0.0.1:5490")
	waitFor(t, "reception's call to 202", 10*time.Second, func() bool { return strings.Contains(reception.log.String(), "Call established") })
	talk(2 * time.Second)
	reception.send(t, "/transfer sip:"+person+"@127.0.0.1:5500")
	waitFor(t, "202's call to the person", 10*time.Second, func() bool {
		return strings.Contains(ext202.log.String(), "Call established: sip:"+person)
	})
	talk(2 * time.Second)
	ext202.send(t, "/hangup")
	var calls []storedCall
	waitFor(t, "four calls recorded", 30*time.Second, func() bool {
		calls = w.calls()
		done := 0
		for _, c := range calls {
			if c.Recording.State == "complete" {
				done++
			}
		}
		return len(calls) == 4 && done == 4
	})
	var outbound, firstLeg string
	for _, c := range calls {
		switch {
		case c.Direction == "outbound" && slices.Contains(c.Extensions, "202") && !slices.Contains(c.Extensions, "201"):
			if c.ConversationID == c.ID {
				outbound = c.ID // SIPp's, not the transfer's leg
			}
		case !slices.Contains(c.Numbers, "+441632960111"):
			firstLeg = c.ID
		}
	}
	if outbound == "" || firstLeg == "" {
		t.Fatalf("could not tell the calls apart: %+v", calls)
	}

	ctx := chrome(t)
	signInFirst(t, ctx, w.url, "boss", boss)
	do(t, ctx, "open a SAR",
		chromedp.WaitVisible("form.filters"),
		chromedp.Navigate(w.url+"cases"), chromedp.WaitVisible("#new-sar"), chromedp.Click("#new-sar"), chromedp.WaitVisible("#case-form"),
		chromedp.SendKeys("#requester", "Ms Example"), chromedp.SendKeys("#identity", "passport seen at reception"),
		chromedp.SendKeys("#numbers", "01632 960111"), chromedp.Click(`#case-form button[type="submit"]`), chromedp.WaitVisible("#case-search"))
	caseID := strings.TrimSpace(strings.SplitN(eval[string](t, ctx, `document.querySelector('h1').textContent`), ":", 2)[0])
	if !strings.HasPrefix(caseID, "SAR-") || !strings.Contains(eval[string](t, ctx, `document.getElementById('due').textContent`), "days left") {
		t.Fatalf("case %q without its due date", caseID)
	}
	do(t, ctx, "search", chromedp.Click(`#case-search button[type="submit"]`), chromedp.WaitVisible("#searches"))
	found := eval[[]string](t, ctx, `[...document.querySelectorAll('#case-calls tbody tr')].map(r => r.dataset.call)`)
	for _, c := range calls {
		if !slices.Contains(found, c.ID) {
			t.Errorf("call %s (%s) was not found", c.ID, c.Direction)
		}
	}
	if len(found) != 4 {
		t.Errorf("found %d calls, want 4", len(found))
	}
	do(t, ctx, "leave the outbound call out",
		chromedp.SendKeys("#ex-"+outbound, "third party's personal data"),
		chromedp.Click(`tr[data-call="`+outbound+`"] button[value="exclude"]`),
		chromedp.WaitVisible(`tr[data-call="`+outbound+`"] button[value="include"]`))
	shot(t, ctx, "case")
	accessible(t, ctx, "case")
	do(t, ctx, "build", chromedp.Click(`#build-form button[type="submit"]`), chromedp.WaitVisible("#password"))
	password := strings.TrimSpace(eval[string](t, ctx, `document.getElementById('password').textContent`))
	shot(t, ctx, "case-built")
	do(t, ctx, "second check", chromedp.Click("#alone"), chromedp.Click(`#check-form button[type="submit"]`), chromedp.WaitVisible("#download-bundle"))
	dl := t.TempDir()
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "download", chromedp.Click(`#download-bundle button[type="submit"]`))
	zipPath := filepath.Join(dl, caseID+".zip")
	waitFor(t, "the bundle's download", 20*time.Second, func() bool { _, err := os.Stat(zipPath); return err == nil })
	do(t, ctx, "the case list", chromedp.Navigate(w.url+"cases"), chromedp.WaitVisible("#case-list"))
	shot(t, ctx, "cases")
	accessible(t, ctx, "cases")

	// The key on the status page is the one the command prints.
	do(t, ctx, "status page", chromedp.Navigate(w.url+"status"), chromedp.WaitVisible("#device-key"))
	pub := strings.TrimSpace(eval[string](t, ctx, `document.getElementById('device-key').textContent`))
	if cli := strings.TrimSpace(w.must("keys", "device-public")); cli != pub {
		t.Errorf("the status page's key %q is not the command's %q", pub, cli)
	}
	pwFile := filepath.Join(t.TempDir(), "password")
	os.WriteFile(pwFile, []byte(password+"\n"), 0o600)
	out, err := run(recorderd, "bundle", "verify", "-pub", pub, "-password-file", pwFile, zipPath)
	if err != nil || !strings.Contains(out, "verified: case "+caseID+", 3 recordings") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	z, _ := os.ReadFile(zipPath)
	key, _ := bundle.ParsePublic(pub)
	m, err := bundle.Verify(bytes.NewReader(z), int64(len(z)), key, password)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range m.Files {
		names = append(names, f.CallID)
		if strings.Contains(f.Name, "1632") {
			t.Errorf("file %s is named by a number", f.Name)
		}
	}
	if slices.Contains(names, outbound) || !slices.Contains(names, firstLeg) {
		t.Errorf("bundle holds %v: want the transfer's first leg, and not the outbound call %s", names, outbound)
	}

	// One byte of one MP3 changed: verify fails, naming it.
	zr, _ := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	var victim string
	bad := bytes.Clone(z)
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, ".mp3") {
			off, _ := f.DataOffset()
			bad[off+int64(f.CompressedSize64)/2] ^= 1
			victim = f.Name
			break
		}
	}
	tampered := filepath.Join(t.TempDir(), "tampered.zip")
	os.WriteFile(tampered, bad, 0o600)
	out, err = run(recorderd, "bundle", "verify", "-pub", pub, "-password-file", pwFile, tampered)
	if exitCode(err) != 1 || !strings.Contains(out, victim) {
		t.Errorf("a tampered bundle: exit %d, want 1 naming %s\n%s", exitCode(err), victim, out)
	}

	log := w.must("audit", "list")
	for _, action := range []string{"case-open", "case-search", "case-exclude", "case-build", "case-check", "case-download"} {
		if !strings.Contains(log, `"action":"`+action+`","target":"`+caseID+`"`) {
			t.Errorf("the audit log lacks %s of %s", action, caseID)
		}
	}
	if err := w.stop(); err != nil {
		t.Errorf("daemon exit: %v", err)
	}
}
