package track

import (
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"callrec/recorder/capture"
	"callrec/recorder/sip"
)

// Config classifies calls and bounds the tracker; a zero field takes the
// default.
type Config struct {
	Plan           sip.NumberPlan
	TrunkPeers     []netip.Prefix // addresses of the ITSP's SIP trunk
	TrunkDomains   []string       // SIP domains of the trunk
	IdleTimeout    time.Duration  // no SIP and no RTP: the call ends (default 60 s)
	MaxCalls       int            // active calls (default 10000)
	MaxCandidates  int            // unannounced RTP flows under watch (default 4096)
	MaxFingerprint int            // recent SIP messages kept for de-duplication (default 65536)
	// OnEvent receives every event, in order, on the goroutine that calls
	// Handle. It must not keep the Call past the call's end without copying.
	OnEvent func(Event)
	// OnRTP receives every RTP packet of a call's audio (not DTMF events),
	// with its stream and whether the caller sent it, on the same
	// goroutine. It must not keep d or its payload.
	OnRTP func(st *Stream, fromCaller bool, d *capture.Datagram)
}

func (c *Config) setDefaults() {
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 60 * time.Second
	}
	if c.MaxCalls == 0 {
		c.MaxCalls = 10000
	}
	if c.MaxCandidates == 0 {
		c.MaxCandidates = 4096
	}
	if c.MaxFingerprint == 0 {
		c.MaxFingerprint = 65536
	}
}

// Timer values of RFC 3261: how long a transaction may still produce
// messages, and so how long an ended call keeps its addresses.
const (
	transactionTime = 32 * time.Second
	b2buaWindow     = 2 * time.Second  // legs of one call through a B2BUA start this close
	referWindow     = 60 * time.Second // a transfer's new INVITE follows its REFER within this
	maxRefers       = 1024             // pending transfers remembered at once
)

// EventKind says what happened.
type EventKind uint8

// Events, in the order a call usually produces them.
const (
	CallStarted EventKind = iota + 1
	MediaChanged
	Held
	Resumed
	DTMF
	Transferred
	CallEnded
)

func (k EventKind) String() string {
	return [...]string{"", "started", "media", "held", "resumed", "dtmf", "transferred", "ended"}[k]
}

// Event is one change to a call.
type Event struct {
	Kind   EventKind
	Time   time.Time
	Call   *Call
	Stream *Stream // MediaChanged, Held, Resumed, DTMF (RTP)
	Digit  string  // DTMF: 0-9, *, #, A-D
	Detail string  // DTMF source ("rfc4733", "sip-info"); Transferred: how
}

// Stats counts what the tracker has seen.
type Stats struct {
	SIPMessages  uint64
	SIPErrors    uint64 // unparseable, or without Call-ID or CSeq
	Duplicates   uint64 // the same message seen again (another hop, a retransmission)
	SDPErrors    uint64
	RTPPackets   uint64 // counted against a call
	RTPLate      uint64 // arrived for a call that had ended
	RTCPPackets  uint64
	NotRTP       uint64 // UDP that is neither SIP nor RTP
	Candidates   uint64 // unannounced flows watched
	CallsStarted uint64
	CallsEnded   uint64
	CallsEvicted uint64 // ended early because MaxCalls was reached
	DroppedFlows uint64 // unannounced flows forgotten by the bound
	ClockJumps   uint64 // capture timestamps that leapt forward and were ignored
}

// Tracker follows calls. It is not safe for concurrent use: one capture
// goroutine feeds it.
type Tracker struct {
	cfg   Config
	log   *slog.Logger
	stats Stats
	now   time.Time

	active   []*Call          // oldest first; ended calls are dropped lazily (see compact)
	nActive  int              // calls in active that have not ended
	byCallID map[string]*Call // SIP Call-ID → its call (ended ones until pruned)
	ended    []*Call          // ended, kept a while for late messages
	media    map[netip.AddrPort]mediaRef
	recent   map[string]*Call // the latest call between two parties, for B2BUA legs
	flows    map[flowPair]*candidate
	order    []flowPair // candidates in order of arrival, for evicting the oldest
	refers   []pendingRefer
	dedup    dedup
	lastTick time.Time
}

type pendingRefer struct {
	call   *Call
	target string // Refer-To user part
	at     time.Time
}

// New returns a tracker.
func New(cfg Config, log *slog.Logger) *Tracker {
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Tracker{
		cfg:      cfg,
		log:      log,
		byCallID: make(map[string]*Call),
		media:    make(map[netip.AddrPort]mediaRef),
		flows:    make(map[flowPair]*candidate),
		recent:   make(map[string]*Call),
		dedup:    newDedup(cfg.MaxFingerprint),
	}
}

// Stats returns the counters so far.
func (t *Tracker) Stats() Stats { return t.stats }

// Active returns the calls in progress, oldest first.
func (t *Tracker) Active() []*Call {
	t.compact()
	return t.active
}

// compact removes ended calls from the active list. Ending a call leaves
// it in place, so that ending is O(1) even when a flood fills the table.
func (t *Tracker) compact() {
	keep := t.active[:0]
	for _, c := range t.active {
		if c.state != stateEnded {
			keep = append(keep, c)
		}
	}
	clear(t.active[len(keep):])
	t.active = keep
}

// admit makes room for one more call, ending the oldest if the table is
// full, and adds c.
func (t *Tracker) admit(c *Call) {
	for t.nActive >= t.cfg.MaxCalls && len(t.active) > 0 {
		old := t.active[0]
		t.active[0] = nil
		t.active = t.active[1:]
		if old.state != stateEnded {
			t.stats.CallsEvicted++
			t.end(old, "evicted")
		}
	}
	t.active = append(t.active, c)
	t.nActive++
}

// maxClockStep is the largest forward jump of capture time believed: a
// larger one is a corrupt timestamp (seen in real files), not a day of
// silence, and would otherwise time every call out at once.
const maxClockStep = 24 * time.Hour

// Handle takes one datagram from capture.
func (t *Tracker) Handle(d *capture.Datagram) {
	switch {
	case t.now.IsZero():
		t.now = d.Time
	case d.Time.Sub(t.now) > maxClockStep:
		t.stats.ClockJumps++
	case d.Time.After(t.now):
		t.now = d.Time
	}
	t.tick()
	if sip.LooksLikeSIP(d.Payload) {
		t.sipMessage(d)
		return
	}
	if d.Proto == capture.UDP {
		t.rtp(d)
	}
}

// Tick advances the tracker's clock when no packet has (a quiet live
// capture), so idle calls still end on time.
func (t *Tracker) Tick(now time.Time) {
	if now.After(t.now) && now.Sub(t.now) <= maxClockStep {
		t.now = now
	}
	t.tick()
}

// Flush ends every call still open, with reason, at the time of the last
// packet: the end of a capture file, or a clean shutdown.
func (t *Tracker) Flush(reason string) {
	for _, c := range t.active {
		if c.state == stateEnded {
			continue
		}
		if c.pending != "" {
			t.endAt(c, c.pending, c.pendingAt)
			continue
		}
		t.end(c, reason)
	}
	t.compact()
}

func (t *Tracker) emit(e Event) {
	if t.cfg.OnEvent != nil {
		t.cfg.OnEvent(e)
	}
}

// tick ends idle calls and forgets old state, at most once a second of
// capture time.
func (t *Tracker) tick() {
	if t.now.Sub(t.lastTick) < time.Second {
		return
	}
	t.lastTick = t.now
	for _, c := range t.active {
		if c.state == stateEnded {
			continue
		}
		idle := t.now.Sub(c.lastActivity)
		switch {
		case c.pending != "" && t.now.Sub(c.pendingAt) > failureGrace:
			t.endAt(c, c.pending, c.pendingAt)
		case c.state == stateAuth && idle > transactionTime:
			t.endAt(c, c.EndReason, c.lastActivity) // the challenge was never answered
		case idle > t.cfg.IdleTimeout:
			// The call ended when it fell silent, not when we noticed.
			t.endAt(c, "timeout", c.lastActivity)
		}
	}
	t.compact()
	keep := t.ended[:0]
	for _, c := range t.ended {
		if t.now.Sub(c.endedAt) < transactionTime {
			keep = append(keep, c)
			continue
		}
		t.forget(c)
	}
	clear(t.ended[len(keep):])
	t.ended = keep
	for k, c := range t.recent {
		if t.now.Sub(c.Start.Time) > b2buaWindow {
			delete(t.recent, k)
		}
	}
	refs := t.refers[:0]
	for _, r := range t.refers {
		if t.now.Sub(r.at) < referWindow {
			refs = append(refs, r)
		}
	}
	t.refers = refs
	t.expireCandidates()
}

// forget drops an ended call's Call-IDs and addresses.
func (t *Tracker) forget(c *Call) {
	for _, id := range c.SIPCallIDs {
		if t.byCallID[id] == c {
			delete(t.byCallID, id)
		}
	}
	for _, l := range c.Legs {
		for _, s := range l.Media {
			t.unmap(s.CallerAddr, s)
			t.unmap(s.CalleeAddr, s)
		}
	}
}

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
			t.emit(Event{Kind: DTMF, Time: t.now, Call: c, Digit: digit, Detail: "sip-info"})
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
	if b := t.b2buaPeer(m); b != nil {
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
	l := c.Legs[0]
	l.ToTag = m.to.Tag()
	t.emit(Event{Kind: CallStarted, Time: t.now, Call: c})
	return c
}

func (t *Tracker) newCall(m *message) *Call {
	t.stats.CallsStarted++
	c := &Call{
		ID:         callHash(m.callID, t.now),
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
	if k := t.partiesKey(c.Legs[0].callerUser, c.Legs[0].calleeUser); k != "" {
		t.recent[k] = c
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

// parties fills caller and callee: the caller from P-Asserted-Identity,
// Remote-Party-ID or From; the callee from To or the Request-URI; every
// number seen (Diversion included) goes into Numbers for searching.
func (t *Tracker) parties(c *Call, m *message) {
	plan := t.cfg.Plan
	party := func(a sip.Address) Party {
		u := sip.User(a.URI)
		p := Party{Raw: u, E164: plan.E164(u), Name: a.Display}
		if plan.IsExtension(u) {
			p.Extension = u
		}
		return p
	}
	caller := m.from
	for _, h := range []string{"p-asserted-identity", "remote-party-id"} {
		if v := m.Get(h); v != "" {
			if a := sip.ParseAddress(v); sip.User(a.URI) != "" {
				caller = a
				break
			}
		}
	}
	c.From = party(caller)
	if c.From.Name == "" {
		c.From.Name = m.from.Display
	}
	c.To = party(m.to)
	if c.To.Raw == "" && m.IsRequest() {
		c.To = party(sip.Address{URI: m.RequestURI})
	}
	for _, a := range []sip.Address{m.from, m.to, caller} {
		c.addNumber(plan.E164(sip.User(a.URI)))
	}
	if m.IsRequest() {
		c.addNumber(plan.E164(sip.User(m.RequestURI)))
	}
	for _, v := range m.Values("diversion") {
		c.addNumber(plan.E164(sip.User(sip.ParseAddress(v).URI)))
	}
}

// direction classifies a call: by the trunk's addresses or domains when
// configured, else by the numbers (short numbers are extensions).
func (t *Tracker) direction(c *Call, m *message) Direction {
	src, dst := m.d.Src.Addr(), m.d.Dst.Addr()
	for _, p := range t.cfg.TrunkPeers {
		if p.Contains(src) {
			return Inbound
		}
		if p.Contains(dst) {
			return Outbound
		}
	}
	if len(t.cfg.TrunkDomains) > 0 {
		fromHost, toHost := sip.Host(m.from.URI), sip.Host(m.to.URI)
		for _, d := range t.cfg.TrunkDomains {
			if strings.EqualFold(fromHost, d) {
				return Inbound
			}
			if strings.EqualFold(toHost, d) {
				return Outbound
			}
		}
	}
	callerExt, calleeExt := c.From.Extension != "", c.To.Extension != ""
	callerPub, calleePub := c.From.E164 != "", c.To.E164 != ""
	switch {
	case callerExt && calleeExt:
		return Internal
	case callerExt && calleePub:
		return Outbound
	case callerPub && calleeExt:
		return Inbound
	case callerPub && !calleePub && !calleeExt:
		return Inbound
	case calleePub && !callerPub && !callerExt:
		return Outbound
	}
	return Unknown
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

// end finishes a call now.
func (t *Tracker) end(c *Call, reason string) { t.endAt(c, reason, t.now) }

// endAt finishes a call at the given time.
func (t *Tracker) endAt(c *Call, reason string, at time.Time) {
	if c.state == stateEnded {
		return
	}
	c.state, c.pending = stateEnded, ""
	c.End = Time{at}
	c.EndReason = reason
	if reason == "" {
		c.EndReason = "unknown"
	}
	c.endedAt = t.now
	c.unsupportedCodecs()
	t.nActive--
	t.ended = append(t.ended, c)
	if len(t.ended) > t.cfg.MaxCalls { // a flood of short calls: keep the newest
		t.forget(t.ended[0])
		t.ended[0] = nil
		t.ended = t.ended[1:]
	}
	t.stats.CallsEnded++
	t.emit(Event{Kind: CallEnded, Time: t.now, Call: c})
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

func callHash(callID string, at time.Time) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%d", callID, at.UnixNano())
	return fmt.Sprintf("c%012x", h.Sum64()&0xffffffffffff)
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
