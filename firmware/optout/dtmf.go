package optout

import (
	"strings"
	"time"

	"callrec/recorder/track"
)

// Codes watches each call's DTMF digits for the opt-out code (default
// "*9"), from the practice's side only: a caller keying digits into a
// menu opts nothing out. Digits come from RFC 4733 events, SIP INFO and
// in-band tones alike; one key sent two ways at once counts once. The
// digits are kept only in memory, only as many as the code is long, and
// never logged or stored. It runs on the capture goroutine.
type Codes struct {
	code string
	fire func(callID, who string)
	seqs map[string]*keyed // by call and side
}

type keyed struct {
	digits string
	last   time.Time
}

// Gap is the longest pause between a code's digits.
const Gap = 3 * time.Second

// NewCodes watches for code; fire is called, on the capture goroutine,
// with the call and who keyed it (it must not block: hand the opt-out to
// another goroutine).
func NewCodes(code string, fire func(callID, who string)) *Codes {
	return &Codes{code: code, fire: fire, seqs: map[string]*keyed{}}
}

// practiceSide says whether the party that sent a digit is the practice:
// the callee of an inbound call, the caller of an outbound one, either of
// an internal one. A call of unknown direction has no practice side.
func practiceSide(d track.Direction, fromCaller bool) bool {
	switch d {
	case track.Internal:
		return true
	case track.Outbound:
		return fromCaller
	case track.Inbound:
		return !fromCaller
	}
	return false
}

// Digit takes one digit of a call.
func (k *Codes) Digit(c *track.Call, digit string, fromCaller bool, at time.Time) {
	if k.code == "" || !practiceSide(c.Direction, fromCaller) {
		return
	}
	id := c.ID + "/callee" // each side keys its own code
	if fromCaller {
		id = c.ID + "/caller"
	}
	s := k.seqs[id]
	if s == nil {
		s = &keyed{}
		k.seqs[id] = s
	}
	if at.Sub(s.last) > Gap {
		s.digits = ""
	}
	if strings.HasSuffix(s.digits, digit) && at.Sub(s.last) < 250*time.Millisecond {
		return // the same key seen again by another way (RFC 4733 and in-band tones)
	}
	s.last = at
	s.digits += digit
	if len(s.digits) > len(k.code) {
		s.digits = s.digits[len(s.digits)-len(k.code):]
	}
	if s.digits == k.code {
		s.digits = ""
		who := "the practice side"
		p := c.To
		if fromCaller {
			p = c.From
		}
		if p.Extension != "" {
			who = "extension " + p.Extension
		}
		k.fire(c.ID, who)
	}
}

// Ended forgets a call.
func (k *Codes) Ended(c *track.Call) {
	delete(k.seqs, c.ID+"/caller")
	delete(k.seqs, c.ID+"/callee")
}
