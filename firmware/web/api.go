package web

import (
	"net/http"
	"strings"

	"callrec/firmware/cases"
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
	c, err := s.callDetails(r, u, "API")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
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
	if s.grantNeeded(u) {
		rec, err := s.cfg.Archive.Call(archive.Access{Who: u.name, Why: "to play it: " + reason}, id)
		if err != nil {
			return err
		}
		if s.cfg.Cases == nil {
			return askAccess(id, cases.ErrNoGrant)
		}
		if _, err := s.cfg.Cases.UsePlay(u.name, rec); err != nil {
			return askAccess(id, err)
		}
	}
	return s.sendMP3(w, r, u, id, reason, save)
}

// holdRequest is the body of a hold or release.
type holdRequest struct {
	Reason string `json:"reason"`
	Hold   string `json:"hold,omitempty"`
}

func (s *Server) apiHold(w http.ResponseWriter, r *http.Request, u *who) error {
	return s.apiChangeHold(w, r, u, http.StatusCreated, func(acc archive.Access, id string, _ holdRequest) (index.Hold, error) {
		return s.cfg.Archive.Hold(acc, id)
	})
}

func (s *Server) apiRelease(w http.ResponseWriter, r *http.Request, u *who) error {
	return s.apiChangeHold(w, r, u, http.StatusOK, func(acc archive.Access, id string, h holdRequest) (index.Hold, error) {
		return s.cfg.Archive.Release(acc, id, h.Hold)
	})
}

// apiChangeHold places or releases a hold with the body's reason, and
// answers the hold.
func (s *Server) apiChangeHold(w http.ResponseWriter, r *http.Request, u *who, code int, change func(archive.Access, string, holdRequest) (index.Hold, error)) error {
	id, err := callID(r)
	if err != nil {
		return err
	}
	var h holdRequest
	if err := decodeJSON(r, &h); err != nil {
		return err
	}
	if strings.TrimSpace(h.Reason) == "" {
		return errorf(http.StatusBadRequest, "Give a reason.")
	}
	hold, err := change(archive.Access{Who: u.name, Why: h.Reason}, id, h)
	if err != nil {
		return err
	}
	writeJSON(w, code, hold)
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
