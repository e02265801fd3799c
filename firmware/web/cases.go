package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"callrec/firmware/bundle"
	"callrec/firmware/cases"
	"callrec/firmware/users"
	"callrec/storage/index"
)

// Cases is the Head of IG's casework and the supervisors' access grants
// (firmware/cases).
type Cases interface {
	Numbers(typed string) (numbers, extensions []string, err error)
	OpenCase(by string, c cases.Case) (cases.Case, error)
	Get(id string) (cases.Case, error)
	List() ([]cases.Case, error)
	Overdue() ([]cases.Case, error)
	Extend(by, id string, e cases.Extension) (cases.Case, error)
	Decide(by, id, decision, rationale string) (cases.Case, error)
	Search(by, id string, t cases.Terms) (cases.Case, int, error)
	Include(by, id, call string) (cases.Case, error)
	Exclude(by, id, call, reason string) (cases.Case, error)
	Build(by, id string, encrypt bool) (string, error)
	Check(by, id string, alone bool) (cases.Case, error)
	Download(by, id, to string, w io.Writer) (bundle.Manifest, error)
	Appoint(by, id string, a cases.Appointment) (cases.Case, error)
	Erase(by, id, call, reason, confirm string) (cases.Case, error)
	Close(by, id, outcome string) (cases.Case, error)

	RequestAccess(by string, g cases.Grant) (cases.Grant, error)
	DecideAccess(by, id string, approve bool, reason string, until time.Time, plays int) (cases.Grant, error)
	Revoke(by, id, reason string) (cases.Grant, error)
	Grants(user string) ([]cases.Grant, error)
	Grant(id string) (cases.Grant, error)
	MayPlay(user string, r *index.Record) (cases.Grant, error)
	UsePlay(user string, r *index.Record) (cases.Grant, error)
}

var caseIDPattern = regexp.MustCompile(`^(SAR|POL|ERA|ACC)-[0-9]{4}-[0-9]{3,6}$`)

// pathID is a case's or grant's id from the path: anything else is not
// found.
func pathID(r *http.Request, name string) (string, error) {
	id := r.PathValue(name)
	if !caseIDPattern.MatchString(id) {
		return "", errNoCase
	}
	return id, nil
}

var errNoCase = errorf(http.StatusNotFound, "No such case.")

// caseErr turns the service's refusals into answers that say what to do.
func caseErr(err error) error {
	var he *httpError
	switch {
	case err == nil, errors.As(err, &he):
		return err
	case errors.Is(err, cases.ErrNoCase):
		return errNoCase
	case errors.Is(err, cases.ErrNoGrant):
		return askAccess("", err)
	case errors.Is(err, index.ErrHeld):
		return errorf(http.StatusConflict, "The call is under a legal hold: it cannot be erased while the hold remains.")
	}
	for _, e := range []error{cases.ErrClosed, cases.ErrInvalid, cases.ErrNotDecided, cases.ErrNothing, cases.ErrNotBuilt,
		cases.ErrNotChecked, cases.ErrSelfCheck, cases.ErrExpired, cases.ErrConfirm, cases.ErrNotInCase, cases.ErrChangedCall,
		cases.ErrDecided, cases.ErrExtension, cases.ErrToldLate, cases.ErrOutOfTable} {
		if errors.Is(err, e) {
			msg := strings.TrimPrefix(err.Error(), "cases: ")
			return errorf(http.StatusBadRequest, "%s.", strings.ToUpper(msg[:1])+msg[1:])
		}
	}
	return err
}

// formDay reads a date field (YYYY-MM-DD, local); "" is the zero time.
func formDay(r *http.Request, name, label string) (time.Time, error) {
	v := strings.TrimSpace(r.PostFormValue(name))
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, v, time.Local)
	if err != nil {
		return t, errorf(http.StatusBadRequest, "The %s is not a date (YYYY-MM-DD).", label)
	}
	return t, nil
}

func field(r *http.Request, name string, max int) (string, error) {
	v := strings.TrimSpace(r.PostFormValue(name))
	if len(v) > max {
		return "", errorf(http.StatusBadRequest, "Keep each field under %d characters.", max)
	}
	return v, nil
}

// fields reads several text fields at once.
func fields(r *http.Request, max int, names ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range names {
		v, err := field(r, n, max)
		if err != nil {
			return nil, err
		}
		out[n] = v
	}
	return out, nil
}

func toCase(w http.ResponseWriter, r *http.Request, id, anchor string) error {
	http.Redirect(w, r, "/cases/"+url.PathEscape(id)+"#"+anchor, http.StatusSeeOther)
	return nil
}

func (s *Server) casesPage(w http.ResponseWriter, r *http.Request, u *who) error {
	list, err := s.cfg.Cases.List()
	if err != nil {
		return err
	}
	s.render(w, r, u, http.StatusOK, "cases", map[string]any{"Cases": list, "Now": s.cfg.Now()})
	return nil
}

func (s *Server) newCasePage(w http.ResponseWriter, r *http.Request, u *who) error {
	kind := cases.Kind(r.URL.Query().Get("kind"))
	if kind.Prefix() == "" {
		return errorf(http.StatusBadRequest, "Choose the kind of case.")
	}
	s.render(w, r, u, http.StatusOK, "newcase", map[string]any{"Kind": kind, "Today": s.cfg.Now().In(time.Local).Format(time.DateOnly)})
	return nil
}

func (s *Server) openCase(w http.ResponseWriter, r *http.Request, u *who) error {
	f, err := fields(r, 500, "kind", "requester", "identity", "officer", "authoriser", "purpose", "grounds")
	if err != nil {
		return err
	}
	typed, err := field(r, "numbers", 2000)
	if err != nil {
		return err
	}
	c := cases.Case{Kind: cases.Kind(f["kind"]), Requester: f["requester"], Identity: f["identity"], Officer: f["officer"],
		Authoriser: f["authoriser"], Purpose: f["purpose"], Grounds: f["grounds"]}
	if c.Numbers, c.Extensions, err = s.cfg.Cases.Numbers(typed); err != nil {
		return caseErr(err)
	}
	if c.Received, err = formDay(r, "received", "date received"); err != nil {
		return err
	}
	if c.From, err = formDay(r, "from", "start of the window"); err != nil {
		return err
	}
	if c.To, err = formDay(r, "to", "end of the window"); err != nil {
		return err
	}
	if !c.To.IsZero() {
		c.To = c.To.AddDate(0, 0, 1)
	}
	c, err = s.cfg.Cases.OpenCase(u.name, c)
	if err != nil {
		return caseErr(err)
	}
	return toCase(w, r, c.ID, "search")
}

func (s *Server) casePage(w http.ResponseWriter, r *http.Request, u *who) error {
	return s.showCase(w, r, u, nil)
}

func (s *Server) showCase(w http.ResponseWriter, r *http.Request, u *who, extra map[string]any) error {
	id, err := pathID(r, "case")
	if err != nil {
		return err
	}
	c, err := s.cfg.Cases.Get(id)
	if err != nil {
		return caseErr(err)
	}
	data := map[string]any{"C": c, "Now": s.cfg.Now(), "Included": len(c.Included())}
	for k, v := range extra {
		data[k] = v
	}
	s.render(w, r, u, http.StatusOK, "case", data)
	return nil
}

// caseAction runs one step on a case from its page's form and returns to
// the page.
func (s *Server) caseAction(anchor string, step func(r *http.Request, u *who, id string) error) handler {
	return func(w http.ResponseWriter, r *http.Request, u *who) error {
		id, err := pathID(r, "case")
		if err != nil {
			return err
		}
		if err := step(r, u, id); err != nil {
			return caseErr(err)
		}
		return toCase(w, r, id, anchor)
	}
}

func (s *Server) caseSearch(r *http.Request, u *who, id string) error {
	typed, err := field(r, "numbers", 2000)
	if err != nil {
		return err
	}
	var t cases.Terms
	if t.Numbers, t.Extensions, err = s.cfg.Cases.Numbers(typed); err != nil {
		return err
	}
	if t.From, err = formDay(r, "from", "from date"); err != nil {
		return err
	}
	if t.To, err = formDay(r, "to", "to date"); err != nil {
		return err
	}
	if !t.To.IsZero() {
		t.To = t.To.AddDate(0, 0, 1)
	}
	if t.Notes, err = field(r, "notes", 200); err != nil {
		return err
	}
	_, _, err = s.cfg.Cases.Search(u.name, id, t)
	return err
}

func (s *Server) caseCall(r *http.Request, u *who, id string) error {
	call := r.PostFormValue("call")
	if !idPattern.MatchString(call) {
		return errNoCall
	}
	switch r.PostFormValue("decision") {
	case "include":
		_, err := s.cfg.Cases.Include(u.name, id, call)
		return err
	case "exclude":
		reason, err := field(r, "reason", 300)
		if err != nil {
			return err
		}
		_, err = s.cfg.Cases.Exclude(u.name, id, call, reason)
		return err
	}
	return errorf(http.StatusBadRequest, "Include or exclude.")
}

// caseBuild builds the bundle and shows the case with the password, once.
func (s *Server) caseBuild(w http.ResponseWriter, r *http.Request, u *who) error {
	id, err := pathID(r, "case")
	if err != nil {
		return err
	}
	pw, err := s.cfg.Cases.Build(u.name, id, r.PostFormValue("encrypt") == "yes")
	if err != nil {
		return caseErr(err)
	}
	if pw == "" {
		return toCase(w, r, id, "bundle")
	}
	return s.showCase(w, r, u, map[string]any{"Password": pw})
}

func (s *Server) caseCheck(r *http.Request, u *who, id string) error {
	_, err := s.cfg.Cases.Check(u.name, id, r.PostFormValue("alone") == "yes")
	return err
}

// caseDownload sends the checked bundle as a file. The bundle is written
// as it is built from the vault; a failure after the first byte cuts the
// answer, so the browser keeps no complete-looking file.
func (s *Server) caseDownload(w http.ResponseWriter, r *http.Request, u *who) error {
	id, err := pathID(r, "case")
	if err != nil {
		return err
	}
	to, err := field(r, "to", 300)
	if err != nil {
		return err
	}
	c, err := s.cfg.Cases.Get(id)
	if err != nil {
		return caseErr(err)
	}
	// Refusals come as a page, before the answer turns into a file.
	if err := cases.Downloadable(c, to, s.cfg.Now()); err != nil {
		return caseErr(err)
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", id+".zip"))
	if _, err := s.cfg.Cases.Download(u.name, id, to, w); err != nil {
		s.cfg.Log.Error("web: case bundle failed mid-download", "case", id, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

func (s *Server) caseExtend(r *http.Request, u *who, id string) error {
	months, _ := strconv.Atoi(r.PostFormValue("months"))
	reason, err := field(r, "reason", 500)
	if err != nil {
		return err
	}
	told, err := formDay(r, "told", "date the requester was told")
	if err != nil {
		return err
	}
	_, err = s.cfg.Cases.Extend(u.name, id, cases.Extension{Months: months, Reason: reason, Told: told})
	return err
}

func (s *Server) caseDecide(r *http.Request, u *who, id string) error {
	rationale, err := field(r, "rationale", 2000)
	if err != nil {
		return err
	}
	_, err = s.cfg.Cases.Decide(u.name, id, r.PostFormValue("decision"), rationale)
	return err
}

func (s *Server) caseAppoint(r *http.Request, u *who, id string) error {
	at, err := time.ParseInLocation("2006-01-02T15:04", r.PostFormValue("at"), time.Local)
	if err != nil {
		return errorf(http.StatusBadRequest, "Give the appointment's date and time.")
	}
	attended, err := field(r, "attended", 500)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return err
	}
	_, err = s.cfg.Cases.Appoint(u.name, id, cases.Appointment{At: at, Attended: attended, Played: r.PostForm["played"]})
	return err
}

func (s *Server) caseErase(r *http.Request, u *who, id string) error {
	f, err := fields(r, 500, "call", "reason", "confirm")
	if err != nil {
		return err
	}
	_, err = s.cfg.Cases.Erase(u.name, id, f["call"], f["reason"], f["confirm"])
	return err
}

func (s *Server) caseClose(r *http.Request, u *who, id string) error {
	outcome, err := field(r, "outcome", 1000)
	if err != nil {
		return err
	}
	_, err = s.cfg.Cases.Close(u.name, id, outcome)
	return err
}

// The access page: a supervisor's requests, and the Head of IG's answers.

func (s *Server) accessPage(w http.ResponseWriter, r *http.Request, u *who) error {
	mine := u.name
	if u.role == users.HeadOfIG {
		mine = ""
	}
	gs, err := s.cfg.Cases.Grants(mine)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	s.render(w, r, u, http.StatusOK, "access", map[string]any{"Grants": gs, "Now": s.cfg.Now(), "Call": q.Get("call"),
		"Mode": s.cfg.GrantAccess})
	return nil
}

func (s *Server) requestAccess(w http.ResponseWriter, r *http.Request, u *who) error {
	f, err := fields(r, 500, "calls", "conversation", "extension", "purpose")
	if err != nil {
		return err
	}
	typed, err := field(r, "numbers", 2000)
	if err != nil {
		return err
	}
	g := cases.Grant{Purpose: f["purpose"], Extension: f["extension"]}
	for _, c := range strings.FieldsFunc(f["calls"], func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		if !idPattern.MatchString(c) {
			return errorf(http.StatusBadRequest, "%q is not a call id.", c)
		}
		g.Calls = append(g.Calls, c)
	}
	if c := f["conversation"]; c != "" {
		if !idPattern.MatchString(c) {
			return errorf(http.StatusBadRequest, "%q is not a call id.", c)
		}
		g.Conversation = c
	}
	if g.Numbers, _, err = s.cfg.Cases.Numbers(typed); err != nil {
		return caseErr(err)
	}
	if g.From, err = formDay(r, "from", "from date"); err != nil {
		return err
	}
	if g.To, err = formDay(r, "to", "to date"); err != nil {
		return err
	}
	if !g.To.IsZero() {
		g.To = g.To.AddDate(0, 0, 1)
	}
	if _, err := s.cfg.Cases.RequestAccess(u.name, g); err != nil {
		return caseErr(err)
	}
	http.Redirect(w, r, "/access", http.StatusSeeOther)
	return nil
}

func (s *Server) decideAccess(w http.ResponseWriter, r *http.Request, u *who) error {
	id, err := pathID(r, "grant")
	if err != nil {
		return err
	}
	reason, err := field(r, "reason", 500)
	if err != nil {
		return err
	}
	switch r.PostFormValue("decision") {
	case "approve":
		until, err := formDay(r, "until", "end date")
		if err != nil {
			return err
		}
		if !until.IsZero() {
			until = until.AddDate(0, 0, 1) // to the end of that day
		}
		plays, _ := strconv.Atoi(r.PostFormValue("plays"))
		_, err = s.cfg.Cases.DecideAccess(u.name, id, true, reason, until, plays)
		if err != nil {
			return caseErr(err)
		}
	case "refuse":
		if _, err := s.cfg.Cases.DecideAccess(u.name, id, false, reason, time.Time{}, 0); err != nil {
			return caseErr(err)
		}
	case "revoke":
		if _, err := s.cfg.Cases.Revoke(u.name, id, reason); err != nil {
			return caseErr(err)
		}
	default:
		return errorf(http.StatusBadRequest, "Approve, refuse or revoke.")
	}
	http.Redirect(w, r, "/access", http.StatusSeeOther)
	return nil
}

// withCases answers "not here" when the box serves no casework.
func (s *Server) withCases(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, u *who) error {
		if s.cfg.Cases == nil {
			return errorf(http.StatusNotFound, "Casework is not available on this page.")
		}
		return h(w, r, u)
	}
}

// grantNeeded says whether a user's plays need a grant.
func (s *Server) grantNeeded(u *who) bool {
	return s.cfg.GrantAccess && u.role != users.HeadOfIG
}

// askAccess is the refusal of a play without a grant, with the way to ask
// for one for that call.
func askAccess(call string, err error) error {
	if !errors.Is(err, cases.ErrNoGrant) {
		return err
	}
	link := "/access"
	if call != "" {
		link += "?call=" + url.QueryEscape(call)
	}
	return &httpError{code: http.StatusForbidden, msg: "You have no open access grant for this call: supervisors play calls under a grant from the Head of IG.",
		link: link, linkText: "Ask the Head of IG for access"}
}

// stillGranted says whether the grant a call's play began under is still
// approved and not past its date (its plays were counted when it began).
// A grant that cannot be read is not.
func (s *Server) stillGranted(u *who, grant string) bool {
	if s.cfg.Cases == nil || grant == "" {
		return false
	}
	g, err := s.cfg.Cases.Grant(grant)
	return err == nil && g.Continues(u.name, s.cfg.Now())
}
