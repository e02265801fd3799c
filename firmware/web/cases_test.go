package web_test

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"callrec/firmware/bundle"
	"callrec/firmware/web"
)

var passwordShown = regexp.MustCompile(`<code class="key" id="password">([^<]+)</code>`)

// TestCasePages: a SAR through the Head of IG's pages: opened from the
// form (the due date computed), searched, a call left out with its
// reason, the bundle built (encrypted, its password shown once), checked,
// downloaded, and the ZIP verifies with the box's key and the password.
func TestCasePages(t *testing.T) {
	b := newBox(t)
	c := b.signIn("boss")
	resp, body := c.postBody("/cases", url.Values{"kind": {"sar"}, "requester": {"Ms Example"}, "received": {b.clock.now().Format(time.DateOnly)},
		"identity": {"driving licence"}, "numbers": {"01632 960001\n01632 960002"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("open a case = %d\n%s", resp.StatusCode, body)
	}
	page := strings.SplitN(resp.Header.Get("Location"), "#", 2)[0]
	id := strings.TrimPrefix(page, "/cases/")
	if _, body := c.get(page); !strings.Contains(body, "Ms Example") || !strings.Contains(body, "days left") {
		t.Fatalf("the case page lacks the requester or the due date:\n%s", body)
	}
	if resp, body := c.postBody("/cases", url.Values{"kind": {"sar"}, "requester": {"x"}, "received": {"2026-01-01"}, "numbers": {"not a number"}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "neither a phone number") {
		t.Errorf("a bad number = %d", resp.StatusCode)
	}
	if resp := c.post(page+"/search", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("search = %d", resp.StatusCode)
	}
	_, body = c.get(page)
	for _, call := range b.calls {
		if !strings.Contains(body, `data-call="`+call.ID+`"`) {
			t.Errorf("call %s not found by the case's search", call.ID)
		}
	}
	left := b.calls[0].ID
	if resp := c.post(page+"/call", url.Values{"call": {left}, "decision": {"exclude"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("leave out without a reason = %d, want 400", resp.StatusCode)
	}
	if resp := c.post(page+"/call", url.Values{"call": {left}, "decision": {"exclude"}, "reason": {"third party's personal data"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("leave out = %d", resp.StatusCode)
	}
	resp, body = c.postBody(page+"/build", url.Values{"encrypt": {"yes"}})
	m := passwordShown.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("build = %d, no password shown", resp.StatusCode)
	}
	password := m[1]
	if _, body := c.get(page); strings.Contains(body, password) {
		t.Error("the password is shown again")
	}
	if resp, body := c.postBody(page+"/download", url.Values{"to": {"Ms Example"}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "second check") {
		t.Errorf("download before the check = %d", resp.StatusCode)
	}
	if resp, body := c.postBody(page+"/check", nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "another Head of IG") && !strings.Contains(body, "Another Head of IG") {
		t.Errorf("the builder's check without confirming = %d\n%s", resp.StatusCode, body)
	}
	if resp := c.post(page+"/check", url.Values{"alone": {"yes"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("check = %d", resp.StatusCode)
	}
	resp, zip := c.postBody(page+"/download", url.Values{"to": {"Ms Example, by recorded post"}})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("download = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	pub, _ := b.a.DevicePublic()
	man, err := bundle.Verify(strings.NewReader(zip), int64(len(zip)), pub, password)
	if err != nil || man.Case != id || len(man.Files) != len(b.calls)-1 {
		t.Fatalf("the downloaded bundle: %+v, %v", man, err)
	}
	if bytes.Contains([]byte(zip), []byte(patient[1:])) {
		t.Error("the encrypted bundle shows the number")
	}
	if _, body := c.get("/cases"); !strings.Contains(body, id) {
		t.Error("the case list lacks the case")
	}
	if resp := c.post(page+"/close", url.Values{"outcome": {"answered"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("close = %d", resp.StatusCode)
	}
	for _, action := range []string{"case-open", "case-search", "case-exclude", "case-build", "case-check", "case-download", "case-close"} {
		if !b.audited(action, id) {
			t.Errorf("no %s in the audit log", action)
		}
	}
	// Hostile ids are not found, and a supervisor has no case page.
	for _, p := range []string{"/cases/..%2Fetc", "/cases/SAR-2026-999", "/cases/x"} {
		if resp, _ := c.get(p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
	if resp, _ := b.signIn("sup").get(page); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a supervisor's GET of a case = %d, want 403", resp.StatusCode)
	}
}

// TestOverdueOnTheDashboard: an open SAR past its due date shows on the
// Head of IG's calls page.
func TestOverdueOnTheDashboard(t *testing.T) {
	b := newBox(t)
	c := b.signIn("boss")
	if _, body := c.get("/calls"); strings.Contains(body, `id="overdue"`) {
		t.Error("a case not yet due shows as overdue")
	}
	b.clock.add(40 * 24 * time.Hour)
	c = b.signIn("boss") // the session ended meanwhile
	if _, body := c.get("/calls"); !strings.Contains(body, `id="overdue"`) || !strings.Contains(body, b.caseID) {
		t.Errorf("the overdue case is not on the dashboard")
	}
}

// TestAccessGrantsOnThePage: with [access] mode = "grant", a supervisor
// without a grant is refused playback with a link to ask; with one
// (approved for one play) can play; after it, is refused again; a grant
// past its date stops the audio too. The Head of IG needs none.
func TestAccessGrantsOnThePage(t *testing.T) {
	b := newBox(t, func(c *web.Config) {
		c.GrantAccess = true
		c.IdleTimeout, c.MaxSession = 7*24*time.Hour, 7*24*time.Hour // sessions that outlast the grant
	})
	sup, boss := b.signIn("sup"), b.signIn("boss")
	id := b.calls[0].ID
	// Each post its own form: postBody writes the client's CSRF token in.
	playForm := func() url.Values { return url.Values{"private": {"yes"}, "reason": {"complaint"}} }
	resp, body := sup.postBody("/calls/"+id+"/play", playForm())
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `href="/access?call=`+id+`"`) {
		t.Fatalf("a play without a grant = %d, want 403 with a link to ask\n%s", resp.StatusCode, body)
	}
	if _, body := sup.get("/calls/" + id); !strings.Contains(body, `id="ask-access"`) || strings.Contains(body, `id="play-form"`) {
		t.Error("the call page offers the player without a grant")
	}
	if resp, _ := b.api("GET", "/api/v1/calls/"+id+"/audio", b.tokens["sup"], map[string]string{"X-Playback-Reason": "x"}, ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the API's audio without a grant = %d, want 403", resp.StatusCode)
	}
	if resp := sup.post("/access", url.Values{"calls": {id}, "purpose": {"complaint 12"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("ask = %d", resp.StatusCode)
	}
	grants, _ := b.cases.Grants("sup")
	if len(grants) != 1 {
		t.Fatalf("grants of sup: %+v", grants)
	}
	g := grants[0].ID
	if resp := sup.post("/access/"+g, url.Values{"decision": {"approve"}, "reason": {"x"}, "plays": {"5"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a supervisor approving = %d, want 403", resp.StatusCode)
	}
	if resp := boss.post("/access/"+g, url.Values{"decision": {"approve"}, "reason": {"complaint investigation"}, "plays": {"1"},
		"until": {b.clock.now().Add(24 * time.Hour).Format(time.DateOnly)}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve = %d", resp.StatusCode)
	}
	if resp := sup.post("/calls/"+id+"/play", playForm()); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a play under the grant = %d", resp.StatusCode)
	}
	if resp, _ := sup.get("/calls/" + id + "/audio"); resp.StatusCode != http.StatusOK {
		t.Errorf("audio under the grant = %d", resp.StatusCode)
	}
	if resp := sup.post("/calls/"+id+"/play", playForm()); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a second play of a one-play grant = %d, want 403", resp.StatusCode)
	}
	if resp := sup.post("/calls/"+b.calls[1].ID+"/play", playForm()); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a call outside the grant = %d, want 403", resp.StatusCode)
	}
	// Past the grant's date, the audio of the play begun stops.
	b.clock.add(3 * 24 * time.Hour)
	if resp := sup.post("/calls/"+id+"/play", playForm()); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a play after the grant's date = %d, want 403", resp.StatusCode)
	}
	if resp, _ := sup.get("/calls/" + id + "/audio"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("audio after the grant's date = %d, want 403", resp.StatusCode)
	}
	if resp, body := boss.postBody("/calls/"+id+"/play", playForm()); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the Head of IG's play = %d\n%s", resp.StatusCode, body)
	}
	for _, action := range []string{"access-request", "access-decide", "access-play"} {
		if !b.audited(action, g) {
			t.Errorf("no %s in the audit log", action)
		}
	}
}

// audited says whether the audit log holds an entry of action on target.
func (b *box) audited(action, target string) bool {
	b.t.Helper()
	log, err := b.a.AuditLog()
	if err != nil {
		b.t.Fatal(err)
	}
	for _, e := range log {
		if e.Action == action && e.Target == target {
			return true
		}
	}
	return false
}
