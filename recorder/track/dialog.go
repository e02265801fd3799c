package track

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"regexp"
	"slices"
	"strings"
	"time"

	"callrec/recorder/capture"
	"callrec/recorder/sip"
)

func (t *Tracker) sipMessage(d *capture.Datagram) {
	m, err := sip.Parse(d.Payload)
	if err != nil {
		t.stats.SIPErrors++
		return
	}
	callID := m.Get("call-id")
	cseq, cseqMethod := sip.CSeq(m.Get("cseq"))
	if callID == "" || cseqMethod == "" {
		t.stats.SIPErrors++
		return
	}
	t.stats.SIPMessages++
	from, to := sip.ParseAddress(m.Get("from")), sip.ParseAddress(m.Get("to"))
	fp := fingerprint(callID, cseq, m.Method, m.Status, from.Tag(), to.Tag(), len(m.Body))
	if t.dedup.seen(fp, t.now) {
		t.stats.Duplicates++
		if c := t.byCallID[callID]; c != nil {
			c.flag("duplicates_dropped")
		}
		return
	}
	if len(t.dormant) > 0 && t.byCallID[callID] == nil {
		t.wakeByCallID(callID)
	}
	msg := &message{Message: m, d: d, callID: callID, cseq: cseq, cseqMethod: cseqMethod, from: from, to: to}
	if m.IsRequest() {
		t.request(msg)
	} else {
		t.response(msg)
	}
}

// message is a parsed SIP message with what every handler needs.
type message struct {
	*sip.Message
	d          *capture.Datagram
	callID     string
	cseq       uint32
	cseqMethod string
	from, to   sip.Address
}

// touch notes activity on a call and the capture conditions of a message.
func (t *Tracker) touch(c *Call, m *message) {
	c.lastActivity = t.now
	if m.d.Flags&capture.Fragmented != 0 {
		c.flag("ip_fragments")
	}
	if m.d.Flags&capture.TCPGap != 0 {
		c.flag("tcp_gaps")
	}
	if m.d.Flags&capture.Tunnelled != 0 {
		c.flag("tunnelled")
	}
	if m.Truncated {
		c.flag("truncated_sip")
	}
}

func (t *Tracker) request(m *message) {
	c := t.byCallID[m.callID]
	switch m.Method {
	case "INVITE":
		if m.to.Tag() == "" {
			t.initialInvite(c, m)
			return
		}
		if c == nil {
			c = t.midDialog(m) // re-INVITE of a call we did not see start
		}
		t.touch(c, m)
		t.sdp(c, m, t.requestSide(c, m))
	case "ACK", "PRACK", "UPDATE":
		if c == nil || c.state == stateEnded {
			return
		}
		t.touch(c, m)
		t.sdp(c, m, t.requestSide(c, m))
	case "BYE":
		if c == nil {
			return
		}
		t.touch(c, m)
		if c.state != stateEnded {
			t.end(c, "bye")
		}
	case "CANCEL":
		if c == nil {
			return
		}
		t.touch(c, m)
		if c.state == stateTrying || c.state == stateAuth {
			t.pendEnd(c, "cancel")
		}
	case "REFER":
		if c == nil {
			return
		}
		t.touch(c, m)
		t.refer(c, m)
	case "NOTIFY":
		if c == nil || !strings.HasPrefix(strings.ToLower(m.Get("event")), "refer") {
			return
		}
		t.touch(c, m)
		if frag := string(m.Body); strings.HasPrefix(frag, "SIP/2.0 2") {
			t.emit(Event{Kind: Transferred, Time: t.now, Call: c, Detail: "completed"})
		}
	case "INFO":
		if c == nil {
			return
		}
		t.touch(c, m)
		if digit := infoDigit(m.Message); digit != "" {
			// In-dialog requests from the caller carry the caller's tag in
			// From; the callee's, in To.
			fromCaller := c.legFor(m).FromTag == m.from.Tag()
			t.emit(Event{Kind: DTMF, Time: t.now, Call: c, Digit: digit, Detail: "sip-info", FromCaller: fromCaller})
		}
	}
}

func (t *Tracker) response(m *message) {
	c := t.byCallID[m.callID]
	if m.cseqMethod != "INVITE" {
		if c != nil {
			c.lastActivity = t.now
		}
		return
	}
	if c == nil {
		if m.Status < 200 || m.Status >= 300 {
			return
		}
		c = t.midDialog(m) // a 200 OK for an INVITE we missed
	}
	t.heard(c) // any response (a PBX's 100 Trying comes at once): not a bogus attempt
	l := c.legFor(m)
	initial := m.cseq == l.initialCSeq
	if c.state == stateEnded {
		if !(initial && m.Status >= 200 && m.Status < 300 && c.endedByFailure()) {
			return
		}
		t.revive(c) // a fork answered after another failed or was cancelled
	}
	t.touch(c, m)
	switch {
	case m.Status < 200:
		if m.Status > 100 && initial && m.to.Tag() != "" {
			if sdp := t.parseSDP(c, m); sdp != nil {
				// Early media of one early dialog (RFC 3261 12.1; forking
				// may make several): used now, replaced by the winner's.
				l.early[m.to.Tag()] = sdp
				t.applySDP(l, calleeSide, sdp)
			}
		}
	case m.Status < 300:
		if initial {
			c.pending = ""
			if c.Answered.IsZero() {
				c.Answered = Time{t.now}
			}
			c.state = stateConfirmed
			if l.ToTag == "" {
				l.ToTag = m.to.Tag()
			}
			sdp := t.parseSDP(c, m)
			if sdp == nil {
				sdp = l.early[m.to.Tag()]
			}
			if sdp != nil {
				t.applySDP(l, calleeSide, sdp)
			}
			return
		}
		// The answer to a re-INVITE comes from the side that did not send it.
		t.sdp(c, m, other(t.requestSide(c, m)))
	case initial && (m.Status == 401 || m.Status == 407):
		l.challenged = true
		c.state = stateAuth
		c.EndReason = fmt.Sprintf("rejected:%d", m.Status)
		c.flag("auth")
	case initial && c.state != stateConfirmed:
		if m.Status == 487 {
			t.pendEnd(c, "cancel")
		} else {
			t.pendEnd(c, fmt.Sprintf("rejected:%d", m.Status))
		}
	}
}

// failureGrace is how long a CANCEL or final failure waits for a 2xx that
// the tap may show late, before the call ends at the failure's time.
const failureGrace = 2 * time.Second

func (t *Tracker) pendEnd(c *Call, reason string) {
	if c.pending == "" {
		c.pending, c.pendingAt = reason, t.now
	}
}

func (c *Call) endedByFailure() bool {
	return c.EndReason == "cancel" || strings.HasPrefix(c.EndReason, "rejected:")
}

// revive reopens a call that a failure ended, when another fork answers.
func (t *Tracker) revive(c *Call) {
	c.state, c.End, c.EndReason, c.pending = stateTrying, Time{}, "", ""
	c.flag("forked")
	if i := slices.Index(t.ended, c); i >= 0 {
		t.ended = slices.Delete(t.ended, i, i+1)
	}
	t.admit(c)
	t.emit(Event{Kind: CallStarted, Time: t.now, Call: c, Detail: "revived"})
}

// initialInvite starts a call, or continues one after an auth challenge.
func (t *Tracker) initialInvite(c *Call, m *message) {
	if c != nil && c.state != stateEnded {
		l := c.legByTag(m.callID, m.from.Tag())
		if l == nil {
			l = c.challengedLeg(m.callID, m.from.Tag())
		}
		if l == nil {
			// The same Call-ID with another From tag: the far side of a
			// B2BUA that keeps Call-IDs but rewrites tags.
			l = t.newLeg(c, m)
			c.flag("b2bua_legs")
			t.touch(c, m)
			t.sdpLeg(l, m, callerSide)
			return
		}
		// The retry after a challenge, or a copy the fingerprint did not
		// catch (a proxy's re-sent INVITE).
		if c.state == stateAuth {
			c.state, c.EndReason = stateTrying, ""
		}
		t.touch(c, m)
		l.initialCSeq = m.cseq
		t.sdpLeg(l, m, callerSide)
		return
	}
	// A Call-ID seen before on an ended call is a new call (RFC 3261 does
	// not promise Call-IDs are never reused, and some devices reuse them).
	if prev := t.b2buaPeer(m); prev != nil {
		prev.continued = true
		b := prev.call
		l := t.newLeg(b, m)
		b.SIPCallIDs = append(b.SIPCallIDs, m.callID)
		t.byCallID[m.callID] = b
		b.flag("b2bua_legs")
		t.touch(b, m)
		t.sdpLeg(l, m, callerSide)
		return
	}
	c = t.newCall(m)
	t.touch(c, m)
	t.emit(Event{Kind: CallStarted, Time: t.now, Call: c})
	t.linkTransfer(c, m)
	t.sdp(c, m, callerSide)
}

// midDialog makes a call from a message inside a dialog whose INVITE the
// capture missed.
func (t *Tracker) midDialog(m *message) *Call {
	c := t.newCall(m)
	c.flag("missed_invite")
	c.state = stateConfirmed
	t.heard(c)
	l := c.Legs[0]
	l.ToTag = m.to.Tag()
	t.emit(Event{Kind: CallStarted, Time: t.now, Call: c})
	return c
}

func (t *Tracker) newCall(m *message) *Call {
	t.stats.CallsStarted++
	c := &Call{
		ID:         newID(),
		SIPCallIDs: []string{m.callID},
		Start:      Time{t.now},
		Flags:      []string{},
		Numbers:    []string{},
	}
	c.ConversationID = c.ID
	t.parties(c, m)
	t.newLeg(c, m)
	c.Direction = t.direction(c, m)
	t.admit(c)
	t.byCallID[m.callID] = c
	if k := t.partiesKey(c.Legs[0].callerUser, c.Legs[0].calleeUser); k != "" && len(t.recent[k]) < maxRecent {
		t.recent[k] = append(t.recent[k], c)
	}
	return c
}

func (t *Tracker) newLeg(c *Call, m *message) *Leg {
	l := &Leg{
		CallID:      m.callID,
		FromTag:     m.from.Tag(),
		call:        c,
		early:       map[string][]mediaOffer{},
		initialCSeq: m.cseq,
		Media:       []*Stream{},
		callerUser:  sip.User(m.from.URI),
		calleeUser:  sip.User(m.to.URI),
		sessionID:   sessionID(m.Get("session-id")),
	}
	if m.IsRequest() {
		l.Caller, l.Callee = m.d.Src, m.d.Dst
	} else {
		l.Caller, l.Callee = m.d.Dst, m.d.Src
	}
	c.Legs = append(c.Legs, l)
	return l
}

// legByTag returns the leg whose dialog has the given Call-ID and caller
// tag, or nil.
func (c *Call) legByTag(callID, tag string) *Leg {
	for _, l := range c.Legs {
		if l.CallID == callID && l.FromTag == tag {
			return l
		}
	}
	return nil
}

// challengedLeg returns a leg of the Call-ID that was challenged for
// credentials, taking the retry's From tag: some B2BUAs build their tags
// from the branch, so the retry's tag differs.
func (c *Call) challengedLeg(callID, tag string) *Leg {
	for _, l := range c.Legs {
		if l.CallID == callID && l.challenged {
			l.challenged, l.FromTag = false, tag
			return l
		}
	}
	return nil
}

// legFor returns the leg a message belongs to: its Call-ID, and the
// caller's tag in From (sent by the caller, or a response to it) or in To
// (sent by the callee).
func (c *Call) legFor(m *message) *Leg {
	var byID *Leg
	for _, l := range c.Legs {
		if l.CallID != m.callID {
			continue
		}
		if l.FromTag == m.from.Tag() || l.FromTag == m.to.Tag() {
			return l
		}
		if byID == nil {
			byID = l
		}
	}
	if byID != nil {
		return byID
	}
	return c.Legs[0]
}

// requestSide says which side of the leg sent a request: the caller sends
// with the dialog's From tag.
func (t *Tracker) requestSide(c *Call, m *message) side {
	l := c.legFor(m)
	if l.FromTag != "" && m.from.Tag() != l.FromTag {
		return calleeSide
	}
	return callerSide
}

// fingerprint identifies a message across hops and retransmissions: what
// a proxy changes (Via, Record-Route, Max-Forwards) is left out.
func fingerprint(callID string, cseq uint32, method string, status int, fromTag, toTag string, bodyLen int) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00%d\x00%s\x00%s\x00%d", callID, cseq, method, status, fromTag, toTag, bodyLen)
	return h.Sum64()
}

// newID returns a call id: 128 random bits, assigned by the box. It is
// never derived from what the wire says, so no capture can make a call
// whose id is another's.
func newID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return "c" + hex.EncodeToString(b[:])
}

var dtmfRelay = regexp.MustCompile(`(?i)signal\s*=\s*([0-9*#A-D])`)

// infoDigit reads a DTMF digit from an INFO body (application/dtmf-relay
// "Signal=5", or application/dtmf "5").
func infoDigit(m *sip.Message) string {
	ct := strings.ToLower(m.Get("content-type"))
	switch {
	case strings.Contains(ct, "dtmf-relay"):
		if s := dtmfRelay.FindSubmatch(m.Body); s != nil {
			return strings.ToUpper(string(s[1]))
		}
	case strings.Contains(ct, "application/dtmf"):
		if b := strings.TrimSpace(string(m.Body)); len(b) == 1 && strings.Contains("0123456789*#ABCDabcd", b) {
			return strings.ToUpper(b)
		}
	}
	return ""
}
