// Package web is the supervisors' page: sign-in, search, playback in
// private, download, holds, the audit log, users, status and metrics, and
// the JSON API that scripts use with a token. It is served over HTTPS by
// the daemon itself, from assets embedded in the binary: no request ever
// leaves the box.
//
// Every route is declared once, in routes, with the roles that may use
// it; the one wrapper every route goes through (serve) authenticates,
// checks the role and the CSRF token, and sets the security headers. A
// test walks the table.
package web

import (
	"context"
	"crypto/ed25519"
	"crypto/subtle"
	"crypto/tls"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pquerna/otp"

	"callrec/firmware/optout"
	"callrec/firmware/status"
	"callrec/firmware/users"
	"callrec/recorder/pipeline"
	"callrec/recorder/sip"
	"callrec/storage/archive"
	"callrec/storage/index"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Archive is what the page reads and changes of the recordings.
type Archive interface {
	Find(acc archive.Access, q index.Query, more string) (index.Found, error)
	Call(acc archive.Access, id string) (*index.Record, error)
	Play(acc archive.Access, id string) (*archive.Audio, error)
	Download(acc archive.Access, id string) (*archive.Audio, error)
	CheckRecording(id string) (partial bool, err error)
	Holds(id string) ([]index.Hold, error)
	Hold(acc archive.Access, id string) (index.Hold, error)
	Release(acc archive.Access, id, holdID string) (index.Hold, error)
	AuditLog() ([]index.Entry, error)
	VerifyAudit() (int, error)
	Audit(who, action, target, why string) error
	LastPurge() time.Time
	DevicePublic() (ed25519.PublicKey, error)
}

// Notes are the notes and tags on calls.
type Notes interface {
	Annotation(id string) (index.Annotation, error)
	Annotate(id string, change func(*index.Annotation) error) error
	Annotated(match func(index.Annotation) bool) (map[string]bool, error)
}

// Users are the accounts (firmware/users).
type Users interface {
	SignIn(name, password, code string) (index.User, error)
	ChangePassword(name, old, pw string) error
	Add(by, name, role string) (string, error)
	Reset(by, name string) (string, error)
	SetDisabled(by, name string, disabled bool) error
	List() ([]index.User, error)
	Get(name string) (index.User, error)
	ByToken(tok string) (index.User, error)
	NewTOTP(name string) (*otp.Key, error)
	EnableTOTP(name, secret, code string) error
	RequireTOTP(by string, on bool) error
	TOTPRequired() bool
}

// Listen is listen-in (firmware/listen).
type Listen interface {
	Start(call, codec, who, reason, offer string) (answer, id string, err error)
	Stop(id, who string) error
	Listeners(call string) []string
}

// DoNotRecord is the do-not-record list (firmware/optout).
type DoNotRecord interface {
	Listed(numbers []string) bool
	List() []optout.Entry
	Add(by, number, reason string) error
	Remove(by, number, why string) error
}

// Config is what the page is served with.
type Config struct {
	Archive Archive
	Notes   Notes
	Users   Users
	Certs   *Certs
	// Status is the box's state now, with its LEDs (nil: not shown).
	Status func() status.Snapshot
	// Choosing says the panel's button waits for the choice of a call.
	Choosing func() bool
	// Listen is listen-in over WebRTC (nil: none).
	Listen Listen
	// AckFault acknowledges a watchdog reboot's warning (nil: none).
	AckFault func(who string) error
	// Live lists the calls in progress, and OptOut opts one out (nil: the
	// recorder is not running).
	Live   func() []pipeline.LiveCall
	OptOut func(acc archive.Access, trigger, id string) (optout.Result, error)
	// Phones are the desk phones whose key opts a call out (nil: none).
	Phones Phones
	// DoNotRecord is the list of numbers never recorded (nil: not shown).
	DoNotRecord DoNotRecord
	// Cases is the Head of IG's casework and the access grants (nil: none).
	Cases Cases
	// Update installs signed firmware (firmware/update), the same as the
	// console's `update apply`; Power then reboots into it (nil: none).
	Update Updater
	Power  func(action string) error
	// GrantAccess: a supervisor plays a call only under an open grant from
	// the Head of IG ([access] mode = "grant"); without Cases, never.
	GrantAccess bool
	Plan        sip.NumberPlan // to write a searched number in E.164
	Retention   time.Duration
	Version     string
	// IdleTimeout and MaxSession end sessions (defaults 15 min and 8 h).
	IdleTimeout, MaxSession time.Duration
	Now                     func() time.Time
	Log                     *slog.Logger
}

// Server is the page.
type Server struct {
	cfg   Config
	sess  sessions
	pages map[string]*template.Template
	mux   *http.ServeMux
	wave  waveCache
	rate  window   // the counters' recent samples, for rates
	limit keyLimit // phone keys' refusals, by source
}

// New makes the page's handler.
func New(cfg Config) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 15 * time.Minute
	}
	if cfg.MaxSession <= 0 {
		cfg.MaxSession = 8 * time.Hour
	}
	s := &Server{cfg: cfg, pages: map[string]*template.Template{}, mux: http.NewServeMux()}
	s.sess.idle, s.sess.max = cfg.IdleTimeout, cfg.MaxSession
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", n, err)
		}
		s.pages[base] = t
	}
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	for _, rt := range s.routes() {
		h := rt.h
		if rt.Pattern == "/static/" {
			h = func(w http.ResponseWriter, r *http.Request, _ *who) error { files.ServeHTTP(w, r); return nil }
		}
		s.mux.Handle(rt.Method+" "+rt.Pattern, s.serve(rt, h))
	}
	// Anything else: not found, with the same headers.
	s.mux.Handle("/", s.serve(Route{Public: true}, func(w http.ResponseWriter, r *http.Request, _ *who) error {
		if r.URL.Path == "/" {
			http.Redirect(w, r, "/calls", http.StatusSeeOther)
			return nil
		}
		return errNotFound
	}))
	return s, nil
}

// ServeHTTP serves the page.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Route is one entry of the page's route table.
type Route struct {
	Method, Pattern string
	Roles           []string // who may use it; none: any signed-in user
	Public          bool     // needs no session (sign-in, assets)
	API             bool     // JSON answers, and a bearer token is accepted
	Early           bool     // reachable before a one-time password is changed or TOTP set up
	Passive         bool     // not user activity: does not hold the session open (event streams)
	MaxBody         int64    // the largest request body (default 1 MiB)
	h               handler
}

type handler func(w http.ResponseWriter, r *http.Request, u *who) error

// who is the caller of a request.
type who struct {
	name, role string
	sess       *session // nil for a token
	token      string   // the session's cookie token
}

// Routes lists the route table, for tests.
func (s *Server) Routes() []Route { return s.routes() }

var (
	all     = []string{users.HeadOfIG, users.Supervisor, users.Auditor}
	hearers = []string{users.HeadOfIG, users.Supervisor}
	hoig    = []string{users.HeadOfIG}
	readers = []string{users.HeadOfIG, users.Auditor}
)

func (s *Server) routes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/static/", Public: true},
		{Method: "GET", Pattern: "/signin", Public: true, h: s.signInPage},
		{Method: "POST", Pattern: "/signin", Public: true, h: s.signIn},
		// A phone's key: no session; its extension, address and secret.
		{Method: "GET", Pattern: "/optout", Public: true, h: s.phoneKey},
		{Method: "POST", Pattern: "/signout", Early: true, h: s.signOut},
		{Method: "POST", Pattern: "/session/keepalive", Early: true, h: s.keepAlive},
		{Method: "GET", Pattern: "/password", Early: true, h: s.passwordPage},
		{Method: "POST", Pattern: "/password", Early: true, h: s.changePassword},
		{Method: "GET", Pattern: "/account", Early: true, h: s.accountPage},
		{Method: "GET", Pattern: "/account/totp.png", Early: true, h: s.totpImage},
		{Method: "POST", Pattern: "/account/totp", Early: true, h: s.enableTOTP},

		{Method: "GET", Pattern: "/calls", Roles: hearers, h: s.callsPage},
		{Method: "GET", Pattern: "/calls/{id}", Roles: hearers, h: s.callPage},
		{Method: "POST", Pattern: "/calls/{id}/play", Roles: hearers, h: s.play},
		{Method: "GET", Pattern: "/calls/{id}/audio", Roles: hearers, h: s.audio},
		{Method: "GET", Pattern: "/calls/{id}/waveform.svg", Roles: hearers, h: s.waveform},
		{Method: "POST", Pattern: "/calls/{id}/notes", Roles: hearers, h: s.addNote},
		{Method: "POST", Pattern: "/calls/{id}/tags", Roles: hearers, h: s.setTags},
		{Method: "POST", Pattern: "/calls/{id}/download", Roles: hoig, h: s.download},
		{Method: "POST", Pattern: "/calls/{id}/hold", Roles: hoig, h: s.hold},
		{Method: "POST", Pattern: "/calls/{id}/release", Roles: hoig, h: s.release},

		{Method: "GET", Pattern: "/audit", Roles: readers, h: s.auditPage},
		{Method: "GET", Pattern: "/audit.csv", Roles: readers, h: s.auditCSV},
		{Method: "POST", Pattern: "/audit/verify", Roles: readers, h: s.verifyAudit},
		{Method: "GET", Pattern: "/users", Roles: hoig, h: s.usersPage},
		{Method: "POST", Pattern: "/users", Roles: hoig, h: s.addUser},
		{Method: "POST", Pattern: "/users/{name}/reset", Roles: hoig, h: s.resetUser},
		{Method: "POST", Pattern: "/users/{name}/disable", Roles: hoig, h: s.disableUser},
		{Method: "POST", Pattern: "/users/{name}/enable", Roles: hoig, h: s.enableUser},
		{Method: "POST", Pattern: "/settings/totp", Roles: hoig, h: s.requireTOTP},
		{Method: "POST", Pattern: "/settings/certificate", Roles: hoig, h: s.uploadCert},
		{Method: "POST", Pattern: "/settings/update", Roles: hoig, MaxBody: 256 << 20, h: s.uploadUpdate},
		{Method: "GET", Pattern: "/live", Roles: all, h: s.livePage},
		{Method: "GET", Pattern: "/live/events", Roles: all, Passive: true, h: s.liveEvents},
		{Method: "POST", Pattern: "/live/{id}/optout", Roles: hearers, h: s.liveOptOut},
		{Method: "POST", Pattern: "/live/{id}/listen", Roles: hearers, API: true, h: s.listenStart},
		{Method: "POST", Pattern: "/live/listen/{session}/stop", Roles: hearers, API: true, h: s.listenStop},
		{Method: "GET", Pattern: "/phones", Roles: hoig, h: s.phonesPage},
		{Method: "POST", Pattern: "/phones", Roles: hoig, h: s.addPhone},
		{Method: "POST", Pattern: "/phones/remove", Roles: hoig, h: s.removePhone},
		{Method: "GET", Pattern: "/donotrecord", Roles: hoig, h: s.dnrPage},
		{Method: "POST", Pattern: "/donotrecord", Roles: hoig, h: s.dnrAdd},
		{Method: "POST", Pattern: "/donotrecord/remove", Roles: hoig, h: s.dnrRemove},
		{Method: "GET", Pattern: "/cases", Roles: hoig, h: s.withCases(s.casesPage)},
		{Method: "GET", Pattern: "/cases/new", Roles: hoig, h: s.withCases(s.newCasePage)},
		{Method: "POST", Pattern: "/cases", Roles: hoig, h: s.withCases(s.openCase)},
		{Method: "GET", Pattern: "/cases/{case}", Roles: hoig, h: s.withCases(s.casePage)},
		{Method: "POST", Pattern: "/cases/{case}/search", Roles: hoig, h: s.withCases(s.caseAction("calls", s.caseSearch))},
		{Method: "POST", Pattern: "/cases/{case}/call", Roles: hoig, h: s.withCases(s.caseAction("calls", s.caseCall))},
		{Method: "POST", Pattern: "/cases/{case}/build", Roles: hoig, h: s.withCases(s.caseBuild)},
		{Method: "POST", Pattern: "/cases/{case}/check", Roles: hoig, h: s.withCases(s.caseAction("bundle", s.caseCheck))},
		{Method: "POST", Pattern: "/cases/{case}/download", Roles: hoig, h: s.withCases(s.caseDownload)},
		{Method: "POST", Pattern: "/cases/{case}/extend", Roles: hoig, h: s.withCases(s.caseAction("due", s.caseExtend))},
		{Method: "POST", Pattern: "/cases/{case}/decide", Roles: hoig, h: s.withCases(s.caseAction("decision", s.caseDecide))},
		{Method: "POST", Pattern: "/cases/{case}/appointment", Roles: hoig, h: s.withCases(s.caseAction("hear", s.caseAppoint))},
		{Method: "POST", Pattern: "/cases/{case}/erase", Roles: hoig, h: s.withCases(s.caseAction("erase", s.caseErase))},
		{Method: "POST", Pattern: "/cases/{case}/close", Roles: hoig, h: s.withCases(s.caseAction("close", s.caseClose))},
		{Method: "GET", Pattern: "/access", Roles: hearers, h: s.withCases(s.accessPage)},
		{Method: "POST", Pattern: "/access", Roles: hearers, h: s.withCases(s.requestAccess)},
		{Method: "POST", Pattern: "/access/{grant}", Roles: hoig, h: s.withCases(s.decideAccess)},
		{Method: "GET", Pattern: "/status", Roles: all, h: s.statusPage},
		{Method: "GET", Pattern: "/status/events", Roles: all, Passive: true, h: s.statusEvents},
		{Method: "POST", Pattern: "/status/ack", Roles: hoig, h: s.ackFault},
		{Method: "GET", Pattern: "/metrics", Roles: readers, API: true, h: s.metrics},

		{Method: "GET", Pattern: "/api/v1/calls", Roles: hearers, API: true, h: s.apiCalls},
		{Method: "GET", Pattern: "/api/v1/calls/{id}", Roles: hearers, API: true, h: s.apiCall},
		{Method: "GET", Pattern: "/api/v1/calls/{id}/audio", Roles: hearers, API: true, h: s.apiAudio},
		{Method: "POST", Pattern: "/api/v1/calls/{id}/hold", Roles: hoig, API: true, h: s.apiHold},
		{Method: "DELETE", Pattern: "/api/v1/calls/{id}/hold", Roles: hoig, API: true, h: s.apiRelease},
		{Method: "POST", Pattern: "/api/v1/calls/{id}/optout", Roles: hearers, API: true, h: s.apiOptOut},
		{Method: "GET", Pattern: "/api/v1/audit", Roles: readers, API: true, h: s.apiAudit},
		{Method: "GET", Pattern: "/api/v1/audit/verify", Roles: readers, API: true, h: s.apiVerifyAudit},
		{Method: "GET", Pattern: "/api/v1/status", Roles: all, API: true, h: s.apiStatus},
	}
}

// httpError is an error with the status code and the message to show.
type httpError struct {
	code           int
	msg            string
	link, linkText string // a way on, shown with the message on a page
}

func (e *httpError) Error() string { return e.msg }

func errorf(code int, format string, a ...any) error {
	return &httpError{code: code, msg: fmt.Sprintf(format, a...)}
}

var (
	errNotFound  = errorf(http.StatusNotFound, "Not found.")
	errNoCall    = errorf(http.StatusNotFound, "No such call.")
	errForbidden = errorf(http.StatusForbidden, "Your role does not allow this.")
	// errNotRunning: the page runs without the recorder (it is stopping,
	// or a tool serves the page alone).
	errNotRunning = errorf(http.StatusServiceUnavailable, "The recorder is not running.")
	errCSRF       = errorf(http.StatusForbidden, "The form has expired or did not come from this page: reload the page and try again.")
)

// headers are set on every answer. The policy allows the page's own
// scripts, styles, images and media only: no inline script, no frames.
func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Strict-Transport-Security", "max-age=31536000")
	h.Set("Cache-Control", "no-store")
}

// serve wraps every route: headers, authentication, the one-time password
// and TOTP gates, the role, CSRF, then the handler; errors become the
// right answer for a page or the API.
func (s *Server) serve(rt Route, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers(w)
		limit := rt.MaxBody
		if limit == 0 {
			limit = 1 << 20
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if rt.Pattern == "/static/" {
			w.Header().Set("Cache-Control", "public, max-age=3600")
		}
		u, err := s.authenticate(rt, r)
		if err == nil {
			err = s.authorise(rt, r, u)
		}
		if err == nil {
			err = h(w, r, u)
		}
		if err != nil {
			s.fail(w, r, rt, u, err)
		}
	})
}

func (s *Server) authenticate(rt Route, r *http.Request) (*who, error) {
	if rt.Public {
		return nil, nil
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || !rt.API {
			return nil, errorf(http.StatusUnauthorized, "A token is accepted only on the API, as Authorization: Bearer TOKEN.")
		}
		u, err := s.cfg.Users.ByToken(strings.TrimSpace(tok))
		if err != nil {
			return nil, errorf(http.StatusUnauthorized, "The token is not valid.")
		}
		return &who{name: u.Name, role: u.Role}, nil
	}
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil, errorf(http.StatusUnauthorized, "Sign in first.")
	}
	now := s.cfg.Now()
	sess := s.sess.get(c.Value, now, s.cfg.IdleTimeout, s.cfg.MaxSession)
	if sess == nil {
		return nil, errorf(http.StatusUnauthorized, "Your session has ended: sign in again.")
	}
	// The account as stored now: one disabled (on the page or on the box)
	// loses its sessions at their next request, and one whose record
	// cannot be read gets nothing.
	acct, err := s.cfg.Users.Get(sess.user)
	if err != nil || acct.Disabled {
		s.sess.end(c.Value)
		return nil, errorf(http.StatusUnauthorized, "Your session has ended: sign in again.")
	}
	var u *who
	s.sess.with(func() {
		if !rt.Passive {
			sess.seen = now
		}
		sess.role = acct.Role
		u = &who{name: sess.user, role: sess.role, sess: sess, token: c.Value}
	})
	return u, nil
}

func (s *Server) authorise(rt Route, r *http.Request, u *who) error {
	if u == nil {
		return nil // public
	}
	if u.sess != nil && !rt.Early {
		var must, totp bool
		s.sess.with(func() { must, totp = u.sess.mustChange, u.sess.needTOTP })
		switch {
		case must:
			return errorf(http.StatusForbidden, "Change your one-time password first.")
		case totp:
			return errorf(http.StatusForbidden, "Set up your authenticator first: the Head of IG requires it.")
		}
	}
	if len(rt.Roles) > 0 && !slices.Contains(rt.Roles, u.role) {
		return errForbidden
	}
	if !slices.Contains(all, u.role) {
		return errForbidden // a technician's account is for the console only
	}
	if u.sess != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
		got := r.Header.Get("X-CSRF-Token")
		if got == "" {
			got = r.PostFormValue("csrf")
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(u.sess.csrf)) != 1 {
			return errCSRF
		}
	}
	return nil
}

// fail answers an error: JSON on the API, a page otherwise; a page that
// needs a session sends the browser to sign in, or to the step it must
// take first.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, rt Route, u *who, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		he = s.classify(err)
	}
	if he.code >= 500 {
		s.cfg.Log.Error("web: request failed", "method", r.Method, "route", rt.Pattern, "err", err)
	}
	if rt.API || strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, he.code, map[string]string{"error": he.msg})
		return
	}
	if r.Method == http.MethodGet && he.code == http.StatusUnauthorized {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	if r.Method == http.MethodGet && he.code == http.StatusForbidden && u != nil && u.sess != nil {
		var must, totp bool
		s.sess.with(func() { must, totp = u.sess.mustChange, u.sess.needTOTP })
		switch {
		case must:
			http.Redirect(w, r, "/password", http.StatusSeeOther)
			return
		case totp:
			http.Redirect(w, r, "/account", http.StatusSeeOther)
			return
		}
	}
	s.render(w, r, u, he.code, "error", map[string]any{"Code": he.code, "Message": he.msg, "Link": he.link, "LinkText": he.linkText})
}

// classify maps the layers' errors to answers. Anything not known is a
// 500 whose detail goes to the log, not to the browser.
func (s *Server) classify(err error) *httpError {
	switch {
	case errors.Is(err, index.ErrNotFound):
		return errNoCall.(*httpError)
	case errors.Is(err, archive.ErrPurged):
		return &httpError{code: http.StatusGone, msg: "The recording was deleted at the end of its retention; its details remain."}
	case errors.Is(err, archive.ErrErased):
		return &httpError{code: http.StatusGone, msg: "The recording was erased by an erasure case; its details remain."}
	case errors.Is(err, archive.ErrNoAudio):
		return &httpError{code: http.StatusNotFound, msg: "This call has no recording (not answered, or not recorded)."}
	case errors.Is(err, archive.ErrHashMismatch):
		return &httpError{code: http.StatusConflict, msg: "The recording does not match its stored SHA-256: it is not played. Tell the technician (recorderd verify)."}
	case errors.Is(err, archive.ErrNoAccountable):
		return &httpError{code: http.StatusBadRequest, msg: "Give a reason."}
	case errors.Is(err, index.ErrHeld):
		return &httpError{code: http.StatusConflict, msg: "The call is under a legal hold."}
	case errors.Is(err, index.ErrNoHold), errors.Is(err, index.ErrAmbiguous):
		return &httpError{code: http.StatusBadRequest, msg: "Name the hold to release."}
	}
	return &httpError{code: http.StatusInternalServerError, msg: "Something went wrong on the box; the technician can find the detail in its log."}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// callID is the {id} of a request, if it can be a call's id: letters,
// digits, dots, dashes and underscores, never a path. Anything else is
// "no such call", as an unknown id is.
func callID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !idPattern.MatchString(id) || strings.Contains(id, "..") {
		return "", errNoCall
	}
	return id, nil
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Serve serves the page on ln over TLS (and, if redirect is set, plain
// HTTP that only redirects) until ctx is done.
func (s *Server) Serve(ctx context.Context, ln net.Listener, redirect net.Listener) error {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.cfg.Certs.Get}
	srv := &http.Server{Handler: s, TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelDebug), MaxHeaderBytes: 64 << 10}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(tls.NewListener(ln, tlsCfg)) }()
	var rsrv *http.Server
	if redirect != nil {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		rsrv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: redirector(port)}
		go func() { errc <- rsrv.Serve(redirect) }()
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			srv.Close()
			return fmt.Errorf("web: %w", err)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if rsrv != nil {
		rsrv.Shutdown(sctx)
	}
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	return nil
}

// redirector sends every plain-HTTP request to the same path over HTTPS.
func redirector(port string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if port != "443" {
			host = net.JoinHostPort(host, port)
		}
		w.Header().Set("Connection", "close")
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusMovedPermanently)
	})
}
