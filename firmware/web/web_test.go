package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"callrec/firmware/cases"
	"callrec/firmware/recording"
	"callrec/firmware/recording/recordingtest"
	"callrec/firmware/status"
	"callrec/firmware/users"
	"callrec/firmware/web"
	ct "callrec/recorder/capture/capturetest"
	"callrec/storage/archive"
	"callrec/storage/index"
)

const (
	patient = "+441632960001"
	other   = "+441632960002"
	pw      = "a long test passphrase"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func party(user, ip, tag string) ct.Party {
	a := netip.MustParseAddr(ip)
	return ct.Party{User: user, SIP: netip.AddrPortFrom(a, 5060), RTP: netip.AddrPortFrom(a, 4000), Tag: tag}
}

// box is a page over a real archive (a real bbolt index, a real vault on
// disk) holding two calls recorded from a replayed tap, with an account
// of each role.
type box struct {
	t      testing.TB
	a      *archive.Archive
	srv    *web.Server
	ts     *httptest.Server
	users  *users.Service
	calls  []*index.Record // newest first
	cases  *cases.Service
	caseID string // a SAR for the patient, opened by boss
	grant  string // a supervisor's request for access, not answered
	clock  *clock
	tokens map[string]string // API token by user
	dir    string
}

type clock struct {
	mu sync.Mutex
	at time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.at }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.at = c.at.Add(d); c.mu.Unlock() }

func newBox(t testing.TB, opts ...func(*web.Config)) *box {
	t.Helper()
	dir := t.TempDir()
	a, err := archive.Open(archive.Config{DataDir: filepath.Join(dir, "data"), KeyFile: filepath.Join(dir, "kek"),
		Retention: 5 * 365 * 24 * time.Hour, Format: recording.Format{}, CreateKey: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	var frames []ct.Frame
	for i, n := range []string{patient, other} {
		d := &ct.Dialog{CallID: "web-" + n, Caller: party(n, "203.0.113.5", "a"), Callee: party("201", "10.0.0.21", "b")}
		frames = append(frames, ct.ToneCall(d, t0.Add(time.Duration(i)*time.Minute), 3*time.Second, 440, 880)...)
	}
	recordingtest.Record(t, a, frames)
	calls, err := a.Index().Find(index.Query{Newest: true})
	if err != nil || len(calls) != 2 {
		t.Fatalf("recorded %d calls, %v", len(calls), err)
	}
	b := &box{t: t, a: a, calls: calls, clock: &clock{at: time.Now()}, tokens: map[string]string{}, dir: dir}
	b.users = users.New(a.Index(), nil)
	for name, role := range map[string]string{"boss": users.HeadOfIG, "sup": users.Supervisor, "aud": users.Auditor, "tech": users.Technician, "victim": users.Supervisor} {
		once, err := b.users.Add("test", name, role)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.users.ChangePassword(name, once, pw); err != nil {
			t.Fatal(err)
		}
		if b.tokens[name], err = b.users.NewToken("test", name); err != nil {
			t.Fatal(err)
		}
	}
	certs, _, err := web.LoadCerts(filepath.Join(dir, "data"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b.cases = cases.New(cases.Config{Archive: a, Store: a.Index(), Retention: 5 * 365 * 24 * time.Hour, Practice: "Test Dental", Now: b.clock.now})
	c, err := b.cases.OpenCase("boss", cases.Case{Kind: cases.SAR, Requester: "A. Patient", Received: b.clock.now(), Identity: "passport", Numbers: []string{patient}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := b.cases.RequestAccess("victim", cases.Grant{Calls: []string{calls[0].ID}, Purpose: "training"})
	if err != nil {
		t.Fatal(err)
	}
	b.caseID, b.grant = c.ID, g.ID
	cfg := web.Config{Archive: a, Notes: a.Index(), Users: b.users, Certs: certs, Retention: 5 * 365 * 24 * time.Hour,
		Status: func() status.Snapshot {
			return status.Snapshot{Time: b.clock.now(), Metrics: map[string]uint64{"packets": 5}}
		},
		Cases:   b.cases,
		Version: "test", Now: b.clock.now}
	for _, o := range opts {
		o(&cfg)
	}
	b.srv, err = web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.ts = httptest.NewTLSServer(b.srv)
	t.Cleanup(b.ts.Close)
	return b
}

// client is one browser: its cookie jar, and the CSRF token of its
// session once signed in.
type client struct {
	b    *box
	c    *http.Client
	csrf string
}

func (b *box) browser() *client {
	jar, _ := cookiejar.New(nil)
	c := new(http.Client)
	*c = *b.ts.Client() // a copy: each browser its own jar
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{b: b, c: c}
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf" content="([^"]+)">`)

// signIn signs in as name and reads the session's CSRF token.
func (b *box) signIn(name string) *client {
	b.t.Helper()
	c := b.browser()
	resp := c.post("/signin", url.Values{"name": {name}, "password": {pw}})
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("sign in as %s: %d", name, resp.StatusCode)
	}
	_, body := c.get("/account")
	m := csrfMeta.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no CSRF token on the account page of %s", name)
	}
	c.csrf = m[1]
	return c
}

func (c *client) do(req *http.Request) (*http.Response, string) {
	c.b.t.Helper()
	resp, err := c.c.Do(req)
	if err != nil {
		c.b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (c *client) get(path string) (*http.Response, string) {
	req, _ := http.NewRequest("GET", c.b.ts.URL+path, nil)
	return c.do(req)
}

func (c *client) post(path string, form url.Values) *http.Response {
	resp, _ := c.postBody(path, form)
	return resp
}

func (c *client) postBody(path string, form url.Values) (*http.Response, string) {
	if form == nil {
		form = url.Values{}
	}
	if c.csrf != "" && !form.Has("csrf") {
		form.Set("csrf", c.csrf)
	}
	req, _ := http.NewRequest("POST", c.b.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

func (b *box) api(method, path, token string, hdr map[string]string, body string) (*http.Response, string) {
	req, _ := http.NewRequest(method, b.ts.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	cl := *b.ts.Client()
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return (&client{b: b, c: &cl}).do(req)
}

// concrete fills a route's pattern with a real call id and user name.
func (b *box) concrete(pattern string) string {
	p := strings.ReplaceAll(pattern, "{id}", b.calls[0].ID)
	p = strings.ReplaceAll(p, "{name}", "victim")
	p = strings.ReplaceAll(p, "{case}", b.caseID)
	p = strings.ReplaceAll(p, "{grant}", b.grant)
	if p == "/static/" {
		p = "/static/app.css"
	}
	return p
}

// TestEveryRouteNeedsASession walks the route table: with no session,
// every route but sign-in and the assets is refused (pages send the
// browser to sign in, the API answers 401), and a forged cookie is no
// better.
func TestEveryRouteNeedsASession(t *testing.T) {
	b := newBox(t)
	for _, rt := range b.srv.Routes() {
		for _, cookie := range []string{"", "forged-token"} {
			req, _ := http.NewRequest(rt.Method, b.ts.URL+b.concrete(rt.Pattern), nil)
			if cookie != "" {
				req.AddCookie(&http.Cookie{Name: "__Host-callrec", Value: cookie})
			}
			resp, body := b.browser().do(req)
			switch {
			case rt.Public && rt.Method == "POST":
				if resp.StatusCode != http.StatusUnauthorized { // a sign-in with no name fails
					t.Errorf("%s %s (public) with no form = %d, want 401", rt.Method, rt.Pattern, resp.StatusCode)
				}
			case rt.Pattern == "/optout": // a phone's key: its own credentials, refused without them
				if resp.StatusCode == 200 {
					t.Errorf("the phone key with no secret = 200")
				}
			case rt.Public:
				if resp.StatusCode != 200 {
					t.Errorf("%s %s (public) = %d", rt.Method, rt.Pattern, resp.StatusCode)
				}
			case rt.API && resp.StatusCode != http.StatusUnauthorized:
				t.Errorf("%s %s with no session = %d, want 401", rt.Method, rt.Pattern, resp.StatusCode)
			case rt.API && !strings.Contains(body, `"error"`):
				t.Errorf("%s %s: the 401 is not JSON with a message: %s", rt.Method, rt.Pattern, body)
			case !rt.API && rt.Method == "GET" && (resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin"):
				t.Errorf("%s %s with no session = %d to %q, want 303 to /signin", rt.Method, rt.Pattern, resp.StatusCode, resp.Header.Get("Location"))
			case !rt.API && rt.Method != "GET" && resp.StatusCode != http.StatusUnauthorized:
				t.Errorf("%s %s with no session = %d, want 401", rt.Method, rt.Pattern, resp.StatusCode)
			}
		}
	}
}

// TestRolesAndCSRF walks the route table with each role: a role the
// route does not list gets 403, a role it lists never does; a
// state-changing request with a forged CSRF token is refused (403) for
// every role, and changes nothing.
func TestRolesAndCSRF(t *testing.T) {
	b := newBox(t)
	sessions := map[string]*client{}
	for _, name := range []string{"boss", "sup", "aud"} {
		sessions[name] = b.signIn(name)
	}
	roleOf := map[string]string{"boss": users.HeadOfIG, "sup": users.Supervisor, "aud": users.Auditor}
	auditLen := func() int { l, _ := b.a.AuditLog(); return len(l) }
	for _, rt := range b.srv.Routes() {
		if rt.Public || rt.Pattern == "/signout" || rt.Passive {
			continue
		}
		for name, c := range sessions {
			allowed := len(rt.Roles) == 0
			for _, r := range rt.Roles {
				allowed = allowed || r == roleOf[name]
			}
			path := b.concrete(rt.Pattern)
			if rt.Method != "GET" {
				before := auditLen()
				req, _ := http.NewRequest(rt.Method, b.ts.URL+path, strings.NewReader("csrf=forged&reason=x&name=x&role=supervisor"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, _ := c.do(req)
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s %s as %s with a forged CSRF token = %d, want 403", rt.Method, rt.Pattern, name, resp.StatusCode)
				}
				if auditLen() != before {
					t.Errorf("%s %s with a forged CSRF token wrote to the audit log", rt.Method, rt.Pattern)
				}
			}
			req, _ := http.NewRequest(rt.Method, b.ts.URL+path, strings.NewReader("csrf="+c.csrf+"&reason=role+test&private=yes"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-CSRF-Token", c.csrf)
			req.Header.Set("X-Playback-Reason", "role test")
			resp, _ := c.do(req)
			switch {
			case !allowed && resp.StatusCode != http.StatusForbidden:
				t.Errorf("%s %s as %s = %d, want 403", rt.Method, rt.Pattern, name, resp.StatusCode)
			case allowed && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized):
				if rt.Pattern == "/calls/{id}/audio" || rt.Pattern == "/calls/{id}/waveform.svg" {
					continue // allowed, after the private-setting step (TestPlayback)
				}
				t.Errorf("%s %s as %s = %d, want it allowed", rt.Method, rt.Pattern, name, resp.StatusCode)
			}
		}
	}
	// The technician's account is for the console.
	c := b.browser()
	if resp, body := c.postBody("/signin", url.Values{"name": {"tech"}, "password": {pw}}); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "console") {
		t.Errorf("technician signed in on the web: %d", resp.StatusCode)
	}
}

func TestHeaders(t *testing.T) {
	b := newBox(t)
	c := b.signIn("boss")
	for _, p := range []string{"/signin", "/calls", "/calls/" + b.calls[0].ID, "/audit", "/static/app.js", "/nope"} {
		resp, _ := c.get(p)
		h := resp.Header
		if !strings.HasPrefix(h.Get("Content-Security-Policy"), "default-src 'self'") || h.Get("X-Frame-Options") != "DENY" ||
			!strings.Contains(h.Get("Strict-Transport-Security"), "max-age=") || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", p, h)
		}
	}
}

// TestSignInFlow: a one-time password leads to the password page and
// nowhere else; the cookie is Secure, HttpOnly, SameSite=Strict, and a
// new token (a cookie planted before sign-in is not promoted); signing
// out ends the session on the box.
func TestSignInFlow(t *testing.T) {
	b := newBox(t)
	once, err := b.users.Add("test", "newsup", users.Supervisor)
	if err != nil {
		t.Fatal(err)
	}
	c := b.browser()
	u, _ := url.Parse(b.ts.URL)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: "__Host-callrec", Value: "planted-by-attacker", Path: "/"}})
	resp := c.post("/signin", url.Values{"name": {"newsup"}, "password": {once}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/password" {
		t.Fatalf("sign in with a one-time password = %d to %q, want /password", resp.StatusCode, resp.Header.Get("Location"))
	}
	var sc *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == "__Host-callrec" {
			sc = k
		}
	}
	if sc == nil || !sc.Secure || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Value == "planted-by-attacker" || len(sc.Value) < 40 {
		t.Fatalf("session cookie %+v", sc)
	}
	if resp, _ := c.get("/calls"); resp.Header.Get("Location") != "/password" {
		t.Errorf("before the password change /calls = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body := c.get("/password")
	c.csrf = csrfMeta.FindStringSubmatch(body)[1]
	if resp, body := c.postBody("/password", url.Values{"old": {once}, "new": {"short"}, "again": {"short"}}); resp.StatusCode != 400 || !strings.Contains(body, "at least 12") {
		t.Errorf("a short password = %d", resp.StatusCode)
	}
	if resp := c.post("/password", url.Values{"old": {once}, "new": {pw}, "again": {pw + "x"}}); resp.StatusCode != 400 {
		t.Errorf("two different new passwords = %d, want 400", resp.StatusCode)
	}
	if resp := c.post("/password", url.Values{"old": {once}, "new": {pw}, "again": {pw}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("password change = %d", resp.StatusCode)
	}
	if resp, _ := c.get("/calls"); resp.StatusCode != 200 {
		t.Errorf("after the change /calls = %d", resp.StatusCode)
	}
	if resp := c.post("/signout", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("sign out = %d", resp.StatusCode)
	}
	// The old token, replayed, is dead on the box.
	req, _ := http.NewRequest("GET", b.ts.URL+"/calls", nil)
	req.AddCookie(&http.Cookie{Name: "__Host-callrec", Value: sc.Value})
	if resp, _ := b.browser().do(req); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a signed-out token still works: %d", resp.StatusCode)
	}
}

// TestTimeouts: 15 minutes idle, or 8 hours in all, end a session; the
// keep-alive holds it open; the status stream does not.
func TestTimeouts(t *testing.T) {
	b := newBox(t)
	c := b.signIn("sup")
	b.clock.add(14 * time.Minute)
	if resp := c.post("/session/keepalive", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("keepalive = %d", resp.StatusCode)
	}
	b.clock.add(14 * time.Minute)
	if resp, _ := c.get("/calls"); resp.StatusCode != 200 {
		t.Fatalf("28 minutes with a keepalive at 14: %d", resp.StatusCode)
	}
	b.clock.add(15*time.Minute + time.Second)
	if resp, _ := c.get("/calls"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after 15 idle minutes /calls = %d, want the sign-in page", resp.StatusCode)
	}
	c = b.signIn("sup")
	for range 41 {
		b.clock.add(12 * time.Minute)
		c.post("/session/keepalive", nil)
	}
	if resp, _ := c.get("/calls"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after 8 hours /calls = %d, want the sign-in page", resp.StatusCode)
	}
}

func TestLockoutOnThePage(t *testing.T) {
	b := newBox(t)
	c := b.browser()
	for range 5 {
		c.post("/signin", url.Values{"name": {"sup"}, "password": {"wrong password!"}})
	}
	resp, body := c.postBody("/signin", url.Values{"name": {"sup"}, "password": {pw}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "locked") {
		t.Errorf("the right password after 5 failures = %d", resp.StatusCode)
	}
	log, _ := b.a.AuditLog()
	var locked bool
	for _, e := range log {
		locked = locked || e.Action == "signin-locked"
	}
	if !locked {
		t.Error("the lockout is not in the audit log")
	}
}

// TestPlayback: the private setting and a reason come first; then the
// audio streams with Range (206, 416 for a bad range), the waveform
// draws, and every play is audited with its reason.
func TestPlayback(t *testing.T) {
	b := newBox(t)
	c := b.signIn("sup")
	id := b.calls[0].ID
	if resp, _ := c.get("/calls/" + id + "/audio"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("audio before the reason = %d, want 403", resp.StatusCode)
	}
	if resp := c.post("/calls/"+id+"/play", url.Values{"reason": {"training"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("play without the private setting = %d, want 400", resp.StatusCode)
	}
	if resp := c.post("/calls/"+id+"/play", url.Values{"private": {"yes"}, "reason": {"gossip"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("play with an unknown reason = %d, want 400", resp.StatusCode)
	}
	if resp := c.post("/calls/"+id+"/play", url.Values{"private": {"yes"}, "reason": {"complaint"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("play = %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", b.ts.URL+"/calls/"+id+"/audio", nil)
	req.Header.Set("Range", "bytes=0-99")
	resp, body := c.do(req)
	if resp.StatusCode != http.StatusPartialContent || len(body) != 100 || resp.Header.Get("Content-Type") != "audio/mpeg" {
		t.Errorf("range 0-99 = %d, %d bytes, %s", resp.StatusCode, len(body), resp.Header.Get("Content-Type"))
	}
	req, _ = http.NewRequest("GET", b.ts.URL+"/calls/"+id+"/audio", nil)
	req.Header.Set("Range", "bytes=99999999-")
	if resp, _ := c.do(req); resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("a range past the end = %d, want 416", resp.StatusCode)
	}
	resp, whole := c.get("/calls/" + id + "/audio")
	if resp.StatusCode != 200 || !strings.HasPrefix(whole, "\xff") || int64(len(whole)) < b.calls[0].Recording.Size {
		t.Errorf("whole audio = %d, %d bytes", resp.StatusCode, len(whole))
	}
	resp, svg := c.get("/calls/" + id + "/waveform.svg")
	if resp.StatusCode != 200 || !strings.HasPrefix(svg, "<svg") || strings.Count(svg, "M") < 1000 {
		t.Errorf("waveform = %d: %.80s", resp.StatusCode, svg)
	}
	// Another call needs its own reason.
	if resp, _ := c.get("/calls/" + b.calls[1].ID + "/audio"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the other call's audio = %d, want 403", resp.StatusCode)
	}
	log, _ := b.a.AuditLog()
	plays, private := 0, 0
	for _, e := range log {
		if e.Action == "play" && e.Who == "sup" && e.Target == id && strings.HasPrefix(e.Why, "complaint") {
			plays++
		}
		if e.Action == "private-setting" && e.Who == "sup" {
			private++
		}
	}
	if plays < 3 || private != 1 {
		t.Errorf("%d plays and %d private-setting confirmations audited", plays, private)
	}
	// A supervisor has no download.
	if resp := c.post("/calls/"+id+"/download", url.Values{"reason": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("supervisor download = %d, want 403", resp.StatusCode)
	}
	_, page := c.get("/calls/" + id)
	if strings.Contains(page, "Download MP3") {
		t.Error("the supervisor's call page offers a download")
	}
	boss := b.signIn("boss")
	resp, mp3 := boss.postBody("/calls/"+id+"/download", url.Values{"reason": {"SAR 2026-14"}})
	cd := resp.Header.Get("Content-Disposition")
	if resp.StatusCode != 200 || !strings.Contains(cd, id) || strings.Contains(cd, "441632") || mp3 != whole {
		t.Errorf("download = %d, %q, %d bytes (the stream was %d)", resp.StatusCode, cd, len(mp3), len(whole))
	}
}

// TestAPI: tokens act with their user's role; unknown and hostile ids get
// the same 404; audio needs a reason; download is the Head of IG's.
func TestAPI(t *testing.T) {
	b := newBox(t)
	resp, body := b.api("GET", "/api/v1/calls?number=01632+960001", b.tokens["sup"], nil, "")
	var list struct {
		Calls []index.Record `json:"calls"`
	}
	json.Unmarshal([]byte(body), &list)
	if resp.StatusCode != 200 || len(list.Calls) != 1 || list.Calls[0].From.E164 != patient {
		t.Fatalf("search by a national number = %d: %s", resp.StatusCode, body)
	}
	id := list.Calls[0].ID
	if resp, _ := b.api("GET", "/api/v1/calls/"+id, b.tokens["sup"], nil, ""); resp.StatusCode != 200 {
		t.Errorf("call = %d", resp.StatusCode)
	}
	for _, bad := range []string{"nope", "..%2F..%2Fetc%2Fpasswd", "%2E%2E", "a%00b", strings.Repeat("x", 300)} {
		resp, body := b.api("GET", "/api/v1/calls/"+bad, b.tokens["sup"], nil, "")
		if resp.StatusCode != 404 || !strings.Contains(body, "No such call") {
			t.Errorf("call %q = %d %s, want the same 404", bad, resp.StatusCode, body)
		}
	}
	if resp, _ := b.api("GET", "/api/v1/calls/"+id, b.tokens["aud"], nil, ""); resp.StatusCode != 403 {
		t.Errorf("auditor reading a call = %d, want 403", resp.StatusCode)
	}
	if resp, _ := b.api("GET", "/api/v1/calls/"+id+"/audio", b.tokens["sup"], nil, ""); resp.StatusCode != 400 {
		t.Errorf("audio without a reason = %d, want 400", resp.StatusCode)
	}
	reason := map[string]string{"X-Playback-Reason": "quality review", "Range": "bytes=10-19"}
	if resp, body := b.api("GET", "/api/v1/calls/"+id+"/audio", b.tokens["sup"], reason, ""); resp.StatusCode != 206 || len(body) != 10 {
		t.Errorf("audio range = %d, %d bytes", resp.StatusCode, len(body))
	}
	if resp, _ := b.api("GET", "/api/v1/calls/"+id+"/audio", b.tokens["sup"], map[string]string{"X-Playback-Reason": "x", "Range": "bytes=5-2"}, ""); resp.StatusCode != 416 {
		t.Errorf("a bad range = %d, want 416", resp.StatusCode)
	}
	if resp, _ := b.api("GET", "/api/v1/calls/"+id+"/audio?download=1", b.tokens["sup"], map[string]string{"X-Playback-Reason": "x"}, ""); resp.StatusCode != 403 {
		t.Errorf("supervisor download = %d, want 403", resp.StatusCode)
	}
	if resp, _ := b.api("GET", "/api/v1/calls/"+id+"/audio?download=1", b.tokens["boss"], map[string]string{"X-Playback-Reason": "SAR 1"}, ""); resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("head of IG download = %d", resp.StatusCode)
	}
	resp, body = b.api("POST", "/api/v1/calls/"+id+"/hold", b.tokens["boss"], nil, `{"reason":"complaint 7"}`)
	var h index.Hold
	json.Unmarshal([]byte(body), &h)
	if resp.StatusCode != 201 || h.ID == "" {
		t.Fatalf("hold = %d %s", resp.StatusCode, body)
	}
	if resp, _ := b.api("POST", "/api/v1/calls/"+id+"/hold", b.tokens["sup"], nil, `{"reason":"x"}`); resp.StatusCode != 403 {
		t.Errorf("supervisor hold = %d, want 403", resp.StatusCode)
	}
	if resp, body := b.api("DELETE", "/api/v1/calls/"+id+"/hold", b.tokens["boss"], nil, `{"reason":"closed","hold":"`+h.ID+`"}`); resp.StatusCode != 200 {
		t.Errorf("release = %d %s", resp.StatusCode, body)
	}
	if resp, _ := b.api("GET", "/api/v1/audit/verify", b.tokens["aud"], nil, ""); resp.StatusCode != 200 {
		t.Errorf("verify = %d", resp.StatusCode)
	}
	resp, body = b.api("GET", "/api/v1/audit?action=search", b.tokens["aud"], nil, "")
	if resp.StatusCode != 200 || !strings.Contains(body, "search") || strings.Contains(body, "1632960001") {
		t.Errorf("auditor's audit log = %d, numbers masked? %s", resp.StatusCode, body)
	}
	if resp, body := b.api("GET", "/api/v1/audit?action=search", b.tokens["boss"], nil, ""); resp.StatusCode != 200 || !strings.Contains(body, "+441632960001") {
		t.Errorf("the head of IG's audit log hides the number: %d", resp.StatusCode)
	}
	if resp, body := b.api("GET", "/metrics", b.tokens["aud"], nil, ""); resp.StatusCode != 200 || !strings.Contains(body, "callrec_packets_total 5") {
		t.Errorf("metrics = %d: %.200s", resp.StatusCode, body)
	}
	if resp, _ := b.api("GET", "/metrics", b.tokens["sup"], nil, ""); resp.StatusCode != 403 {
		t.Errorf("supervisor metrics = %d, want 403", resp.StatusCode)
	}
	if resp, _ := b.api("GET", "/calls", b.tokens["sup"], nil, ""); resp.StatusCode != http.StatusSeeOther {
		t.Error("a token opened a page: tokens are for the API")
	}
	if resp, _ := b.api("GET", "/api/v1/calls", "crt_forged", nil, ""); resp.StatusCode != 401 {
		t.Errorf("a forged token = %d, want 401", resp.StatusCode)
	}
}

// TestNoSecretsInAnswers: no page or API answer carries a password hash,
// a token, a session token, a TOTP secret of another user, or the keys.
func TestNoSecretsInAnswers(t *testing.T) {
	b := newBox(t)
	c := b.signIn("boss")
	var cookie string
	u, _ := url.Parse(b.ts.URL)
	for _, k := range c.c.Jar.Cookies(u) {
		cookie = k.Value
	}
	us, _ := b.users.List()
	var secrets []string
	for _, u := range us {
		secrets = append(secrets, u.PasswordHash)
	}
	for _, tok := range b.tokens {
		secrets = append(secrets, tok)
	}
	secrets = append(secrets, cookie, "$argon2id$")
	// The keys: the key-encryption key (hex lines), and the page's TLS key.
	kek, _ := os.ReadFile(filepath.Join(b.dir, "kek"))
	for _, l := range strings.Split(string(kek), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			secrets = append(secrets, l)
		}
	}
	tlsKey, _ := os.ReadFile(filepath.Join(b.dir, "data", "web.key"))
	if lines := strings.Split(string(tlsKey), "\n"); len(lines) > 2 {
		secrets = append(secrets, lines[1])
	} else {
		t.Fatal("no TLS key to look for")
	}
	if len(secrets) < 10 {
		t.Fatalf("only %d secrets to look for", len(secrets))
	}
	pages := []string{"/calls", "/calls?number=" + url.QueryEscape(patient), "/calls/" + b.calls[0].ID, "/audit", "/users", "/status", "/account", "/audit.csv"}
	for _, p := range pages {
		_, body := c.get(p)
		for _, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("%s contains a secret (%.12s…)", p, s)
			}
		}
	}
	for _, p := range []string{"/api/v1/calls", "/api/v1/calls/" + b.calls[0].ID, "/api/v1/audit", "/api/v1/status"} {
		_, body := b.api("GET", p, b.tokens["boss"], nil, "")
		for _, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("%s contains a secret (%.12s…)", p, s)
			}
		}
	}
}

// TestSearchPage: filters by number (any form), extension, direction,
// duration, tag and note text.
func TestSearchPage(t *testing.T) {
	b := newBox(t)
	c := b.signIn("sup")
	id := b.calls[1].ID // the patient's call (the older one)
	if resp := c.post("/calls/"+id+"/notes", url.Values{"note": {"Patient asked about a refund"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("note = %d", resp.StatusCode)
	}
	if resp := c.post("/calls/"+id+"/tags", url.Values{"tags": {"Billing, complaint"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("tags = %d", resp.StatusCode)
	}
	count := func(q string) int {
		resp, body := c.get("/calls?" + q)
		if resp.StatusCode != 200 {
			t.Errorf("/calls?%s = %d", q, resp.StatusCode)
		}
		return strings.Count(body, `aria-label="Open the call`)
	}
	for q, want := range map[string]int{
		"": 2, "number=" + url.QueryEscape("01632 960001"): 1, "number=" + url.QueryEscape(patient): 1, "number=201": 2,
		"extension=201": 2, "extension=999": 0, "direction=inbound": 2, "direction=outbound": 0, "min=1": 0, "max=1": 2,
		"tag=billing": 1, "tag=nothing": 0, "text=REFUND": 1, "text=refund&number=" + url.QueryEscape(other): 0,
		"from=2020-01-01&to=2020-12-31": 0,
	} {
		if got := count(q); got != want {
			t.Errorf("/calls?%s shows %d calls, want %d", q, got, want)
		}
	}
	if resp, body := c.get("/calls?number=hello"); resp.StatusCode != 400 || !strings.Contains(body, "not a phone number") {
		t.Errorf("a number that is not one = %d", resp.StatusCode)
	}
}

// TestUsersPage: the Head of IG appoints a supervisor, whose one-time
// password works once; disabling ends their sessions.
func TestUsersPage(t *testing.T) {
	b := newBox(t)
	boss := b.signIn("boss")
	resp, body := boss.postBody("/users", url.Values{"name": {"newbie"}, "role": {"supervisor"}})
	m := regexp.MustCompile(`id="one-time-password">([^<]+)<`).FindStringSubmatch(body)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("appoint = %d", resp.StatusCode)
	}
	if _, err := b.users.SignIn("newbie", m[1], ""); err != nil {
		t.Errorf("the one-time password shown does not sign in: %v", err)
	}
	if resp, _ := boss.postBody("/users", url.Values{"name": {"../x"}, "role": {"supervisor"}}); resp.StatusCode != 400 {
		t.Errorf("a bad name = %d", resp.StatusCode)
	}
	if resp, _ := boss.postBody("/users", url.Values{"name": {"t2"}, "role": {"technician"}}); resp.StatusCode != 400 {
		t.Errorf("a technician from the page = %d", resp.StatusCode)
	}
	sup := b.signIn("sup")
	if resp := boss.post("/users/sup/disable", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable = %d", resp.StatusCode)
	}
	if resp, _ := sup.get("/calls"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a disabled user's session lives on: %d", resp.StatusCode)
	}
	// Disabled on the box (recorderd users disable), not on the page: the
	// session ends at its next request too.
	victim := b.signIn("victim")
	if err := b.users.SetDisabled("console", "victim", true); err != nil {
		t.Fatal(err)
	}
	if resp, _ := victim.get("/calls"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a user disabled on the box keeps a session: %d", resp.StatusCode)
	}
	if resp := boss.post("/users/boss/disable", nil); resp.StatusCode != 400 {
		t.Errorf("disabling oneself = %d, want 400", resp.StatusCode)
	}
	if resp := boss.post("/users/nobody/reset", nil); resp.StatusCode != 404 {
		t.Errorf("reset of an unknown user = %d, want 404", resp.StatusCode)
	}
}

func TestAuditPageAndVerify(t *testing.T) {
	b := newBox(t)
	boss := b.signIn("boss")
	boss.get("/calls?number=" + url.QueryEscape(patient))
	resp, body := boss.postBody("/audit/verify", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "The chain holds") {
		t.Errorf("verify = %d", resp.StatusCode)
	}
	aud := b.signIn("aud")
	_, page := aud.get("/audit?action=search")
	if !strings.Contains(page, "search") || strings.Contains(page, "1632960001") || !strings.Contains(page, "001") {
		t.Error("the auditor's audit page shows the searched number in clear, or not at all")
	}
	resp, csv := aud.get("/audit.csv?user=boss")
	if resp.StatusCode != 200 || !strings.HasPrefix(csv, "seq,time,who,action") || !strings.Contains(csv, ",boss,search,") {
		t.Errorf("CSV = %d: %.200s", resp.StatusCode, csv)
	}
}
