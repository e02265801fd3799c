package web

import (
	"net/http"
	"strings"

	"callrec/firmware/users"
	"callrec/storage/archive"
	"callrec/storage/index"
)

// The JSON API: the same rules as the pages, for scripts with a token
// (Authorization: Bearer TOKEN) or a signed-in browser. See docs/api.md.

// apiCall is a call as the API shows it.
type apiCall struct {
	*index.Record
	Legs []*index.Record `json:"conversation_legs,omitempty"`
}

func (s *Server) apiCalls(w http.ResponseWriter, r *http.Request, u *who) error {
	res, err := s.search(u, readFilters(r), "API search")
	if err != nil {
		return err
	}
	out := struct {
		Calls []apiCall `json:"calls"`
		Page  int       `json:"page"`
		More  bool      `json:"more"`
		Cut   bool      `json:"cut,omitempty"` // the filters read maxScan calls and stopped: narrow the dates
	}{Calls: []apiCall{}, Page: res.Page, More: res.Next != "", Cut: res.Cut}
	for _, row := range res.Rows {
		out.Calls = append(out.Calls, apiCall(row))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) apiCall(w http.ResponseWriter, r *http.Request, u *who) error {
	id, err := callID(r)
	if err != nil {
		return err
	}
	rec, err := s.cfg.Archive.Call(archive.Access{Who: u.name, Why: "API"}, id)
	if err != nil {
		return err
	}
	holds, err := s.cfg.Archive.Holds(id)
	if err != nil {
		return err
	}
	ann, err := s.cfg.Notes.Annotation(id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		*index.Record
		Holds []index.Hold     `json:"holds"`
		Notes index.Annotation `json:"annotation"`
	}{rec, holds, ann})
	return nil
}

// apiAudio streams a recording (with Range), or sends it as a file with
// ?download=1, which only the Head of IG may. X-Playback-Reason is
// required, and the audit entry records it.
func (s *Server) apiAudio(w http.ResponseWriter, r *http.Request, u *who) error {
	id, err := callID(r)
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(r.Header.Get("X-Playback-Reason"))
	if reason == "" || len(reason) > 200 {
		return errorf(http.StatusBadRequest, "Give the reason in the X-Playback-Reason header (under 200 characters).")
	}
	save := r.URL.Query().Get("download") == "1"
	if save && u.role != users.HeadOfIG {
		return errForbidden
	}
	return s.sendMP3(w, r, u, id, reason, save)
}

// holdRequest is the body of a hold or release.
type holdRequest struct {
	Reason string `json:"reason"`
	Hold   string `json:"hold,omitempty"`
}

func readHold(r *http.Request) (holdRequest, error) {
	var h holdRequest
	if err := decodeJSON(r, &h); err != nil {
		return h, err
	}
	if strings.TrimSpace(h.Reason) == "" {
		return h, errorf(http.StatusBadRequest, "Give a reason.")
	}
	return h, nil
}

func (s *Server) apiHold(w http.ResponseWriter, r *http.Request, u *who) error {
	id, err := callID(r)
	if err != nil {
		return err
	}
	h, err := readHold(r)
	if err != nil {
		return err
	}
	hold, err := s.cfg.Archive.Hold(archive.Access{Who: u.name, Why: h.Reason}, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, hold)
	return nil
}

func (s *Server) apiRelease(w http.ResponseWriter, r *http.Request, u *who) error {
	id, err := callID(r)
	if err != nil {
		return err
	}
	h, err := readHold(r)
	if err != nil {
		return err
	}
	hold, err := s.cfg.Archive.Release(archive.Access{Who: u.name, Why: h.Reason}, id, h.Hold)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, hold)
	return nil
}

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request, u *who) error {
	es, err := s.auditEntries(r, u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": es})
	return nil
}

func (s *Server) apiVerifyAudit(w http.ResponseWriter, r *http.Request, u *who) error {
	res := s.runVerify(u)
	code := http.StatusOK
	if !res.OK {
		code = http.StatusConflict
	}
	writeJSON(w, code, res)
	return nil
}

func (s *Server) apiStatus(w http.ResponseWriter, r *http.Request, u *who) error {
	writeJSON(w, http.StatusOK, s.statusNow())
	return nil
}
