package web

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"callrec/firmware/optout"
	"callrec/storage/archive"
)

// A desk phone's programmable key opts its call out with a plain GET:
//
//	https://box/optout?ext=$$SIPUSERNAME$$&peer=$$REMOTENUMBER$$&k=SECRET[&key=N]
//
// The phone has no session: it is known by its registered extension, its
// own address and its secret (made on the page). It is answered in the
// XML its make expects (Mitel/Aastra, Yealink, Snom, from its
// User-Agent); on Mitel the reply lights the key's LED. Refusals are
// audited, and a source refused too often is held off.

// Phones are the registered phones (firmware/optout).
type Phones interface {
	Check(ext string, addr netip.Addr, secret string) error
	Add(by, ext string, addr netip.Addr) (string, error)
	Remove(by, ext string) error
	List() []optout.Phone
}

// keyLimit holds off a source after limitRefusals refusals in limitWindow.
type keyLimit struct {
	mu   sync.Mutex
	seen map[netip.Addr]*refusals
}

type refusals struct {
	n     int
	since time.Time
}

const (
	limitRefusals = 5
	limitWindow   = 10 * time.Minute
)

// held says whether addr is held off now.
func (l *keyLimit) held(addr netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.seen[addr]
	return r != nil && now.Sub(r.since) < limitWindow && r.n >= limitRefusals
}

func (l *keyLimit) refused(addr netip.Addr, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[netip.Addr]*refusals{}
	}
	r := l.seen[addr]
	if r == nil || now.Sub(r.since) >= limitWindow {
		if len(l.seen) > 10000 {
			l.seen = map[netip.Addr]*refusals{}
		}
		r = &refusals{since: now}
		l.seen[addr] = r
	}
	r.n++
}

func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

func (s *Server) phoneKey(w http.ResponseWriter, r *http.Request, _ *who) error {
	q := r.URL.Query()
	ext, peer, secret := q.Get("ext"), q.Get("peer"), q.Get("k")
	addr := remoteAddr(r)
	now := s.cfg.Now()
	answer := func(code int, text string, lit bool) error {
		writePhoneXML(w, r, code, text, lit, q.Get("key"))
		return nil
	}
	if s.cfg.Phones == nil || s.cfg.OptOut == nil || s.cfg.Live == nil {
		return answer(http.StatusServiceUnavailable, "The recorder is not running.", false)
	}
	if s.limit.held(addr, now) {
		return answer(http.StatusTooManyRequests, "Too many refused requests from this phone: wait ten minutes.", false)
	}
	refuse := func(code int, text string, cause error) error {
		s.limit.refused(addr, now)
		s.cfg.Archive.Audit("phone "+addr.String(), "optout-refused", "extension "+shortText(ext), fmt.Sprintf("phone key: %v", cause))
		return answer(code, text, false)
	}
	switch err := s.cfg.Phones.Check(ext, addr, secret); {
	case errors.Is(err, optout.ErrUnknownPhone):
		return refuse(http.StatusForbidden, "This phone is not registered with the recorder.", err)
	case errors.Is(err, optout.ErrWrongAddress), errors.Is(err, optout.ErrWrongSecret):
		return refuse(http.StatusForbidden, "The recorder does not accept this key: ask the practice's IT.", err)
	case err != nil:
		return refuse(http.StatusServiceUnavailable, "The recorder cannot check this phone now.", err)
	}
	var calls []string
	for _, c := range s.cfg.Live() {
		if c.From.Extension != ext && c.To.Extension != ext {
			continue
		}
		if p := s.cfg.Plan.E164(peer); peer != "" && p != "" && !slices.Contains(c.Numbers, p) {
			continue
		}
		if !slices.Contains(calls, c.ConversationID) {
			calls = append(calls, c.ConversationID)
		}
	}
	switch len(calls) {
	case 0:
		return refuse(http.StatusNotFound, "No call in progress on this phone.", errors.New("no live call on the extension"))
	case 1:
	default:
		return refuse(http.StatusConflict, "Several calls on this phone: opt out on the recorder's page.", errors.New("several live calls on the extension"))
	}
	_, err := s.cfg.OptOut(archive.Access{Who: "extension " + ext, Why: "the phone's opt-out key"}, "phone-key", calls[0])
	switch {
	case errors.Is(err, optout.ErrAlready):
		return answer(http.StatusOK, "This call is already not recorded.", true)
	case err != nil:
		return refuse(http.StatusConflict, "The call could not be opted out.", err)
	}
	return answer(http.StatusOK, "This call is no longer recorded.", true)
}

func shortText(s string) string {
	if len(s) > 32 {
		return s[:32]
	}
	return s
}

// writePhoneXML answers in the phone's own XML, from its User-Agent.
func writePhoneXML(w http.ResponseWriter, r *http.Request, code int, text string, lit bool, key string) {
	var b bytes.Buffer
	esc := func(s string) string { var e bytes.Buffer; xml.EscapeText(&e, []byte(s)); return e.String() }
	ua := strings.ToLower(r.Header.Get("User-Agent"))
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	switch {
	case strings.Contains(ua, "mitel") || strings.Contains(ua, "aastra"):
		// An Execute reply: the key's LED on (Led: prgkeyN=on) while the
		// call is not recorded.
		b.WriteString(`<AastraIPPhoneExecute Beep="yes">`)
		if n, err := strconv.Atoi(key); err == nil && n > 0 && n < 100 && lit {
			fmt.Fprintf(&b, `<ExecuteItem URI="Led: prgkey%d=on"/>`, n)
		}
		b.WriteString(`</AastraIPPhoneExecute>`)
		// Mitel shows no text from an Execute reply; the status says it.
	case strings.Contains(ua, "yealink"):
		fmt.Fprintf(&b, `<YealinkIPPhoneTextScreen destroyOnExit="yes" Beep="yes" Timeout="5"><Title>Call recording</Title><Text>%s</Text></YealinkIPPhoneTextScreen>`, esc(text))
	case strings.Contains(ua, "snom"):
		fmt.Fprintf(&b, `<SnomIPPhoneText><Title>Call recording</Title><Text>%s</Text><fetch mil="5000">snom://mb_exit</fetch></SnomIPPhoneText>`, esc(text))
	default:
		fmt.Fprintf(&b, `<optout ok="%v"><text>%s</text></optout>`, code == http.StatusOK, esc(text))
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

func (s *Server) phonesPage(w http.ResponseWriter, r *http.Request, u *who) error {
	return s.showPhones(w, r, u, http.StatusOK, nil)
}

func (s *Server) showPhones(w http.ResponseWriter, r *http.Request, u *who, code int, data map[string]any) error {
	if s.cfg.Phones == nil {
		return errNotRunning
	}
	if data == nil {
		data = map[string]any{}
	}
	data["Phones"], data["Host"] = s.cfg.Phones.List(), r.Host
	s.render(w, r, u, code, "phones", data)
	return nil
}

func (s *Server) addPhone(w http.ResponseWriter, r *http.Request, u *who) error {
	if s.cfg.Phones == nil {
		return errNotRunning
	}
	ext := strings.TrimSpace(r.PostFormValue("extension"))
	addr, err := netip.ParseAddr(strings.TrimSpace(r.PostFormValue("addr")))
	if err != nil || ext == "" || strings.Trim(ext, "0123456789") != "" {
		return s.showPhones(w, r, u, http.StatusBadRequest, map[string]any{"Error": "Give the phone's extension (digits) and its IP address."})
	}
	secret, err := s.cfg.Phones.Add(u.name, ext, addr)
	if err != nil {
		return err
	}
	return s.showPhones(w, r, u, http.StatusOK, map[string]any{"NewExt": ext, "Secret": secret})
}

func (s *Server) removePhone(w http.ResponseWriter, r *http.Request, u *who) error {
	if s.cfg.Phones == nil {
		return errNotRunning
	}
	if err := s.cfg.Phones.Remove(u.name, r.PostFormValue("extension")); errors.Is(err, optout.ErrUnknownPhone) {
		return errorf(http.StatusNotFound, "No such phone.")
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/phones", http.StatusSeeOther)
	return nil
}
