package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"callrec/firmware/optout"
	"callrec/firmware/privacy"
	"callrec/firmware/users"
	"callrec/recorder/pipeline"
	"callrec/storage/archive"
)

// liveCall is a call in progress as the page shows it: numbers masked for
// an auditor.
type liveCall struct {
	pipeline.LiveCall
	FromText, ToText string
	Seconds          int64
	Listed           bool     // a number is on the do-not-record list: not recorded
	Listeners        []string // who listens in now
}

func (s *Server) liveCalls(u *who) []liveCall {
	if s.cfg.Live == nil {
		return nil
	}
	now := s.cfg.Now()
	var out []liveCall
	for _, c := range s.cfg.Live() {
		l := liveCall{LiveCall: c, FromText: partyText(c.From.Name, c.From.E164, c.From.Extension, c.From.Raw),
			ToText: partyText(c.To.Name, c.To.E164, c.To.Extension, c.To.Raw)}
		since := c.Start
		if !c.Answered.IsZero() {
			since = c.Answered
		}
		l.Seconds = int64(now.Sub(since).Seconds())
		l.Listed = s.cfg.DoNotRecord != nil && s.cfg.DoNotRecord.Listed(c.Numbers)
		if s.cfg.Listen != nil {
			l.Listeners = s.cfg.Listen.Listeners(c.ID)
		}
		if u.role == users.Auditor {
			l.FromText, l.ToText = privacy.MaskNumbers(l.FromText), privacy.MaskNumbers(l.ToText)
			l.Numbers = nil
			l.From.Raw, l.From.E164, l.To.Raw, l.To.E164, l.From.Name, l.To.Name = "", "", "", "", "", ""
		}
		out = append(out, l)
	}
	return out
}

func partyText(name, e164, ext, raw string) string {
	switch {
	case e164 != "":
		return e164
	case ext != "":
		return "ext. " + ext
	case raw != "":
		return raw
	}
	return name
}

func (s *Server) livePage(w http.ResponseWriter, r *http.Request, u *who) error {
	data := map[string]any{"Calls": s.liveCalls(u), "CanOptOut": u.role != users.Auditor, "Reasons": playReasons,
		"CanListen": u.role != users.Auditor && s.cfg.Listen != nil,
		"Choosing":  s.cfg.Choosing != nil && s.cfg.Choosing()}
	if m := r.URL.Query().Get("done"); m != "" && len(m) < 300 {
		data["Done"] = m
	}
	s.render(w, r, u, http.StatusOK, "live", data)
	return nil
}

// liveEvents streams the calls in progress as Server-Sent Events, every
// second, while the session lasts.
func (s *Server) liveEvents(w http.ResponseWriter, r *http.Request, u *who) error {
	return s.stream(w, r, u, time.Second, "live", func() any { return s.liveCalls(u) })
}

// optOutAnswer turns an opt-out's refusal into its answer.
func optOutAnswer(err error) error {
	switch {
	case errors.Is(err, optout.ErrNoCall):
		return errNoCall
	case errors.Is(err, optout.ErrEnded):
		return errorf(http.StatusConflict, "The call has ended: an opt-out applies to a call in progress.")
	case errors.Is(err, optout.ErrAlready):
		return errorf(http.StatusConflict, "The call is already opted out.")
	}
	return err
}

func (s *Server) optOut(u *who, id, reason string) (optout.Result, error) {
	if s.cfg.OptOut == nil {
		return optout.Result{}, errNotRunning
	}
	why := "asked on the live-calls page"
	if reason = strings.TrimSpace(reason); reason != "" {
		if len(reason) > 200 {
			return optout.Result{}, errorf(http.StatusBadRequest, "Keep the reason under 200 characters.")
		}
		why += ": " + reason
	}
	res, err := s.cfg.OptOut(archive.Access{Who: u.name, Why: why}, "web", id)
	return res, optOutAnswer(err)
}

func (s *Server) liveOptOut(w http.ResponseWriter, r *http.Request, u *who) error {
	id, err := callID(r)
	if err != nil {
		return err
	}
	res, err := s.optOut(u, id, r.PostFormValue("reason"))
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Opted out: recording stopped for %d call(s), %.1f ms after the request.", len(res.Calls), float64(res.Stopped.Microseconds())/1000)
	http.Redirect(w, r, "/live?done="+url.QueryEscape(msg), http.StatusSeeOther)
	return nil
}

func (s *Server) apiOptOut(w http.ResponseWriter, r *http.Request, u *who) error {
	id, err := callID(r)
	if err != nil {
		return err
	}
	var body struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &body); err != nil {
			return err
		}
	}
	res, err := s.optOut(u, id, body.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": res.Calls, "stopped_ms": float64(res.Stopped.Microseconds()) / 1000,
		"done_ms": float64(res.Done.Microseconds()) / 1000})
	return nil
}

// stream sends what next returns as Server-Sent Events named event, every
// interval, until the client goes or the session ends; it is not activity.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, u *who, every time.Duration, event string, next func() any) error {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		b, _ := json.Marshal(next())
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return nil
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-t.C:
		}
		if u.sess != nil && s.sess.get(u.token, s.cfg.Now(), s.cfg.IdleTimeout, s.cfg.MaxSession) == nil {
			fmt.Fprint(w, "event: ended\ndata: {}\n\n")
			rc.Flush()
			return nil
		}
	}
}

func (s *Server) dnrPage(w http.ResponseWriter, r *http.Request, u *who) error {
	return s.showDNR(w, r, u, http.StatusOK, nil)
}

func (s *Server) showDNR(w http.ResponseWriter, r *http.Request, u *who, code int, data map[string]any) error {
	if s.cfg.DoNotRecord == nil {
		return errNotRunning
	}
	if data == nil {
		data = map[string]any{}
	}
	data["List"] = s.cfg.DoNotRecord.List()
	s.render(w, r, u, code, "donotrecord", data)
	return nil
}

func (s *Server) dnrAdd(w http.ResponseWriter, r *http.Request, u *who) error {
	if s.cfg.DoNotRecord == nil {
		return errNotRunning
	}
	raw, reason := strings.TrimSpace(r.PostFormValue("number")), strings.TrimSpace(r.PostFormValue("reason"))
	number := s.cfg.Plan.E164(raw)
	switch {
	case number == "":
		return s.showDNR(w, r, u, http.StatusBadRequest, map[string]any{"Error": fmt.Sprintf("%q is not a phone number outside the practice.", raw)})
	case reason == "" || len(reason) > 200:
		return s.showDNR(w, r, u, http.StatusBadRequest, map[string]any{"Error": "Give the reason (under 200 characters)."})
	}
	if err := s.cfg.DoNotRecord.Add(u.name, number, reason); err != nil {
		return err
	}
	http.Redirect(w, r, "/donotrecord", http.StatusSeeOther)
	return nil
}

func (s *Server) dnrRemove(w http.ResponseWriter, r *http.Request, u *who) error {
	if s.cfg.DoNotRecord == nil {
		return errNotRunning
	}
	why := strings.TrimSpace(r.PostFormValue("why"))
	if why == "" || len(why) > 200 {
		return errorf(http.StatusBadRequest, "Give the reason for removing the number.")
	}
	err := s.cfg.DoNotRecord.Remove(u.name, r.PostFormValue("number"), why)
	if errors.Is(err, optout.ErrNotListed) {
		return errorf(http.StatusNotFound, "The number is not on the list.")
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/donotrecord", http.StatusSeeOther)
	return nil
}

// listenStart answers a browser's WebRTC offer to hear a live call.
func (s *Server) listenStart(w http.ResponseWriter, r *http.Request, u *who) error {
	id, err := callID(r)
	if err != nil {
		return err
	}
	if s.cfg.Listen == nil || s.cfg.Live == nil {
		return errorf(http.StatusServiceUnavailable, "Listening in is not available.")
	}
	var body struct {
		Offer  string `json:"offer"`
		Reason string `json:"reason"`
		Other  string `json:"other"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	reason := body.Reason
	switch {
	case !slices.Contains(playReasons, reason):
		return errorf(http.StatusBadRequest, "Choose the reason for listening in.")
	case reason == "other" && strings.TrimSpace(body.Other) == "":
		return errorf(http.StatusBadRequest, "Say what the other reason is.")
	case reason == "other":
		reason = "other: " + shortText(strings.TrimSpace(body.Other))
	}
	var call *liveCall
	for _, c := range s.liveCalls(u) {
		if c.ID == id {
			call = &c
		}
	}
	switch {
	case call == nil:
		return errNoCall
	case call.OptedOut || call.Listed:
		return errorf(http.StatusConflict, "This call is not recorded: a party asked not to be, so it is not listened to either.")
	case len(call.Codecs) == 0:
		return errorf(http.StatusConflict, "No audio yet.")
	}
	answer, session, err := s.cfg.Listen.Start(id, call.Codecs[0], u.name, reason, body.Offer)
	if err != nil {
		return errorf(http.StatusConflict, "Listening in could not start: %v", err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"answer": answer, "session": session})
	return nil
}

func (s *Server) listenStop(w http.ResponseWriter, r *http.Request, u *who) error {
	if s.cfg.Listen == nil {
		return errorf(http.StatusServiceUnavailable, "Listening in is not available.")
	}
	if err := s.cfg.Listen.Stop(r.PathValue("session"), u.name); err != nil {
		return errorf(http.StatusNotFound, "No such listening session.")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
