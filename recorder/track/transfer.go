package track

import (
	"strings"
	"time"

	"callrec/recorder/sip"
)

type pendingRefer struct {
	call   *Call
	target string // Refer-To user part
	at     time.Time
}

// b2buaPeer finds the leg a new INVITE continues: a B2BUA (the PBX, an
// SBC) seen on both sides starts its second leg within moments, between
// the same parties, with a new Call-ID. Being alike is not enough (ten
// withheld numbers calling at opening time are alike): a join needs
// positive evidence that the new leg is the B2BUA's own continuation of
// an earlier leg (see continues). Joins are one-to-one: a leg continued
// once is never continued again. Of several candidates the oldest wins,
// as a PBX forwards calls in the order they came.
func (t *Tracker) b2buaPeer(m *message) *Leg {
	if m.Get("replaces") != "" || m.Get("referred-by") != "" {
		return nil
	}
	for _, c := range t.recent[t.partiesKey(sip.User(m.from.URI), sip.User(m.to.URI))] {
		if c.state != stateTrying || t.now.Sub(c.Start.Time) > b2buaWindow || c.hasCallID(m.callID) {
			continue
		}
		for _, l := range c.Legs {
			if !l.continued && l.FromTag != m.from.Tag() && continues(l, m) {
				return l
			}
		}
	}
	return nil
}

// continues reports whether there is positive evidence that the INVITE m
// is a B2BUA's continuation of leg l:
//   - m comes from where l was sent: the B2BUA is l's callee and m's
//     caller (the same address and port);
//   - m carries l's session identifier (RFC 7989 Session-ID), or names
//     l's Call-ID in a correlation header;
//   - m's From tag embeds l's (an SBC that prefixes its own, as
//     "SD4909701-" + the original).
func continues(l *Leg, m *message) bool {
	if l.Callee.IsValid() && l.Callee == m.d.Src {
		return true
	}
	if sid := sessionID(m.Get("session-id")); sid != "" && sid == l.sessionID {
		return true
	}
	for _, h := range correlationHeaders {
		if v := strings.TrimSpace(m.Get(h)); v != "" && v == l.CallID {
			return true
		}
	}
	return embedsTag(m.from.Tag(), l.FromTag)
}

// correlationHeaders carry the Call-ID of a B2BUA's other leg, by vendor.
var correlationHeaders = []string{"x-orig-call-id", "x-original-call-id", "x-call-id", "x-cid"}

// sessionID is the local UUID of a Session-ID header (RFC 7989 section
// 4.1), or "" without one; the all-zero null UUID is no identifier.
func sessionID(v string) string {
	id, _, _ := strings.Cut(v, ";")
	id = strings.ToLower(strings.TrimSpace(id))
	if len(id) != 32 || strings.Trim(id, "0") == "" {
		return ""
	}
	return id
}

// embedsTag reports whether tag carries orig after a separator, as SBCs
// that rewrite tags by prefixing their own do. Short tags, which could
// match by chance, do not count.
func embedsTag(tag, orig string) bool {
	if len(orig) < 8 || len(tag) <= len(orig) {
		return false
	}
	i := strings.Index(tag, orig)
	return i > 0 && tag[i-1] == '-'
}

// partiesKey names a caller and callee the same way on both sides of a
// B2BUA: by E.164 number where there is one.
func (t *Tracker) partiesKey(from, to string) string {
	if from == "" || to == "" {
		return ""
	}
	if e := t.cfg.Plan.E164(from); e != "" {
		from = e
	}
	if e := t.cfg.Plan.E164(to); e != "" {
		to = e
	}
	return from + "\x00" + to
}

// refer notes a transfer request (RFC 3515) for linking the new call.
func (t *Tracker) refer(c *Call, m *message) {
	target := sip.ParseAddress(m.Get("refer-to"))
	c.flag("transfer")
	detail := "blind"
	if rep := sip.URIHeaders(target.URI)["replaces"]; rep != "" {
		detail = "attended"
		// The call named in Replaces is the consultation: B talking to C
		// about A's call is part of A's conversation, whether or not the
		// transfer then succeeds.
		if rc := t.byCallID[sip.ParseReplaces(rep).CallID]; rc != nil && rc != c {
			t.join(rc, c)
			rc.flag("transfer")
			t.emit(Event{Kind: Transferred, Time: t.now, Call: rc, Detail: "consultation"})
		}
	}
	if len(t.refers) >= maxRefers {
		t.refers = t.refers[1:]
	}
	t.refers = append(t.refers, pendingRefer{call: c, target: sip.User(target.URI), at: t.now})
	t.emit(Event{Kind: Transferred, Time: t.now, Call: c, Detail: "refer:" + detail})
}

// linkTransfer joins a new call to the conversation it continues: the call
// it Replaces (RFC 3891), or the call whose REFER it answers.
func (t *Tracker) linkTransfer(c *Call, m *message) {
	var from *Call
	detail := ""
	if v := m.Get("replaces"); v != "" {
		if r := t.byCallID[sip.ParseReplaces(v).CallID]; r != nil {
			from, detail = r, "replaces"
		}
	}
	if from == nil {
		to, ruri := sip.User(m.to.URI), sip.User(m.RequestURI)
		for i := len(t.refers) - 1; i >= 0; i-- {
			r := t.refers[i]
			if r.target != "" && (r.target == to || r.target == ruri) {
				from, detail = r.call, "referred"
				break
			}
		}
	}
	if from == nil && m.Get("referred-by") != "" {
		c.flag("transfer")
		return // referred by a call we did not see
	}
	if from == nil {
		return
	}
	t.join(c, from)
	c.flag("transfer")
	from.flag("transfer")
	t.emit(Event{Kind: Transferred, Time: t.now, Call: c, Detail: detail})
}

// join puts call c, and every call already in its conversation, into the
// conversation of call to.
func (t *Tracker) join(c, to *Call) {
	old, conv := c.ConversationID, to.ConversationID
	if old == conv {
		return
	}
	for _, list := range [][]*Call{t.active, t.ended} {
		for _, x := range list {
			if x.ConversationID == old {
				x.ConversationID = conv
			}
		}
	}
	c.ConversationID = conv
}
