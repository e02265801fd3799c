package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"callrec/firmware/optout"
	"callrec/firmware/web"
	"callrec/recorder/pipeline"
	"callrec/recorder/track"
	"callrec/storage/archive"
)

// TestPhoneKey: a registered phone's key, from its own address with its
// secret, opts out the one call on its extension and gets the XML its
// make expects; every other request is refused, audited, and after five
// refusals the source is held off.
func TestPhoneKey(t *testing.T) {
	b := newBox(t)
	phones, err := optout.LoadPhones(b.a.Index())
	if err != nil {
		t.Fatal(err)
	}
	secret, err := phones.Add("boss", "201", netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	phones.Add("boss", "202", netip.MustParseAddr("192.0.2.7"))
	live := []pipeline.LiveCall{{ID: "c1", ConversationID: "c1", From: track.Party{E164: "+441632960001"}, To: track.Party{Extension: "201"}, Numbers: []string{"+441632960001"}}}
	var opted []string
	srv, err := web.New(web.Config{Archive: b.a, Notes: b.a.Index(), Users: b.users, Phones: phones,
		Live: func() []pipeline.LiveCall { return live },
		OptOut: func(acc archive.Access, trigger, id string) (optout.Result, error) {
			if trigger != "phone-key" || acc.Who != "extension 201" {
				t.Errorf("opt-out by %q, %q", trigger, acc.Who)
			}
			opted = append(opted, id)
			return optout.Result{Calls: []string{id}}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	get := func(q url.Values, ua string) (int, string) {
		req, _ := http.NewRequest("GET", "/optout?"+q.Encode(), nil)
		req.RemoteAddr = "127.0.0.1:40000"
		req.Header.Set("User-Agent", ua)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	ok := url.Values{"ext": {"201"}, "peer": {"01632960001"}, "k": {secret}, "key": {"3"}}
	code, body := get(ok, "Mitel6867i/6.0")
	if code != 200 || !strings.Contains(body, `<ExecuteItem URI="Led: prgkey3=on"/>`) || len(opted) != 1 || opted[0] != "c1" {
		t.Errorf("Mitel key = %d %s; opted %v", code, body, opted)
	}
	if code, body := get(ok, "Yealink SIP-T46S"); code != 200 || !strings.Contains(body, "<YealinkIPPhoneTextScreen") {
		t.Errorf("Yealink = %d %s", code, body)
	}
	if code, body := get(ok, "snom D785"); code != 200 || !strings.Contains(body, "<SnomIPPhoneText>") {
		t.Errorf("Snom = %d %s", code, body)
	}
	for name, q := range map[string]url.Values{
		"wrong secret":        {"ext": {"201"}, "k": {secret + "x"}},
		"unknown extension":   {"ext": {"299"}, "k": {secret}},
		"another's address":   {"ext": {"202"}, "k": {secret}},
		"another peer's call": {"ext": {"201"}, "peer": {"01632960099"}, "k": {secret}},
	} {
		if code, body := get(q, "Yealink"); code == 200 || !strings.Contains(body, "<Text>") {
			t.Errorf("%s = %d %s", name, code, body)
		}
	}
	if len(opted) != 3 {
		t.Errorf("refusals opted out: %v", opted)
	}
	if code, _ := get(ok, "Yealink"); code != 200 {
		t.Errorf("after 4 refusals the right key = %d, want 200", code)
	}
	get(url.Values{"ext": {"201"}, "k": {"guess"}}, "")
	if code, _ := get(ok, "Yealink"); code != http.StatusTooManyRequests {
		t.Errorf("after 5 refusals the right key = %d, want 429: the source is held off", code)
	}
	log, _ := b.a.AuditLog()
	n := 0
	for _, e := range log {
		if e.Action == "optout-refused" {
			n++
		}
	}
	if n != 5 {
		t.Errorf("%d refusals audited, want 5", n)
	}
}
