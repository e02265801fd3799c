package cases

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"callrec/firmware/bundle"
	"callrec/recorder/sip"
	"callrec/storage/archive"
	"callrec/storage/index"
)

// Kind is a kind of case.
type Kind string

// The kinds of case.
const (
	SAR     Kind = "sar"     // a subject access request (UK GDPR Article 15)
	Police  Kind = "police"  // the police or another body, for the prevention or detection of crime
	Erasure Kind = "erasure" // erasure inside retention, e.g. an objection upheld
)

// Prefix is the start of a kind's case ids.
func (k Kind) Prefix() string {
	switch k {
	case SAR:
		return "SAR"
	case Police:
		return "POL"
	case Erasure:
		return "ERA"
	}
	return ""
}

// Name is the kind's name for people.
func (k Kind) Name() string {
	switch k {
	case SAR:
		return "Subject access request"
	case Police:
		return "Police or external body"
	case Erasure:
		return "Erasure or objection"
	}
	return string(k)
}

// Police decisions.
const (
	Approve = "approve"
	Partial = "partial"
	Refuse  = "refuse"
)

// Case is one request, from its logging to its closing.
type Case struct {
	ID       string    `json:"id"`
	Kind     Kind      `json:"kind"`
	Opened   time.Time `json:"opened"`
	OpenedBy string    `json:"opened_by"`

	// Who asks, and about whom.
	Requester  string    `json:"requester"`          // the data subject or their representative; the requesting body
	Received   time.Time `json:"received"`           // the day the request came
	Identity   string    `json:"identity,omitempty"` // how the requester's identity was verified (SAR)
	Numbers    []string  `json:"numbers"`            // the person's numbers, in E.164
	Extensions []string  `json:"extensions,omitempty"`
	From       time.Time `json:"from,omitzero"` // the time window asked for
	To         time.Time `json:"to,omitzero"`
	Due        time.Time `json:"due,omitzero"` // a SAR's, by the ICO's rule
	Extension  *Extension

	// A police or external body's request.
	Officer    string    `json:"officer,omitempty"`
	Authoriser string    `json:"authoriser,omitempty"` // the authorising officer
	Purpose    string    `json:"purpose,omitempty"`
	Decision   string    `json:"decision,omitempty"` // approve, partial, refuse
	Rationale  string    `json:"rationale,omitempty"`
	DecidedBy  string    `json:"decided_by,omitempty"`
	DecidedAt  time.Time `json:"decided_at,omitzero"`

	// An erasure's grounds (an objection upheld, …).
	Grounds string `json:"grounds,omitempty"`

	Searches     []Search         `json:"searches,omitempty"`
	Calls        []Call           `json:"calls,omitempty"`
	Bundle       *Bundle          `json:"bundle,omitempty"`
	Custody      []bundle.Custody `json:"custody,omitempty"`
	Appointments []Appointment    `json:"appointments,omitempty"`
	Erased       []Tombstone      `json:"erased,omitempty"`

	Closed   time.Time `json:"closed,omitzero"`
	ClosedBy string    `json:"closed_by,omitempty"`
	Outcome  string    `json:"outcome,omitempty"`
}

// Search is a search made for a case.
type Search struct {
	At    time.Time `json:"at"`
	By    string    `json:"by"`
	Terms string    `json:"terms"`
	Found int       `json:"found"`
}

// Call is a call a case's searches found, and the decision on it.
type Call struct {
	ID           string    `json:"id"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end,omitzero"`
	Direction    string    `json:"direction"`
	Parties      []string  `json:"parties"` // as recorded
	DurationMS   int64     `json:"duration_ms"`
	StoredSHA256 string    `json:"stored_sha256,omitempty"`
	Flags        []string  `json:"flags,omitempty"`
	Audio        bool      `json:"audio"`              // it has a recording to hand over
	Excluded     bool      `json:"excluded,omitempty"` // left out, with the reason
	Reason       string    `json:"reason,omitempty"`
	DecidedBy    string    `json:"decided_by,omitempty"`
}

// Bundle is a case's bundle: built, then checked by a second pair of
// eyes, then downloadable until it expires. The recordings are not kept
// decrypted on the box: a download builds the ZIP again from the vault,
// and each MP3 must be the one checked (its SHA-256), or the download
// fails.
type Bundle struct {
	BuiltBy   string            `json:"built_by"`
	BuiltAt   time.Time         `json:"built_at"`
	Files     map[string]string `json:"files"` // call id → the MP3's SHA-256, as checked
	Sizes     map[string]int64  `json:"sizes"`
	Password  string            `json:"password,omitempty"` // encrypted bundles: sealed in the index, shown once
	CheckedBy string            `json:"checked_by,omitempty"`
	CheckedAt time.Time         `json:"checked_at,omitzero"`
	Alone     bool              `json:"alone,omitempty"` // the builder checked it, having confirmed being the only Head of IG
	Expires   time.Time         `json:"expires,omitzero"`
	Downloads int               `json:"downloads,omitempty"`
}

// Encrypted says whether the bundle is encrypted.
func (b *Bundle) Encrypted() bool { return b.Password != "" }

// Appointment is an invitation to hear recordings on the premises.
type Appointment struct {
	At       time.Time `json:"at"`
	Attended string    `json:"attended"`
	Played   []string  `json:"played"` // call ids
	By       string    `json:"by"`
}

// Tombstone is what an erasure leaves of a call, kept with the case.
type Tombstone struct {
	CallID       string    `json:"call_id"`
	Start        time.Time `json:"start"`
	DurationMS   int64     `json:"duration_ms"`
	StoredSHA256 string    `json:"stored_sha256,omitempty"`
	At           time.Time `json:"at"`
	By           string    `json:"by"`
	Reason       string    `json:"reason"`
}

// Open says whether the case is open.
func (c Case) Open() bool { return c.Closed.IsZero() }

// Included are the calls that go in the bundle: found, with a recording,
// and not excluded.
func (c Case) Included() []Call {
	var out []Call
	for _, k := range c.Calls {
		if k.Audio && !k.Excluded {
			out = append(out, k)
		}
	}
	return out
}

// DueIn is how many days are left until the due date (negative: overdue);
// ok is false when the case has no due date.
func (c Case) DueIn(now time.Time) (days int, ok bool) {
	if c.Due.IsZero() || !c.Open() {
		return 0, false
	}
	return int(day(c.Due).Sub(day(now.In(time.Local))).Hours() / 24), true
}

// Archive is what cases need of the recordings (storage/archive).
type Archive interface {
	Find(acc archive.Access, q index.Query, more string) (index.Found, error)
	Download(acc archive.Access, id string) (*archive.Audio, error)
	Hold(acc archive.Access, id string) (index.Hold, error)
	Holds(id string) ([]index.Hold, error)
	Erase(acc archive.Access, id string) (*index.Record, error)
	Audit(who, action, target, why string) error
	DeviceKey() (ed25519.PrivateKey, error)
}

// Store keeps the cases (storage/index).
type Store interface {
	Doc(kind index.Kind, id string, v any) error
	UpdateDoc(kind index.Kind, id string, v any, change func(found bool) error) error
	Docs(kind index.Kind, each func(id string, open func(v any) error) error) error
	Annotated(match func(index.Annotation) bool) (map[string]bool, error)
}

// Config is what the case service works with.
type Config struct {
	Archive Archive
	Store   Store
	Plan    sip.NumberPlan
	// Practice names the practice in cover letters; Retention is how long
	// recordings are kept.
	Practice  string
	Retention time.Duration
	// DownloadDays is how long a checked bundle may be downloaded
	// (default 7).
	DownloadDays int
	Now          func() time.Time
}

// Service is the Head of IG's casework.
type Service struct{ cfg Config }

// New makes the service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DownloadDays <= 0 {
		cfg.DownloadDays = 7
	}
	return &Service{cfg: cfg}
}

// Errors of casework, each with what to do.
var (
	ErrNoCase      = errors.New("cases: no such case")
	ErrClosed      = errors.New("cases: the case is closed")
	ErrInvalid     = errors.New("cases: the request is incomplete")
	ErrNotDecided  = errors.New("cases: the request is not approved: decide it first")
	ErrNothing     = errors.New("cases: no call with a recording is included")
	ErrNotBuilt    = errors.New("cases: build the bundle first")
	ErrNotChecked  = errors.New("cases: the bundle has not had its second check")
	ErrSelfCheck   = errors.New("cases: another Head of IG must check the bundle, or confirm that you are the only one")
	ErrExpired     = errors.New("cases: the bundle's download has expired: build it again")
	ErrConfirm     = errors.New("cases: the confirmation typed does not match")
	ErrNotInCase   = errors.New("cases: the call is not one of the case's")
	ErrChangedCall = errors.New("cases: the calls changed since the bundle was built: build it again")
)

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

func (s *Service) audit(who, action, id, why string) error {
	return s.cfg.Archive.Audit(who, action, id, why)
}

// access is the archive access of a case's step.
func access(who string, c *Case, what string) archive.Access {
	return archive.Access{Who: who, Why: fmt.Sprintf("case %s: %s", c.ID, what)}
}

// Numbers turns what was typed (one per line, or separated by commas)
// into E.164 numbers and extensions; anything else is an error naming it.
func (s *Service) Numbers(typed string) (numbers, extensions []string, err error) {
	for _, f := range strings.FieldsFunc(typed, func(r rune) bool { return r == '\n' || r == ',' || r == ';' }) {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
		case s.cfg.Plan.IsExtension(f):
			f = strings.Map(func(r rune) rune { // "(201)", "2 01": as the index keeps it
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, f)
			if !slices.Contains(extensions, f) {
				extensions = append(extensions, f)
			}
		case s.cfg.Plan.E164(f) != "":
			if n := s.cfg.Plan.E164(f); !slices.Contains(numbers, n) {
				numbers = append(numbers, n)
			}
		default:
			return nil, nil, invalid("%q is neither a phone number nor an extension", f)
		}
	}
	return numbers, extensions, nil
}

// OpenCase logs a new case. A SAR needs the requester, the day received,
// how identity was verified and at least one number; its due date is
// computed. A police case needs the body, officer, authorising officer and
// purpose; an erasure its grounds.
func (s *Service) OpenCase(by string, c Case) (Case, error) {
	now := s.cfg.Now()
	c.Requester = strings.TrimSpace(c.Requester)
	switch c.Kind {
	case SAR:
		if c.Identity == "" {
			return c, invalid("say how the requester's identity was verified")
		}
		due, err := Due(c.Received)
		if err != nil {
			return c, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		c.Due = due
	case Police:
		if c.Officer == "" || c.Authoriser == "" || c.Purpose == "" {
			return c, invalid("give the officer, the authorising officer and the purpose")
		}
	case Erasure:
		if c.Grounds == "" {
			return c, invalid("give the grounds for the erasure")
		}
	default:
		return c, invalid("unknown kind of case %q", c.Kind)
	}
	switch {
	case c.Requester == "":
		return c, invalid("name the requester")
	case c.Received.IsZero():
		return c, invalid("give the date the request was received")
	case day(c.Received).After(day(now)):
		return c, invalid("the date received is in the future")
	case len(c.Numbers) == 0 && len(c.Extensions) == 0:
		return c, invalid("give at least one phone number or extension that relates to the person")
	case !c.From.IsZero() && !c.To.IsZero() && c.To.Before(c.From):
		return c, invalid("the time window ends before it starts")
	}
	c.Opened, c.OpenedBy = now.UTC(), by
	c.Searches, c.Calls, c.Bundle, c.Custody, c.Appointments, c.Erased = nil, nil, nil, nil, nil, nil
	c.Decision, c.Closed, c.Outcome = "", time.Time{}, ""
	if err := newDoc(s.cfg.Store, index.Cases, c.Kind.Prefix(), now.Year(), &c, func(id string) { c.ID = id }); err != nil {
		return c, err
	}
	why := fmt.Sprintf("%s from %s, received %s", c.Kind.Name(), c.Requester, c.Received.Format(time.DateOnly))
	if !c.Due.IsZero() {
		why += ", due " + c.Due.Format(time.DateOnly)
	}
	return c, s.audit(by, "case-open", c.ID, why)
}

var errTaken = errors.New("taken")

// newDoc stores a new document under the next free id of its prefix and
// year (SAR-2026-003), which setID gives it.
func newDoc[T any](store Store, kind index.Kind, prefix string, year int, doc *T, setID func(string)) error {
	for n := 1; ; n++ {
		id := fmt.Sprintf("%s-%d-%03d", prefix, year, n)
		setID(id)
		var old T
		err := store.UpdateDoc(kind, id, &old, func(found bool) error {
			if found {
				return errTaken
			}
			old = *doc
			return nil
		})
		if !errors.Is(err, errTaken) {
			return err
		}
	}
}

// Get returns one case.
func (s *Service) Get(id string) (Case, error) {
	var c Case
	if err := s.cfg.Store.Doc(index.Cases, id, &c); err != nil {
		if errors.Is(err, index.ErrNoDoc) {
			return c, ErrNoCase
		}
		return c, err
	}
	return c, nil
}

// List returns every case, open ones first by due date, then closed ones,
// newest first.
func (s *Service) List() ([]Case, error) {
	var out []Case
	err := s.cfg.Store.Docs(index.Cases, func(_ string, open func(any) error) error {
		var c Case
		if err := open(&c); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	slices.SortStableFunc(out, func(a, b Case) int {
		switch {
		case a.Open() != b.Open():
			if a.Open() {
				return -1
			}
			return 1
		case a.Open() && !a.Due.Equal(b.Due):
			if a.Due.IsZero() {
				return 1
			}
			if b.Due.IsZero() {
				return -1
			}
			return a.Due.Compare(b.Due)
		}
		return b.Opened.Compare(a.Opened)
	})
	return out, err
}

// Overdue are the open cases past their due date.
func (s *Service) Overdue() ([]Case, error) {
	all, err := s.List()
	var out []Case
	for _, c := range all {
		if d, ok := c.DueIn(s.cfg.Now()); ok && d < 0 {
			out = append(out, c)
		}
	}
	return out, err
}

// change changes an open case in a transaction, then audits the change.
func (s *Service) change(by, id, action string, edit func(c *Case) (why string, err error)) (Case, error) {
	var c Case
	var why string
	err := s.cfg.Store.UpdateDoc(index.Cases, id, &c, func(found bool) error {
		if !found {
			return ErrNoCase
		}
		if !c.Open() {
			return ErrClosed
		}
		var err error
		why, err = edit(&c)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNoCase) {
			return c, ErrNoCase
		}
		return c, err
	}
	return c, s.audit(by, action, id, why)
}

// Extend extends a SAR's due date by one or two months.
func (s *Service) Extend(by, id string, e Extension) (Case, error) {
	return s.change(by, id, "case-extend", func(c *Case) (string, error) {
		if c.Kind != SAR {
			return "", invalid("only a subject access request has a due date to extend")
		}
		due, err := Extended(c.Received, e)
		if err != nil {
			return "", err
		}
		c.Extension, c.Due = &e, due
		return fmt.Sprintf("extended by %d months to %s: %s (requester told %s)", e.Months, due.Format(time.DateOnly), e.Reason, e.Told.Format(time.DateOnly)), nil
	})
}

// Decide records a police or external body's request's decision.
func (s *Service) Decide(by, id, decision, rationale string) (Case, error) {
	return s.change(by, id, "case-decide", func(c *Case) (string, error) {
		switch {
		case c.Kind != Police:
			return "", invalid("only a police or external body's request is decided")
		case decision != Approve && decision != Partial && decision != Refuse:
			return "", invalid("the decision is approve, partial or refuse")
		case strings.TrimSpace(rationale) == "":
			return "", invalid("give the rationale for the decision")
		}
		c.Decision, c.Rationale, c.DecidedBy, c.DecidedAt = decision, rationale, by, s.cfg.Now().UTC()
		if c.Bundle != nil && decision == Refuse {
			c.Bundle = nil
		}
		return fmt.Sprintf("%s: %s", decision, rationale), nil
	})
}

// Terms is a case's search: the case's numbers and extensions unless
// others are given, a time window, and words in the calls' notes.
type Terms struct {
	Numbers, Extensions []string
	From, To            time.Time
	Notes               string
}

func (t Terms) String() string {
	var parts []string
	if len(t.Numbers) > 0 {
		parts = append(parts, plural(len(t.Numbers), "number"))
	}
	if len(t.Extensions) > 0 {
		parts = append(parts, "extensions "+strings.Join(t.Extensions, ","))
	}
	if !t.From.IsZero() {
		parts = append(parts, "from "+t.From.Format(time.DateOnly))
	}
	if !t.To.IsZero() {
		parts = append(parts, "to "+t.To.Format(time.DateOnly))
	}
	if t.Notes != "" {
		parts = append(parts, fmt.Sprintf("notes containing %q", t.Notes))
	}
	return strings.Join(parts, "; ")
}

// A search looks this far around a found call for the other legs of its
// conversation (a transfer's).
const legWindow = 6 * time.Hour

// Search runs a case's search over every number, extension and notes
// text, and adds what it finds to the case (a call found before keeps its
// decision). A call found by a number brings the rest of its
// conversation: every leg of a transfer. Each lookup is an audited
// search of the archive; the search is recorded in the case.
func (s *Service) Search(by, id string, t Terms) (Case, int, error) {
	c, err := s.Get(id)
	if err != nil {
		return c, 0, err
	}
	if !c.Open() {
		return c, 0, ErrClosed
	}
	if c.Kind == Police && c.Decision == Refuse {
		return c, 0, fmt.Errorf("%w: the request was refused", ErrNotDecided)
	}
	if len(t.Numbers) == 0 && len(t.Extensions) == 0 && t.Notes == "" {
		t.Numbers, t.Extensions = c.Numbers, c.Extensions
	}
	if t.From.IsZero() && t.To.IsZero() {
		t.From, t.To = c.From, c.To
	}
	acc := access(by, &c, "search")
	found := map[string]*index.Record{}
	conversations := map[string]time.Time{}
	add := func(rs []*index.Record) {
		for _, r := range rs {
			found[r.ID] = r
			if r.ConversationID != "" {
				conversations[r.ConversationID] = r.Start
			}
		}
	}
	window := func(q index.Query) index.Query { q.From, q.To = t.From, t.To; return q }
	for _, n := range t.Numbers {
		f, err := s.cfg.Archive.Find(acc, window(index.Query{Number: n}), "")
		if err != nil {
			return c, 0, err
		}
		add(f.Records)
	}
	for _, e := range t.Extensions {
		f, err := s.cfg.Archive.Find(acc, window(index.Query{Extension: e}), "")
		if err != nil {
			return c, 0, err
		}
		add(f.Records)
	}
	if text := strings.ToLower(strings.TrimSpace(t.Notes)); text != "" {
		ids, err := s.cfg.Store.Annotated(func(a index.Annotation) bool {
			return slices.ContainsFunc(a.Notes, func(n index.Note) bool { return strings.Contains(strings.ToLower(n.Text), text) })
		})
		if err != nil {
			return c, 0, err
		}
		q := window(index.Query{MaxScan: 200000, Match: func(r *index.Record) bool { return ids[r.ID] }})
		f, err := s.cfg.Archive.Find(acc, q, fmt.Sprintf("notes_text=[%d characters]", len(text)))
		if err != nil {
			return c, 0, err
		}
		add(f.Records)
	}
	for conv, at := range conversations {
		q := index.Query{From: at.Add(-legWindow), To: at.Add(legWindow), MaxScan: 100000,
			Match: func(r *index.Record) bool { return r.ConversationID == conv }}
		f, err := s.cfg.Archive.Find(acc, q, "conversation=[a found call's other legs]")
		if err != nil {
			return c, 0, err
		}
		add(f.Records)
	}
	search := Search{At: s.cfg.Now().UTC(), By: by, Terms: t.String(), Found: len(found)}
	c, err = s.change(by, id, "case-search", func(c *Case) (string, error) {
		c.Searches = append(c.Searches, search)
		for _, r := range found {
			if slices.ContainsFunc(c.Calls, func(k Call) bool { return k.ID == r.ID }) {
				continue
			}
			c.Calls = append(c.Calls, callOf(r))
		}
		slices.SortFunc(c.Calls, func(a, b Call) int { return a.Start.Compare(b.Start) })
		return fmt.Sprintf("%s [%d calls found]", search.Terms, len(found)), nil
	})
	return c, len(found), err
}

func callOf(r *index.Record) Call {
	var parties []string
	for _, p := range []index.Party{r.From, r.To} {
		switch {
		case p.E164 != "":
			parties = append(parties, p.E164)
		case p.Extension != "":
			parties = append(parties, "ext. "+p.Extension)
		default:
			parties = append(parties, p.Raw)
		}
	}
	return Call{ID: r.ID, Start: r.Start, End: r.End, Direction: r.Direction, Parties: parties,
		DurationMS: r.Recording.Duration, StoredSHA256: r.Recording.SHA256, Flags: r.Flags,
		Audio: r.Recording.State.HasAudio() && r.Recording.State != index.StateRecording}
}

// Include puts a call found back in the case's bundle; Exclude leaves it
// out, with the reason (for example, a third party's personal data).
// Either undoes a bundle built before.
func (s *Service) Include(by, id, call string) (Case, error) {
	return s.decideCall(by, id, call, false, "")
}

// Exclude leaves a call out of the bundle, with the reason.
func (s *Service) Exclude(by, id, call, reason string) (Case, error) {
	if strings.TrimSpace(reason) == "" {
		return Case{}, invalid("give the reason for leaving the call out")
	}
	return s.decideCall(by, id, call, true, reason)
}

func (s *Service) decideCall(by, id, call string, exclude bool, reason string) (Case, error) {
	action := "case-include"
	if exclude {
		action = "case-exclude"
	}
	return s.change(by, id, action, func(c *Case) (string, error) {
		i := slices.IndexFunc(c.Calls, func(k Call) bool { return k.ID == call })
		if i < 0 {
			return "", ErrNotInCase
		}
		c.Calls[i].Excluded, c.Calls[i].Reason, c.Calls[i].DecidedBy = exclude, reason, by
		c.Bundle = nil // what was built and checked is no longer what the case hands over
		if exclude {
			return fmt.Sprintf("call %s left out: %s", call, reason), nil
		}
		return fmt.Sprintf("call %s included", call), nil
	})
}

// password makes a bundle's password: 24 characters from an alphabet
// without look-alikes, in groups of four (about 120 bits).
func password() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	b := make([]byte, 24)
	rand.Read(b)
	var out strings.Builder
	for i, v := range b {
		if i > 0 && i%4 == 0 {
			out.WriteByte('-')
		}
		out.WriteByte(alphabet[int(v)%len(alphabet)])
	}
	return out.String()
}

// Build builds a case's bundle: every included call's MP3 is read from
// the vault (an audited export) and hashed; the hashes are what the
// second check approves and what every download must match. With encrypt
// the bundle is an AES-256 ZIP, and its password is returned, to be shown
// once. A police case must be approved (or partly); building one puts
// each of its calls on legal hold with the case as the reason.
func (s *Service) Build(by, id string, encrypt bool) (pw string, err error) {
	c, err := s.Get(id)
	if err != nil {
		return "", err
	}
	switch {
	case !c.Open():
		return "", ErrClosed
	case c.Kind == Erasure:
		return "", invalid("an erasure case hands nothing over")
	case c.Kind == Police && c.Decision != Approve && c.Decision != Partial:
		return "", ErrNotDecided
	case len(c.Included()) == 0:
		return "", ErrNothing
	}
	b := &Bundle{BuiltBy: by, BuiltAt: s.cfg.Now().UTC(), Files: map[string]string{}, Sizes: map[string]int64{}}
	if encrypt {
		b.Password = password()
	}
	if c.Kind == Police {
		if err := s.holdAll(by, &c); err != nil {
			return "", err
		}
	}
	// The build reads and hashes every MP3 once (unencrypted, to nowhere):
	// the hashes and sizes are what the check approves and every download
	// must match.
	pw, b.Password = b.Password, ""
	m, err := s.write(io.Discard, by, &c, b, "bundle built")
	b.Password = pw
	if err != nil {
		return "", err
	}
	for _, f := range m.Files {
		b.Files[f.CallID] = f.MP3SHA256
	}
	included := c.Included()
	_, err = s.change(by, id, "case-build", func(c2 *Case) (string, error) {
		if !slices.Equal(idsOf(c2.Included()), idsOf(included)) {
			return "", ErrChangedCall
		}
		c2.Bundle = b
		c2.Custody = append(c2.Custody, bundle.Custody{At: b.BuiltAt, By: by, Action: "built"})
		enc := "not encrypted"
		if encrypt {
			enc = "encrypted (AES-256 ZIP)"
		}
		return fmt.Sprintf("bundle of %d recordings built, %s", len(m.Files), enc), nil
	})
	if err != nil {
		return "", err
	}
	return b.Password, nil
}

func idsOf(cs []Call) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// holdAll puts a police case's included calls on legal hold, once each.
func (s *Service) holdAll(by string, c *Case) error {
	reason := fmt.Sprintf("case %s: exported to %s", c.ID, c.Requester)
	for _, k := range c.Included() {
		hs, err := s.cfg.Archive.Holds(k.ID)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(hs, func(h index.Hold) bool { return strings.HasPrefix(h.Reason, "case "+c.ID+":") }) {
			continue
		}
		if _, err := s.cfg.Archive.Hold(archive.Access{Who: by, Why: reason}, k.ID); err != nil {
			return err
		}
	}
	return nil
}

// write writes a case's bundle to w from the vault: the included calls'
// MP3s, the cover letter, the signed manifest. With b.Files set (a
// download), each MP3 must be the one checked.
func (s *Service) write(w io.Writer, by string, c *Case, b *Bundle, what string) (bundle.Manifest, error) {
	key, err := s.cfg.Archive.DeviceKey()
	if err != nil {
		return bundle.Manifest{}, err
	}
	// Each recording is opened as its turn comes (a case may hold
	// hundreds): its size comes from the build, when it was first read.
	var srcs []bundle.Source
	for _, k := range c.Included() {
		srcs = append(srcs, bundle.Source{
			File: bundle.File{CallID: k.ID, Start: k.Start, End: k.End, Parties: k.Parties, DurationMS: k.DurationMS,
				StoredSHA256: k.StoredSHA256, Flags: k.Flags},
			Size: b.Sizes[k.ID], Want: b.Files[k.ID],
			Write: func(w io.Writer) error {
				au, err := s.cfg.Archive.Download(access(by, c, what), k.ID)
				if err != nil {
					return fmt.Errorf("cases: call %s: %w", k.ID, err)
				}
				defer au.Close()
				switch {
				case au.Partial:
					return fmt.Errorf("cases: call %s is still being recorded", k.ID)
				case au.Record.Recording.SHA256 != k.StoredSHA256:
					return fmt.Errorf("cases: call %s: %w", k.ID, bundle.ErrChanged)
				case b.Sizes[k.ID] != 0 && au.Size() != b.Sizes[k.ID]:
					return fmt.Errorf("cases: call %s: %w", k.ID, bundle.ErrChanged)
				}
				n, err := io.Copy(w, io.NewSectionReader(au, 0, au.Size()))
				if b.Sizes[k.ID] == 0 {
					b.Sizes[k.ID] = n
				}
				return err
			},
		})
	}
	m := bundle.Manifest{Case: c.ID, BuiltBy: b.BuiltBy, BuiltAt: b.BuiltAt, CheckedBy: b.CheckedBy, CheckedAt: b.CheckedAt,
		Custody: c.Custody}
	if c.Kind != Police {
		m.Custody = nil
	}
	for _, sr := range c.Searches {
		m.Searches = append(m.Searches, fmt.Sprintf("%s by %s: %s [%d found]", sr.At.Format(time.RFC3339), sr.By, sr.Terms, sr.Found))
	}
	cover, err := s.cover(c, b, m)
	if err != nil {
		return m, err
	}
	return bundle.Build(w, m, srcs, cover, key, b.Password)
}

// Check is the second check of a case's bundle: another Head of IG, or
// the one who built it having confirmed being alone in the role. Only a
// checked bundle can be downloaded, until DownloadDays later.
func (s *Service) Check(by, id string, alone bool) (Case, error) {
	return s.change(by, id, "case-check", func(c *Case) (string, error) {
		switch {
		case c.Bundle == nil:
			return "", ErrNotBuilt
		case c.Bundle.BuiltBy == by && !alone:
			return "", ErrSelfCheck
		}
		now := s.cfg.Now().UTC()
		c.Bundle.CheckedBy, c.Bundle.CheckedAt, c.Bundle.Alone = by, now, c.Bundle.BuiltBy == by
		c.Bundle.Expires = now.AddDate(0, 0, s.cfg.DownloadDays)
		c.Custody = append(c.Custody, bundle.Custody{At: now, By: by, Action: "checked"})
		why := fmt.Sprintf("bundle checked; downloadable until %s", c.Bundle.Expires.Format(time.DateOnly))
		if c.Bundle.Alone {
			why += " [checked by its builder, who confirmed being the only Head of IG]"
		}
		return why, nil
	})
}

// Download writes a checked case's bundle to w, for the recipient (to:
// the requester, or the officer and exhibit reference). Each MP3 must be
// the one checked. It is recorded in the chain of custody first; a
// download that fails is audited as failed.
func (s *Service) Download(by, id, to string, w io.Writer) (bundle.Manifest, error) {
	c, err := s.change(by, id, "case-download", func(c *Case) (string, error) {
		if err := Downloadable(*c, to, s.cfg.Now()); err != nil {
			return "", err
		}
		c.Bundle.Downloads++
		c.Custody = append(c.Custody, bundle.Custody{At: s.cfg.Now().UTC(), By: by, Action: "exported", To: to})
		return "bundle downloaded for " + to, nil
	})
	if err != nil {
		return bundle.Manifest{}, err
	}
	m, err := s.write(w, by, &c, c.Bundle, "bundle downloaded for "+to)
	if err != nil {
		s.audit(by, "case-download-failed", id, err.Error())
	}
	return m, err
}

// Downloadable says why a case's bundle cannot be downloaded now for a
// recipient, or nil.
func Downloadable(c Case, to string, now time.Time) error {
	switch {
	case !c.Open():
		return ErrClosed
	case strings.TrimSpace(to) == "":
		return invalid("say to whom the bundle goes")
	case c.Bundle == nil:
		return ErrNotBuilt
	case c.Bundle.CheckedBy == "":
		return ErrNotChecked
	case !now.Before(c.Bundle.Expires):
		return ErrExpired
	}
	return nil
}

// Appoint records an appointment at which the requester heard recordings
// on the premises (the plays themselves are audited by the player).
func (s *Service) Appoint(by, id string, a Appointment) (Case, error) {
	return s.change(by, id, "case-appointment", func(c *Case) (string, error) {
		if a.At.IsZero() || strings.TrimSpace(a.Attended) == "" {
			return "", invalid("give the appointment's date and who attended")
		}
		for _, p := range a.Played {
			if !slices.ContainsFunc(c.Calls, func(k Call) bool { return k.ID == p }) {
				return "", ErrNotInCase
			}
		}
		a.By = by
		c.Appointments = append(c.Appointments, a)
		return fmt.Sprintf("appointment on %s, attended by %s, %d recordings played", a.At.Format("2006-01-02 15:04"), a.Attended, len(a.Played)), nil
	})
}

// Erase crypto-shreds one of an erasure case's calls. confirm must be the
// case's id, typed by the Head of IG. A held call is refused. The call's
// tombstone is kept with the case.
func (s *Service) Erase(by, id, call, reason, confirm string) (Case, error) {
	c, err := s.Get(id)
	if err != nil {
		return c, err
	}
	switch {
	case !c.Open():
		return c, ErrClosed
	case c.Kind != Erasure:
		return c, invalid("only an erasure case erases recordings")
	case strings.TrimSpace(reason) == "":
		return c, invalid("give the reason for the erasure")
	case strings.TrimSpace(confirm) != c.ID:
		return c, ErrConfirm
	case !slices.ContainsFunc(c.Calls, func(k Call) bool { return k.ID == call }):
		return c, ErrNotInCase
	}
	before, err := s.cfg.Archive.Erase(access(by, &c, reason), call)
	if err != nil {
		return c, err
	}
	return s.change(by, id, "case-erase", func(c *Case) (string, error) {
		c.Erased = append(c.Erased, Tombstone{CallID: call, Start: before.Start, DurationMS: before.Recording.Duration,
			StoredSHA256: before.Recording.SHA256, At: s.cfg.Now().UTC(), By: by, Reason: reason})
		if i := slices.IndexFunc(c.Calls, func(k Call) bool { return k.ID == call }); i >= 0 {
			c.Calls[i].Audio = false
		}
		return fmt.Sprintf("call %s erased: %s", call, reason), nil
	})
}

// Close closes a case with its outcome.
func (s *Service) Close(by, id, outcome string) (Case, error) {
	if strings.TrimSpace(outcome) == "" {
		return Case{}, invalid("record the outcome")
	}
	return s.change(by, id, "case-close", func(c *Case) (string, error) {
		c.Closed, c.ClosedBy, c.Outcome = s.cfg.Now().UTC(), by, outcome
		return outcome, nil
	})
}

// plural is "1 number", "2 numbers".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
