package track

import (
	"time"

	"callrec/recorder/sip"
)

type pendingRefer struct {
	call   *Call
	target string // Refer-To user part
	at     time.Time
}

// b2buaPeer finds the call a new INVITE is the other leg of: a B2BUA (the
// PBX, an SBC) seen on both sides starts its second leg within moments,
// between the same numbers, with a new Call-ID.
func (t *Tracker) b2buaPeer(m *message) *Call {
	if m.Get("replaces") != "" || m.Get("referred-by") != "" {
		return nil
	}
	c := t.recent[t.partiesKey(sip.User(m.from.URI), sip.User(m.to.URI))]
	if c == nil || c.state != stateTrying || t.now.Sub(c.Start.Time) > b2buaWindow ||
		c.hasCallID(m.callID) || c.Legs[0].FromTag == m.from.Tag() {
		return nil
	}
	return c
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
