package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	var w window
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	w.observe(t0, 100, 10)
	ps, pm, sm, _ := w.observe(t0.Add(2*time.Second), 300, 12)
	if ps != 100 || pm != 200 || sm != 2 {
		t.Errorf("after 2 s: %v/s, %d packets, %d SIP; want 100, 200, 2", ps, pm, sm)
	}
	for i := 3; i <= 90; i++ { // quiet for 88 s
		ps, pm, sm, _ = w.observe(t0.Add(time.Duration(i)*time.Second), 300, 12)
	}
	if ps != 0 || pm != 0 || sm != 0 {
		t.Errorf("after a quiet minute: %v/s, %d, %d; want all 0", ps, pm, sm)
	}
	if _, pm, _, _ := w.observe(t0.Add(91*time.Second), 5, 0); pm != 0 {
		t.Errorf("a counter restart gave %d", pm)
	}
}

func TestWarnBefore(t *testing.T) {
	for idle, want := range map[time.Duration]int{15 * time.Minute: 60, 30 * time.Second: 25, 20 * time.Second: 20} {
		if got := warnBefore(idle); got != want {
			t.Errorf("warnBefore(%v) = %d, want %d", idle, got, want)
		}
	}
}

// FuzzQuery: any search form gives a query or a 400, never a panic, and
// a number it accepts is in E.164.
func FuzzQuery(f *testing.F) {
	f.Add("01632 960001", "201", "2026-01-01", "2026-02-01", "inbound", "srtp", "1", "2.5", "2")
	f.Add("+44 7700 900123", "", "", "", "", "integrity", "", "", "")
	f.Add("sip:x@y", "../..", "2026-13-45", "x", "sideways", "nope", "-1", "NaN", "99999999")
	s := &Server{cfg: Config{Notes: nil}}
	f.Fuzz(func(t *testing.T, number, ext, from, to, dir, flag, lo, hi, page string) {
		v := url.Values{"number": {number}, "extension": {ext}, "from": {from}, "to": {to}, "direction": {dir},
			"flag": {flag}, "min": {lo}, "max": {hi}, "page": {page}}
		r := &http.Request{URL: &url.URL{RawQuery: v.Encode()}}
		fl := readFilters(r)
		if fl.Page < 1 || fl.Page > 10000 {
			t.Fatalf("page %d", fl.Page)
		}
		q, _, err := s.query(fl)
		if err != nil {
			if he, ok := err.(*httpError); !ok || he.code != http.StatusBadRequest {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		if q.Number != "" && !regexp.MustCompile(`^\+[0-9]{7,15}$`).MatchString(q.Number) {
			t.Fatalf("number %q accepted as %q", number, q.Number)
		}
	})
}

func TestParseTags(t *testing.T) {
	if got := strings.Join(parseTags("Billing, complaint;billing  URGENT"), "|"); got != "billing|complaint|urgent" {
		t.Errorf("parseTags = %s", got)
	}
}

// TestSessionsPruned: sessions nobody came back to do not pile up.
func TestSessionsPruned(t *testing.T) {
	ss := sessions{idle: time.Minute, max: time.Hour}
	t0 := time.Now()
	old := ss.start(&session{user: "a", created: t0, seen: t0})
	ss.start(&session{user: "b", created: t0.Add(2 * time.Minute), seen: t0.Add(2 * time.Minute)})
	if len(ss.byID) != 1 || ss.get(old, t0, time.Minute, time.Hour) != nil {
		t.Errorf("%d sessions kept; the idle one should be gone", len(ss.byID))
	}
}
