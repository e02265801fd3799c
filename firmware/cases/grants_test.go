package cases_test

import (
	"errors"
	"testing"
	"time"

	"callrec/firmware/cases"
)

func TestAccessGrants(t *testing.T) {
	w := newWorld(t)
	inbound, _ := w.a.Index().Get(w.calls["inbound"])
	other, _ := w.a.Index().Get(w.calls["other"])
	if _, err := w.svc.MayPlay("sup", inbound); !errors.Is(err, cases.ErrNoGrant) {
		t.Errorf("a supervisor without a grant = %v, want ErrNoGrant", err)
	}
	if _, err := w.svc.RequestAccess("sup", cases.Grant{Numbers: []string{patient}}); !errors.Is(err, cases.ErrInvalid) {
		t.Errorf("a request without purpose = %v", err)
	}
	g, err := w.svc.RequestAccess("sup", cases.Grant{Numbers: []string{patient}, From: t0, To: t0.Add(24 * time.Hour), Purpose: "complaint 12"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.MayPlay("sup", inbound); !errors.Is(err, cases.ErrNoGrant) {
		t.Errorf("a request not yet answered grants: %v", err)
	}
	if _, err := w.svc.DecideAccess("boss", g.ID, true, "ok", time.Time{}, 0); !errors.Is(err, cases.ErrInvalid) {
		t.Errorf("an approval without expiry = %v", err)
	}
	if _, err := w.svc.DecideAccess("boss", g.ID, true, "complaint investigation", w.clock.now().Add(48*time.Hour), 2); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.DecideAccess("boss", g.ID, false, "changed my mind", time.Time{}, 0); !errors.Is(err, cases.ErrDecided) {
		t.Errorf("a second decision = %v", err)
	}
	if _, err := w.svc.MayPlay("sup", other); !errors.Is(err, cases.ErrNoGrant) {
		t.Errorf("a call outside the grant = %v", err)
	}
	if _, err := w.svc.MayPlay("sup2", inbound); !errors.Is(err, cases.ErrNoGrant) {
		t.Errorf("another supervisor under the grant = %v", err)
	}
	for i := range 2 {
		if _, err := w.svc.UsePlay("sup", inbound); err != nil {
			t.Fatalf("play %d: %v", i+1, err)
		}
	}
	if _, err := w.svc.UsePlay("sup", inbound); !errors.Is(err, cases.ErrNoGrant) {
		t.Errorf("a third play of two = %v", err)
	}
	// A grant by date expires.
	g2, _ := w.svc.RequestAccess("sup", cases.Grant{Calls: []string{other.ID}, Purpose: "training"})
	w.svc.DecideAccess("boss", g2.ID, true, "training plan", w.clock.now().Add(time.Hour), 0)
	if _, err := w.svc.MayPlay("sup", other); err != nil {
		t.Errorf("within the hour: %v", err)
	}
	w.clock.add(2 * time.Hour)
	if _, err := w.svc.MayPlay("sup", other); !errors.Is(err, cases.ErrNoGrant) {
		t.Errorf("after expiry = %v", err)
	}
	for _, action := range []string{"access-request", "access-decide", "access-play"} {
		if !w.audited(t, action, g.ID) {
			t.Errorf("no %s in the audit log", action)
		}
	}
}
