package track

import (
	"log/slog"
	"net/netip"
	"time"

	"callrec/recorder/capture"
	"callrec/recorder/sip"
)

// Config classifies calls and bounds the tracker; a zero field takes the
// default.
type Config struct {
	Plan         sip.NumberPlan
	TrunkPeers   []netip.Prefix // addresses of the ITSP's SIP trunk
	TrunkDomains []string       // SIP domains of the trunk
	IdleTimeout  time.Duration  // no SIP and no RTP: the call ends (default 60 s)
	MaxCalls     int            // active calls (default 10000)
	// MaxEarly bounds calls that have had no response and no media (an
	// INVITE and nothing since: a flood of bogus INVITEs looks like this).
	// They are evicted first, oldest first, so a call that has been
	// answered, or rings, or carries audio is never evicted by signalling
	// (default 4096).
	MaxEarly       int
	MaxCandidates  int // unannounced RTP flows under watch (default 4096)
	MaxFingerprint int // recent SIP messages kept for de-duplication (default 65536)
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
	if c.MaxEarly == 0 {
		c.MaxEarly = 4096
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
	maxRecent       = 64               // calls between the same parties watched for B2BUA legs
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
	// FromCaller: the DTMF digit was sent by the call's caller (false: by
	// the callee).
	FromCaller bool
}

// Stats counts what the tracker has seen.
type Stats struct {
	SIPMessages   uint64
	SIPErrors     uint64 // unparseable, or without Call-ID or CSeq
	Duplicates    uint64 // the same message seen again (another hop, a retransmission)
	SDPErrors     uint64
	RTPPackets    uint64 // audio counted against a call
	SRTPDecrypted uint64 // SRTP packets decrypted with SDES keys
	SRTPFailed    uint64 // SRTP packets that could not be decrypted: dropped
	ZRTPPackets   uint64 // ZRTP key agreement seen in a call's media
	VideoPackets  uint64 // video of a call: counted, not recorded
	RTPLate       uint64 // arrived for a call that had ended
	RTCPPackets   uint64
	NotRTP        uint64 // UDP that is neither SIP nor RTP
	Candidates    uint64 // unannounced flows watched
	CallsStarted  uint64
	CallsEnded    uint64
	CallsEvicted  uint64 // ended early because MaxCalls was reached
	EarlyEvicted  uint64 // calls with no response and no media ended to make room (of CallsEvicted)
	CallsResumed  uint64 // calls followed again after the recorder restarted
	DroppedFlows  uint64 // unannounced flows forgotten by the bound
	ClockJumps    uint64 // capture timestamps that leapt forward and were ignored
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
	early    []*Call          // calls admitted with no response and no media, oldest first (lazily pruned)
	nEarly   int              // calls in early that are still early and have not ended
	byCallID map[string]*Call // SIP Call-ID → its call (ended ones until pruned)
	ended    []*Call          // ended, kept a while for late messages
	media    map[netip.AddrPort]mediaRef
	recent   map[string][]*Call // calls just started, by parties: candidates for B2BUA legs
	flows    map[flowPair]*candidate
	order    []flowPair // candidates in order of arrival, for evicting the oldest
	refers   []pendingRefer
	dedup    dedup
	lastTick time.Time
	plain    []byte // the last decrypted SRTP packet, valid during OnRTP

	dormant      map[string]*dormant           // resumed dialogs not yet heard from, by Call-ID
	dormantMedia map[netip.AddrPort][]*dormant // and by media address

	lastEvictWarn time.Time
}

// New returns a tracker.
func New(cfg Config, log *slog.Logger) *Tracker {
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Tracker{
		cfg:          cfg,
		log:          log,
		byCallID:     make(map[string]*Call),
		media:        make(map[netip.AddrPort]mediaRef),
		flows:        make(map[flowPair]*candidate),
		recent:       make(map[string][]*Call),
		dormant:      map[string]*dormant{},
		dormantMedia: map[netip.AddrPort][]*dormant{},
		dedup:        newDedup(cfg.MaxFingerprint),
	}
}

// Stats returns the counters so far.
func (t *Tracker) Stats() Stats { return t.stats }

// Now is the capture clock: the time of the last packet or tick.
func (t *Tracker) Now() time.Time { return t.now }

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
//
// A new call that has had no response and no media yet joins the early
// calls: their own budget (MaxEarly) is made room in by ending the oldest
// of them, and a full table ends one of them before any other call.
func (t *Tracker) admit(c *Call) {
	if c.state == stateTrying {
		for t.nEarly >= t.cfg.MaxEarly && t.evictEarly() {
		}
	}
	for t.nActive >= t.cfg.MaxCalls && len(t.active) > 0 {
		if t.evictEarly() {
			continue
		}
		old := t.active[0]
		t.active[0] = nil
		t.active = t.active[1:]
		if old.state != stateEnded {
			t.stats.CallsEvicted++
			t.end(old, "evicted")
			t.warnEvicted()
		}
	}
	t.active = append(t.active, c)
	t.nActive++
	if c.state == stateTrying {
		c.early = true
		t.early = append(t.early, c)
		t.nEarly++
	}
}

// evictEarly ends the oldest early call still early, if there is one:
// O(1) amortised, as calls that left the early list are skipped once.
func (t *Tracker) evictEarly() bool {
	for len(t.early) > 0 {
		c := t.early[0]
		t.early[0] = nil
		t.early = t.early[1:]
		if c.early && c.state != stateEnded {
			t.stats.CallsEvicted++
			t.stats.EarlyEvicted++
			t.end(c, "evicted")
			t.warnEvicted()
			return true
		}
	}
	return false
}

// heard takes a call out of the early calls: a response, or media, shows
// it is a call someone is part of.
func (t *Tracker) heard(c *Call) {
	if c.early {
		c.early = false
		t.nEarly--
	}
	c.responded = true
}

// warnEvicted logs that the call table overflowed, at most once a
// minute of capture time, with the count so far.
func (t *Tracker) warnEvicted() {
	if !t.lastEvictWarn.IsZero() && t.now.Sub(t.lastEvictWarn) < time.Minute {
		return
	}
	t.lastEvictWarn = t.now
	t.log.Warn("call table full: the oldest calls were ended early", "evicted_total", t.stats.CallsEvicted, "max_calls", t.cfg.MaxCalls)
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
	for k, cs := range t.recent {
		keep := cs[:0]
		for _, c := range cs {
			if t.now.Sub(c.Start.Time) <= b2buaWindow {
				keep = append(keep, c)
			}
		}
		clear(cs[len(keep):])
		if len(keep) == 0 {
			delete(t.recent, k)
		} else {
			t.recent[k] = keep
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
	t.expireDormant()
}

// forget drops an ended call's Call-IDs and addresses.
func (t *Tracker) forget(c *Call) {
	for _, id := range c.SIPCallIDs {
		if t.byCallID[id] == c {
			delete(t.byCallID, id)
		}
	}
	for _, l := range c.Legs {
		for _, streams := range [][]*Stream{l.Media, l.Video} {
			for _, s := range streams {
				t.unmap(s.CallerAddr, s)
				t.unmap(s.CalleeAddr, s)
			}
		}
	}
}

// end finishes a call now.
func (t *Tracker) end(c *Call, reason string) { t.endAt(c, reason, t.now) }

// endAt finishes a call at the given time.
func (t *Tracker) endAt(c *Call, reason string, at time.Time) {
	if c.state == stateEnded {
		return
	}
	c.state, c.pending = stateEnded, ""
	if c.early {
		c.early = false
		t.nEarly--
	}
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
