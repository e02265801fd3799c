package web

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"callrec/firmware/privacy"
	"callrec/firmware/users"
	"callrec/storage/index"
)

// auditEntries are the log's entries matching ?user=&action=&call=&from=&to=,
// newest first, masked for an auditor.
func (s *Server) auditEntries(r *http.Request, u *who) ([]index.Entry, error) {
	q := r.URL.Query()
	user, action, call := q.Get("user"), q.Get("action"), q.Get("call")
	var from, to time.Time
	for _, d := range []struct {
		v    string
		into *time.Time
		add  int
	}{{q.Get("from"), &from, 0}, {q.Get("to"), &to, 1}} {
		if d.v == "" {
			continue
		}
		t, err := time.ParseInLocation(time.DateOnly, d.v, time.Local)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "Dates are YYYY-MM-DD.")
		}
		*d.into = t.AddDate(0, 0, d.add)
	}
	log, err := s.cfg.Archive.AuditLog()
	if err != nil {
		return nil, err
	}
	var out []index.Entry
	for _, e := range slices.Backward(log) {
		if (user != "" && e.Who != user) || (action != "" && e.Action != action) || (call != "" && e.Target != call) ||
			(!from.IsZero() && e.Time.Before(from)) || (!to.IsZero() && !e.Time.Before(to)) {
			continue
		}
		if u.role == users.Auditor {
			e.Target, e.Why = privacy.MaskNumbers(e.Target), privacy.MaskNumbers(e.Why)
		}
		out = append(out, e)
	}
	return out, nil
}

// auditPageSize is how many entries the page shows; the CSV has them all.
const auditPageSize = 200

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, u *who) error {
	es, err := s.auditEntries(r, u)
	if he, ok := err.(*httpError); ok {
		s.render(w, r, u, he.code, "audit", map[string]any{"Error": he.msg, "Q": r.URL.Query()})
		return nil
	}
	if err != nil {
		return err
	}
	total := len(es)
	if len(es) > auditPageSize {
		es = es[:auditPageSize]
	}
	data := map[string]any{"Entries": es, "Total": total, "Q": r.URL.Query(), "CSV": "/audit.csv?" + r.URL.RawQuery}
	if v := r.URL.Query().Get("verified"); v != "" {
		data["Verified"] = v
	}
	s.render(w, r, u, http.StatusOK, "audit", data)
	return nil
}

func (s *Server) auditCSV(w http.ResponseWriter, r *http.Request, u *who) error {
	es, err := s.auditEntries(r, u)
	if err != nil {
		return err
	}
	if err := s.cfg.Archive.Audit(u.name, "audit-export", "", strconv.Itoa(len(es))+" entries as CSV"); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="callrec-audit-`+s.cfg.Now().UTC().Format("20060102-150405Z")+`.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"seq", "time", "who", "action", "target", "why", "hash"})
	for _, e := range es {
		cw.Write([]string{strconv.FormatUint(e.Seq, 10), e.Time.UTC().Format(time.RFC3339), csvSafe(e.Who), csvSafe(e.Action), csvSafe(e.Target), csvSafe(e.Why), e.Hash})
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// verifyResult is what a chain check found.
type verifyResult struct {
	OK      bool   `json:"ok"`
	Entries int    `json:"entries"`
	Message string `json:"message"`
}

func (s *Server) runVerify(u *who) verifyResult {
	n, err := s.cfg.Archive.VerifyAudit()
	res := verifyResult{OK: err == nil, Entries: n}
	if err != nil {
		res.Message = "The chain does NOT hold: " + strings.TrimPrefix(err.Error(), "index: ")
	} else {
		res.Message = "The chain holds: " + strconv.Itoa(n) + " entries, each linked to the one before, up to the head kept outside the index."
	}
	s.cfg.Archive.Audit(u.name, "audit-verify", "", res.Message)
	return res
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request, u *who) error {
	res := s.runVerify(u)
	data := map[string]any{"VerifyOK": res.OK, "VerifyMessage": res.Message}
	es, err := s.auditEntries(&http.Request{URL: r.URL}, u)
	if err != nil {
		return err
	}
	data["Total"] = len(es)
	if len(es) > auditPageSize {
		es = es[:auditPageSize]
	}
	data["Entries"], data["Q"], data["CSV"] = es, r.URL.Query(), "/audit.csv"
	s.render(w, r, u, http.StatusOK, "audit", data)
	return nil
}

// decodeJSON reads a small JSON body strictly.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(http.StatusBadRequest, "The body is not the JSON expected: %v", err)
	}
	return nil
}
