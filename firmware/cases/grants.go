package cases

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"callrec/storage/index"
)

// Access modes ([access] mode).
const (
	AccessGrant = "grant" // a supervisor plays a call only under a grant from the Head of IG
	AccessOpen  = "open"  // every supervisor may play every call
)

// Grant states.
const (
	Requested = "requested"
	Approved  = "approved"
	Refused   = "refused"
	Revoked   = "revoked"
)

// Grant is a supervisor's request for access to calls, and the Head of
// IG's answer: which calls (some calls, a conversation, or a search's:
// numbers, an extension, dates), for what purpose, until when or for how
// many plays.
type Grant struct {
	ID         string    `json:"id"`
	Supervisor string    `json:"supervisor"`
	Requested  time.Time `json:"requested"`
	Purpose    string    `json:"purpose"`

	Calls        []string  `json:"calls,omitempty"`
	Conversation string    `json:"conversation,omitempty"`
	Numbers      []string  `json:"numbers,omitempty"`
	Extension    string    `json:"extension,omitempty"`
	From         time.Time `json:"from,omitzero"`
	To           time.Time `json:"to,omitzero"`

	State     string    `json:"state"`
	DecidedBy string    `json:"decided_by,omitempty"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
	Reason    string    `json:"reason,omitempty"`
	Until     time.Time `json:"until,omitzero"`      // the grant ends then (zero: at MaxPlays)
	MaxPlays  int       `json:"max_plays,omitempty"` // the grant ends after so many plays (0: at Until)
	Plays     int       `json:"plays,omitempty"`
}

// Scope says in words which calls the grant covers.
func (g Grant) Scope() string {
	var parts []string
	if len(g.Calls) > 0 {
		parts = append(parts, fmt.Sprintf("calls %s", strings.Join(g.Calls, ", ")))
	}
	if g.Conversation != "" {
		parts = append(parts, "the conversation of call "+g.Conversation)
	}
	if len(g.Numbers) > 0 {
		parts = append(parts, "calls with "+plural(len(g.Numbers), "number"))
	}
	if g.Extension != "" {
		parts = append(parts, "calls of extension "+g.Extension)
	}
	if !g.From.IsZero() || !g.To.IsZero() {
		parts = append(parts, fmt.Sprintf("between %s and %s", dateOr(g.From, "the first call"), dateOr(g.To, "today")))
	}
	return strings.Join(parts, ", ")
}

func dateOr(t time.Time, none string) string {
	if t.IsZero() {
		return none
	}
	return t.In(time.Local).Format(time.DateOnly)
}

// Covers says whether a call is within the grant's scope.
func (g Grant) Covers(r *index.Record) bool {
	switch {
	case slices.Contains(g.Calls, r.ID):
		return true
	case g.Conversation != "" && (r.ConversationID == g.Conversation || r.ID == g.Conversation):
		return true
	case len(g.Numbers) == 0 && g.Extension == "":
		return false
	case !g.From.IsZero() && r.Start.Before(g.From), !g.To.IsZero() && !r.Start.Before(g.To):
		return false
	case g.Extension != "" && !slices.Contains(r.Extensions, g.Extension):
		return false
	case len(g.Numbers) > 0 && !slices.ContainsFunc(g.Numbers, func(n string) bool { return slices.Contains(r.Numbers, n) }):
		return false
	}
	return true
}

// Live says whether the grant may be used now.
func (g Grant) Live(now time.Time) bool {
	return g.State == Approved && (g.Until.IsZero() || now.Before(g.Until)) && (g.MaxPlays == 0 || g.Plays < g.MaxPlays)
}

// Status says where the grant stands, in words.
func (g Grant) Status(now time.Time) string {
	switch {
	case g.State != Approved:
		return g.State
	case !g.Until.IsZero() && !now.Before(g.Until):
		return "expired"
	case g.MaxPlays > 0 && g.Plays >= g.MaxPlays:
		return "used up"
	}
	return "open"
}

// Errors of access grants.
var (
	ErrNoGrant = errors.New("cases: you have no open access grant for this call: ask the Head of IG for access")
	ErrDecided = errors.New("cases: the request was already answered")
)

// RequestAccess stores a supervisor's request for access.
func (s *Service) RequestAccess(by string, g Grant) (Grant, error) {
	g.Purpose = strings.TrimSpace(g.Purpose)
	switch {
	case g.Purpose == "":
		return g, invalid("give the purpose of the access")
	case len(g.Calls) == 0 && g.Conversation == "" && len(g.Numbers) == 0 && g.Extension == "":
		return g, invalid("say which calls: a call, a conversation, numbers or an extension")
	case !g.From.IsZero() && !g.To.IsZero() && g.To.Before(g.From):
		return g, invalid("the dates end before they start")
	}
	now := s.cfg.Now()
	g.Supervisor, g.Requested, g.State = by, now.UTC(), Requested
	g.DecidedBy, g.DecidedAt, g.Reason, g.Until, g.MaxPlays, g.Plays = "", time.Time{}, "", time.Time{}, 0, 0
	if err := newDoc(s.cfg.Store, index.Grants, "ACC", now.Year(), &g, func(id string) { g.ID = id }); err != nil {
		return g, err
	}
	return g, s.audit(by, "access-request", g.ID, fmt.Sprintf("%s: %s", g.Scope(), g.Purpose))
}

// changeGrant changes a grant in a transaction, then audits it.
func (s *Service) changeGrant(by, id, action string, edit func(g *Grant) (string, error)) (Grant, error) {
	var g Grant
	var why string
	err := s.cfg.Store.UpdateDoc(index.Grants, id, &g, func(found bool) error {
		if !found {
			return ErrNoGrant
		}
		var err error
		why, err = edit(&g)
		return err
	})
	if err != nil {
		return g, err
	}
	return g, s.audit(by, action, id, why)
}

// DecideAccess answers a request: approved, with a reason and an expiry
// (a date, a number of plays, or both), or refused with a reason.
func (s *Service) DecideAccess(by, id string, approve bool, reason string, until time.Time, plays int) (Grant, error) {
	return s.changeGrant(by, id, "access-decide", func(g *Grant) (string, error) {
		now := s.cfg.Now()
		switch {
		case g.State != Requested:
			return "", ErrDecided
		case strings.TrimSpace(reason) == "":
			return "", invalid("give the reason for the decision")
		case approve && until.IsZero() && plays <= 0:
			return "", invalid("an approval ends: give a date, a number of plays, or both")
		case approve && !until.IsZero() && !until.After(now):
			return "", invalid("the end date has passed")
		}
		g.DecidedBy, g.DecidedAt, g.Reason = by, now.UTC(), reason
		if !approve {
			g.State = Refused
			return "refused: " + reason, nil
		}
		g.State, g.Until, g.MaxPlays = Approved, until, max(plays, 0)
		return fmt.Sprintf("approved for %s until %s, %d plays: %s", g.Supervisor, dateOr(until, "-"), g.MaxPlays, reason), nil
	})
}

// Revoke ends a grant before its time.
func (s *Service) Revoke(by, id, reason string) (Grant, error) {
	return s.changeGrant(by, id, "access-revoke", func(g *Grant) (string, error) {
		if g.State != Approved {
			return "", ErrDecided
		}
		g.State, g.Reason = Revoked, reason
		return "revoked: " + reason, nil
	})
}

// Grants returns every access grant, newest first; with user set, only
// that supervisor's.
func (s *Service) Grants(user string) ([]Grant, error) {
	var out []Grant
	err := s.cfg.Store.Docs(index.Grants, func(_ string, open func(any) error) error {
		var g Grant
		if err := open(&g); err != nil {
			return err
		}
		if user == "" || g.Supervisor == user {
			out = append(out, g)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Grant) int { return b.Requested.Compare(a.Requested) })
	return out, err
}

// Grant returns one grant.
func (s *Service) Grant(id string) (Grant, error) {
	var g Grant
	if err := s.cfg.Store.Doc(index.Grants, id, &g); err != nil {
		if errors.Is(err, index.ErrNoDoc) {
			return g, ErrNoGrant
		}
		return g, err
	}
	return g, nil
}

// Continues says whether a play begun under a grant may go on: the grant
// is still approved, to this supervisor, and its date has not passed
// (its plays were counted when the play began).
func (g Grant) Continues(user string, now time.Time) bool {
	return g.Supervisor == user && g.State == Approved && (g.Until.IsZero() || now.Before(g.Until))
}

// MayPlay finds a supervisor's open grant that covers a call. No grant,
// or grants that cannot be read, is ErrNoGrant (or the read error):
// access is refused when it cannot be shown.
func (s *Service) MayPlay(user string, r *index.Record) (Grant, error) {
	gs, err := s.Grants(user)
	if err != nil {
		return Grant{}, err
	}
	now := s.cfg.Now()
	for _, g := range gs {
		if g.Live(now) && g.Covers(r) {
			return g, nil
		}
	}
	return Grant{}, ErrNoGrant
}

// UsePlay counts a play under a supervisor's grant covering the call, and
// audits it; a grant that ended meanwhile is ErrNoGrant.
func (s *Service) UsePlay(user string, r *index.Record) (Grant, error) {
	g, err := s.MayPlay(user, r)
	if err != nil {
		return g, err
	}
	return s.changeGrant(user, g.ID, "access-play", func(g *Grant) (string, error) {
		if g.Supervisor != user || !g.Live(s.cfg.Now()) || !g.Covers(r) {
			return "", ErrNoGrant
		}
		g.Plays++
		return fmt.Sprintf("call %s played under the grant (%d of %d)", r.ID, g.Plays, g.MaxPlays), nil
	})
}
