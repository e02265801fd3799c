package track

import (
	"net/netip"
	"slices"
	"time"

	"callrec/recorder/sip"
)

// Direction is which way a call crosses the practice's boundary.
type Direction string

const (
	Inbound  Direction = "inbound"  // from outside to the practice
	Outbound Direction = "outbound" // from the practice to outside
	Internal Direction = "internal" // between extensions
	Unknown  Direction = "unknown"
)

// Time formats as RFC 3339 with milliseconds in JSON.
type Time struct{ time.Time }

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.UTC().Format("2006-01-02T15:04:05.000Z07:00") + `"`), nil
}

// Party is one end of a call as SIP names it.
type Party struct {
	Raw       string `json:"raw"`                 // the URI user part as signalled
	E164      string `json:"e164"`                // "" for extensions and names
	Extension string `json:"extension,omitempty"` // set for internal extensions
	Name      string `json:"name,omitempty"`      // display name
}

// Call is one recorded unit: a SIP dialog (or the legs of one dialog seen
// on both sides of a B2BUA), or an unsignalled media flow.
type Call struct {
	ID             string    `json:"id"`
	ConversationID string    `json:"conversation_id"`
	SIPCallIDs     []string  `json:"sip_call_ids"`
	Start          Time      `json:"start"`
	Answered       Time      `json:"answered"`
	End            Time      `json:"end"`
	EndReason      string    `json:"end_reason"`
	Direction      Direction `json:"direction"`
	From           Party     `json:"from"`
	To             Party     `json:"to"`
	Numbers        []string  `json:"numbers"` // every E.164 number seen in any leg
	Legs           []*Leg    `json:"legs"`
	Video          bool      `json:"video"`
	Flags          []string  `json:"flags"`
	Continues      string    `json:"continues,omitempty"` // the call this continues after a restart

	state        callState
	early        bool // admitted with no response and no media, and still so
	responded    bool // the callee side answered anything, or media flowed
	lastActivity time.Time
	endedAt      time.Time // when the call entered a final state
	pending      string    // a CANCEL or final failure not yet believed: forking and
	pendingAt    time.Time // reordering at the tap can put a 2xx after it
}

// Leg is one SIP dialog of a call with its media streams.
type Leg struct {
	CallID  string         `json:"call_id"`
	FromTag string         `json:"from_tag,omitempty"`
	ToTag   string         `json:"to_tag,omitempty"`
	Caller  netip.AddrPort `json:"caller_signalling"`
	Callee  netip.AddrPort `json:"callee_signalling"`
	Media   []*Stream      `json:"media"`
	Video   []*Stream      `json:"video,omitempty"` // counted, never recorded

	call        *Call
	early       map[string][]mediaOffer // callee SDP of each early dialog, by to-tag
	initialCSeq uint32
	challenged  bool   // a 401 or 407 answered the INVITE; a retry follows
	continued   bool   // a B2BUA's next leg was joined to this one
	sessionID   string // RFC 7989 Session-ID of the INVITE, for B2BUA joins
	callerUser  string // From and To user parts of the initial INVITE
	calleeUser  string
}

// Stream is one audio m= line of a leg: where each side receives, and
// what flowed.
type Stream struct {
	Index          int            `json:"index"`          // audio (or video) line number within the SDP
	Kind           string         `json:"kind,omitempty"` // "video", or "" for audio
	CallerAddr     netip.AddrPort `json:"caller_addr"`
	CalleeAddr     netip.AddrPort `json:"callee_addr"`
	Codecs         []string       `json:"codecs"` // negotiated, preferred first
	CallerToCallee uint64         `json:"packets_caller_to_callee"`
	CalleeToCaller uint64         `json:"packets_callee_to_caller"`
	Held           bool           `json:"held"`
	Crypto         bool           `json:"srtp"`
	KeyExchange    string         `json:"key_exchange,omitempty"` // sdes, dtls, zrtp, mikey, srtp

	leg         *Leg
	pts         map[uint8]string // payload type → codec name, from both sides
	rates       map[uint8]sip.Codec
	callerDir   sip.Direction
	calleeDir   sip.Direction
	answered    bool        // the initial offer and answer are done: changes are re-negotiation
	answerCodec string      // the first codec of the callee's latest SDP
	keys        [2][]string // a=crypto lines of the caller and the callee (SDES), never logged
	srtp        [2]decrypter
	seenPT      [2]uint64 // bit per payload type seen in RTP
	lastDTMF    [2]uint32 // RTP timestamp of the last telephone-event reported, per sender (0: callee, 1: caller)
	lastEvent   [2]byte   // and its event code
	dtmfAny     [2]bool
}

type callState uint8

const (
	stateTrying    callState = iota // INVITE seen, no final response
	stateAuth                       // challenged (401/407): a new INVITE may follow
	stateConfirmed                  // 2xx seen
	stateEnded
)

func (c *Call) flag(f string) {
	for _, x := range c.Flags {
		if x == f {
			return
		}
	}
	c.Flags = append(c.Flags, f)
}

func (c *Call) addNumber(n string) {
	if n == "" {
		return
	}
	for _, x := range c.Numbers {
		if x == n {
			return
		}
	}
	c.Numbers = append(c.Numbers, n)
}

func (c *Call) hasCallID(id string) bool {
	for _, x := range c.SIPCallIDs {
		if x == id {
			return true
		}
	}
	return false
}

// Codec returns what SDP says payload type pt is on this stream (a static
// type if SDP does not name it), and whether it is known.
func (s *Stream) Codec(pt uint8) (sip.Codec, bool) {
	if c, ok := s.rates[pt]; ok {
		return c, true
	}
	return sip.StaticCodec(pt)
}

// Leg returns the leg the stream belongs to.
func (s *Stream) Leg() *Leg { return s.leg }

// Call returns the call the leg belongs to.
func (l *Leg) Call() *Call { return l.call }

// CryptoKeys returns the SDES a=crypto lines each side offered, for SRTP
// decryption. They are secrets: never log or print them.
func (s *Stream) CryptoKeys() (caller, callee []string) { return s.keys[0], s.keys[1] }

// Responded reports whether anything answered the call: a response from
// the callee's side, or media. A call that never responded (an INVITE and
// nothing since) is an attempt, not a conversation.
func (c *Call) Responded() bool { return c.responded || !c.Answered.IsZero() }

// Ended reports whether the call is over.
func (c *Call) Ended() bool { return c.state == stateEnded }

// Snapshot copies what is known of the call now, for reading on another
// goroutine while the tracker goes on changing the call.
func (c *Call) Snapshot() Call {
	s := Call{ID: c.ID, ConversationID: c.ConversationID, SIPCallIDs: slices.Clone(c.SIPCallIDs),
		Start: c.Start, Answered: c.Answered, End: c.End, EndReason: c.EndReason, Direction: c.Direction,
		From: c.From, To: c.To, Numbers: slices.Clone(c.Numbers), Video: c.Video, Flags: slices.Clone(c.Flags), Continues: c.Continues}
	for _, l := range c.Legs {
		lc := &Leg{CallID: l.CallID, FromTag: l.FromTag, ToTag: l.ToTag, Caller: l.Caller, Callee: l.Callee}
		copyStreams := func(from []*Stream) []*Stream {
			var out []*Stream
			for _, st := range from {
				sc := *st
				sc.leg, sc.pts, sc.rates, sc.keys, sc.srtp = lc, nil, nil, [2][]string{}, [2]decrypter{}
				sc.Codecs = slices.Clone(st.Codecs)
				out = append(out, &sc)
			}
			return out
		}
		lc.Media, lc.Video = copyStreams(l.Media), copyStreams(l.Video)
		s.Legs = append(s.Legs, lc)
	}
	return s
}
