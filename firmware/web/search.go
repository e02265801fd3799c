package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"callrec/firmware/recording"
	"callrec/firmware/users"
	"callrec/storage/archive"
	"callrec/storage/index"
)

// PageSize is how many calls a page of results shows.
const PageSize = 25

// maxScan bounds a search whose filters have no lookup key (direction,
// duration, flags, tags with no number): it reads at most this many
// calls, newest first (about 0.2 s), then says to narrow the dates.
const maxScan = 20_000

// filters is a search as the form and the API give it.
type filters struct {
	Number, Extension, From, To, Direction, Flag, Tag, Text string
	MinMinutes, MaxMinutes                                  string
	Page                                                    int
}

func readFilters(r *http.Request) filters {
	q := r.URL.Query()
	f := filters{Number: q.Get("number"), Extension: q.Get("extension"), From: q.Get("from"), To: q.Get("to"),
		Direction: q.Get("direction"), Flag: q.Get("flag"), Tag: q.Get("tag"), Text: q.Get("text"),
		MinMinutes: q.Get("min"), MaxMinutes: q.Get("max"), Page: pageNumber(r)}
	return f
}

// flagFilters are the flags a search can ask for, and what they mean.
var flagFilters = []struct{ Value, Label string }{
	{"opted_out", "Opted out"},
	{"video", "Video call (audio only recorded)"},
	{"srtp", "Encrypted media (SRTP)"},
	{"integrity", "Integrity problems"},
}

// integrityProblem: the recording was cut short, recovered after a power
// cut, failed on the disk, or lost media on the wire.
func integrityProblem(r *index.Record) bool {
	if r.Recording.State == index.StateRecovered || r.Recording.State == index.StateFailed {
		return true
	}
	return slices.ContainsFunc(r.Flags, func(f string) bool {
		return strings.HasPrefix(f, "not_recorded") || strings.HasPrefix(f, "one_way") || f == "tcp_gaps" || f == "truncated_sip" ||
			f == "missed_invite" || f == "restarted" || strings.HasPrefix(f, "unsupported_codec")
	})
}

// query turns the filters into an index query, and says in words what
// beyond the lookup terms was asked, for the audit entry.
func (s *Server) query(f filters) (index.Query, string, error) {
	q := index.Query{Newest: true, Limit: f.Page*PageSize + 1}
	var more []string
	var match []func(*index.Record) bool
	if n := strings.TrimSpace(f.Number); n != "" {
		switch {
		case s.cfg.Plan.IsExtension(n):
			q.Extension = n
		case s.cfg.Plan.E164(n) != "":
			q.Number = s.cfg.Plan.E164(n)
		default:
			return q, "", errorf(http.StatusBadRequest, "%q is not a phone number.", n)
		}
	}
	if e := strings.TrimSpace(f.Extension); e != "" {
		if q.Extension != "" && q.Extension != e {
			return q, "", errorf(http.StatusBadRequest, "Give one extension.")
		}
		if q.Number != "" {
			match = append(match, func(r *index.Record) bool { return slices.Contains(r.Extensions, e) })
		} else {
			q.Extension = e
		}
	}
	day := func(v, name string) (time.Time, error) {
		if v == "" {
			return time.Time{}, nil
		}
		t, err := time.ParseInLocation(time.DateOnly, v, time.Local)
		if err != nil {
			return t, errorf(http.StatusBadRequest, "The %s date is not a date (YYYY-MM-DD).", name)
		}
		return t, nil
	}
	var err error
	if q.From, err = day(f.From, "from"); err != nil {
		return q, "", err
	}
	if q.To, err = day(f.To, "to"); err != nil {
		return q, "", err
	}
	if !q.To.IsZero() {
		q.To = q.To.AddDate(0, 0, 1) // the whole of the last day
	}
	switch f.Direction {
	case "":
	case "inbound", "outbound", "internal":
		d := f.Direction
		match = append(match, func(r *index.Record) bool { return r.Direction == d })
		more = append(more, "direction="+d)
	default:
		return q, "", errorf(http.StatusBadRequest, "Direction is inbound, outbound or internal.")
	}
	minutes := func(v, name string) (int64, error) {
		if v == "" {
			return -1, nil
		}
		m, err := strconv.ParseFloat(v, 64)
		if err != nil || m < 0 || m > 24*60 {
			return 0, errorf(http.StatusBadRequest, "The %s duration is a number of minutes.", name)
		}
		return int64(m * 60000), nil
	}
	lo, err := minutes(f.MinMinutes, "shortest")
	if err != nil {
		return q, "", err
	}
	hi, err := minutes(f.MaxMinutes, "longest")
	if err != nil {
		return q, "", err
	}
	if lo >= 0 || hi >= 0 {
		match = append(match, func(r *index.Record) bool {
			d := r.Recording.Duration
			return (lo < 0 || d >= lo) && (hi < 0 || d <= hi)
		})
		more = append(more, fmt.Sprintf("duration_ms=[%d,%d]", lo, hi))
	}
	switch f.Flag {
	case "":
	case "integrity":
		match = append(match, integrityProblem)
	case "opted_out", recording.FlagVideo, recording.FlagSRTP:
		flag := f.Flag
		match = append(match, func(r *index.Record) bool { return slices.Contains(r.Flags, flag) })
	default:
		return q, "", errorf(http.StatusBadRequest, "Unknown flag.")
	}
	if f.Flag != "" {
		more = append(more, "flag="+f.Flag)
	}
	tag, text := strings.ToLower(strings.TrimSpace(f.Tag)), strings.ToLower(strings.TrimSpace(f.Text))
	if tag != "" || text != "" {
		ids, err := s.cfg.Notes.Annotated(func(a index.Annotation) bool {
			if tag != "" && !slices.Contains(a.Tags, tag) {
				return false
			}
			return text == "" || slices.ContainsFunc(a.Notes, func(n index.Note) bool { return strings.Contains(strings.ToLower(n.Text), text) })
		})
		if err != nil {
			return q, "", err
		}
		match = append(match, func(r *index.Record) bool { return ids[r.ID] })
		more = append(more, fmt.Sprintf("tag=%q notes_text=[%d characters]", tag, len(text)))
	}
	if len(match) > 0 {
		q.MaxScan = maxScan
		q.Match = func(r *index.Record) bool {
			for _, m := range match {
				if !m(r) {
					return false
				}
			}
			return true
		}
	}
	return q, strings.Join(more, " "), nil
}

// results is a page of results, with conversations (a call and its
// transfers) grouped as one row that opens to its legs.
type results struct {
	Rows        []row
	Page        int
	Prev, Next  string // links, "" for none
	Cut         bool
	Scanned     int
	Total       int
	FilterQuery url.Values
}

type row struct {
	*index.Record
	Legs []*index.Record // the conversation's other calls on this page
}

func (s *Server) search(u *who, f filters, why string) (results, error) {
	q, more, err := s.query(f)
	if err != nil {
		return results{}, err
	}
	found, err := s.cfg.Archive.Find(archive.Access{Who: u.name, Why: why}, q, more)
	if err != nil {
		return results{}, err
	}
	res := results{Page: f.Page, Cut: found.Cut, Scanned: found.Scanned}
	rs := found.Records
	first := (f.Page - 1) * PageSize
	if first > len(rs) {
		first = len(rs)
	}
	end := min(first+PageSize, len(rs))
	more2 := len(rs) > end
	page := rs[first:end]
	res.Total = len(page)
	at := map[string]int{}
	for _, r := range page {
		conv := r.ConversationID
		if conv == "" {
			conv = r.ID
		}
		if i, ok := at[conv]; ok {
			res.Rows[i].Legs = append(res.Rows[i].Legs, r)
			continue
		}
		at[conv] = len(res.Rows)
		res.Rows = append(res.Rows, row{Record: r})
	}
	link := func(p int) string {
		v := url.Values{}
		for k, val := range map[string]string{"number": f.Number, "extension": f.Extension, "from": f.From, "to": f.To,
			"direction": f.Direction, "flag": f.Flag, "tag": f.Tag, "text": f.Text, "min": f.MinMinutes, "max": f.MaxMinutes} {
			if val != "" {
				v.Set(k, val)
			}
		}
		v.Set("page", strconv.Itoa(p))
		return "/calls?" + v.Encode()
	}
	if f.Page > 1 {
		res.Prev = link(f.Page - 1)
	}
	if more2 {
		res.Next = link(f.Page + 1)
	}
	return res, nil
}

func (s *Server) callsPage(w http.ResponseWriter, r *http.Request, u *who) error {
	f := readFilters(r)
	data := map[string]any{"F": f, "Flags": flagFilters, "Changed": r.URL.Query().Has("changed")}
	if u.role == users.HeadOfIG && s.cfg.Cases != nil {
		overdue, err := s.cfg.Cases.Overdue()
		if err != nil {
			return err // a case list that cannot be read is not shown as "nothing overdue"
		}
		data["Overdue"], data["Now"] = overdue, s.cfg.Now()
	}
	res, err := s.search(u, f, "search on the web page") // no filter: the latest calls
	if he, ok := err.(*httpError); ok && he.code == http.StatusBadRequest {
		data["Error"] = he.msg
		s.render(w, r, u, http.StatusBadRequest, "calls", data)
		return nil
	}
	if err != nil {
		return err
	}
	data["R"] = res
	s.render(w, r, u, http.StatusOK, "calls", data)
	return nil
}

// callDetails is a call with its holds and notes; reading it is audited
// ("view", why).
type callDetails struct {
	*index.Record
	Holds []index.Hold     `json:"holds"`
	Notes index.Annotation `json:"annotation"`
}

func (s *Server) callDetails(r *http.Request, u *who, why string) (c callDetails, err error) {
	id, err := callID(r)
	if err != nil {
		return c, err
	}
	if c.Record, err = s.cfg.Archive.Call(archive.Access{Who: u.name, Why: why}, id); err != nil {
		return c, err
	}
	if c.Holds, err = s.cfg.Archive.Holds(id); err != nil {
		return c, err
	}
	c.Notes, err = s.cfg.Notes.Annotation(id)
	return c, err
}

func (s *Server) callPage(w http.ResponseWriter, r *http.Request, u *who) error {
	c, err := s.callDetails(r, u, "call page")
	if err != nil {
		return err
	}
	rec, id := c.Record, c.ID
	data := map[string]any{"C": rec, "Holds": c.Holds, "Notes": c.Notes, "Reasons": playReasons}
	if s.grantNeeded(u) {
		if s.cfg.Cases == nil {
			data["NeedGrant"] = true
		} else if g, err := s.cfg.Cases.MayPlay(u.name, rec); err != nil {
			data["NeedGrant"] = true
		} else {
			data["Grant"] = g
		}
	}
	switch {
	case !rec.Purged.IsZero():
		data["Integrity"] = "The recording was deleted (crypto-shredded) on " + rec.Purged.Format(time.DateOnly) + " at the end of its retention."
	case rec.Recording.State == index.StateErased:
		data["Integrity"] = "The recording was erased on request by an erasure case (see the audit log); its details remain."
	case !rec.Recording.State.HasAudio():
		data["Integrity"] = "This call has no recording."
	default:
		partial, err := s.cfg.Archive.CheckRecording(id)
		switch {
		case err != nil:
			data["Integrity"], data["IntegrityBad"] = "Check failed: "+strings.TrimPrefix(err.Error(), "archive: "), true
		case partial:
			data["Integrity"], data["Playable"] = "Being recorded now: what is complete so far can be played.", true
		default:
			data["Integrity"], data["Playable"], data["IntegrityOK"] = "Whole, and matches its stored SHA-256.", true, true
		}
	}
	s.sess.with(func() {
		data["Private"] = u.sess.private
		data["Reason"] = u.sess.plays[id]
	})
	s.render(w, r, u, http.StatusOK, "call", data)
	return nil
}
