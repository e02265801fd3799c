package track

import (
	"net/netip"
	"slices"
	"time"

	"callrec/recorder/sip"
)

// Dialog is what the tracker must remember of a call in progress to
// follow it again after the recorder restarts: the identity of its SIP
// dialogs, its parties and its media addresses. It holds no SRTP key:
// keys stay in memory, so an SRTP call resumes undecryptable until a
// re-INVITE brings new keys.
type Dialog struct {
	ID             string      `json:"id"`
	ConversationID string      `json:"conversation_id"`
	SIPCallIDs     []string    `json:"sip_call_ids"`
	Direction      Direction   `json:"direction"`
	From           Party       `json:"from"`
	To             Party       `json:"to"`
	Numbers        []string    `json:"numbers"`
	Flags          []string    `json:"flags"`
	Video          bool        `json:"video"`
	Legs           []DialogLeg `json:"legs"`
}

// DialogLeg is one SIP dialog of a Dialog.
type DialogLeg struct {
	CallID  string         `json:"call_id"`
	FromTag string         `json:"from_tag"`
	ToTag   string         `json:"to_tag"`
	Caller  netip.AddrPort `json:"caller"`
	Callee  netip.AddrPort `json:"callee"`
	Media   []DialogMedia  `json:"media"`
	Video   []DialogMedia  `json:"video,omitempty"`
}

// DialogMedia is one stream's addresses and payload types.
type DialogMedia struct {
	CallerAddr netip.AddrPort `json:"caller_addr"`
	CalleeAddr netip.AddrPort `json:"callee_addr"`
	Codecs     []sip.Codec    `json:"codecs"`
	Held       bool           `json:"held,omitempty"`
}

// Dialog returns what must be remembered of the call to resume it.
func (c *Call) Dialog() Dialog {
	d := Dialog{ID: c.ID, ConversationID: c.ConversationID, SIPCallIDs: slices.Clone(c.SIPCallIDs), Direction: c.Direction,
		From: c.From, To: c.To, Numbers: slices.Clone(c.Numbers), Flags: slices.Clone(c.Flags), Video: c.Video}
	media := func(ss []*Stream) []DialogMedia {
		var out []DialogMedia
		for _, st := range ss {
			m := DialogMedia{CallerAddr: st.CallerAddr, CalleeAddr: st.CalleeAddr, Held: st.Held}
			for _, cd := range st.rates {
				m.Codecs = append(m.Codecs, cd)
			}
			slices.SortFunc(m.Codecs, func(a, b sip.Codec) int { return int(a.PT) - int(b.PT) })
			out = append(out, m)
		}
		return out
	}
	for _, l := range c.Legs {
		d.Legs = append(d.Legs, DialogLeg{CallID: l.CallID, FromTag: l.FromTag, ToTag: l.ToTag, Caller: l.Caller, Callee: l.Callee,
			Media: media(l.Media), Video: media(l.Video)})
	}
	return d
}

// dormant is a resumed dialog not yet heard from.
type dormant struct {
	d     Dialog
	until time.Time
}

// Resume hands the tracker the calls that were in progress when the
// recorder stopped. Each stays dormant until a SIP message of one of its
// dialogs or a packet to one of its media addresses shows it is still
// going; it then continues as a new call: part two of the same
// conversation, with the same parties, flagged "restarted", linked to the
// first part (Continues) and ended by its own BYE. A dialog not heard from
// within the idle timeout is forgotten.
func (t *Tracker) Resume(ds []Dialog, at time.Time) {
	for _, d := range ds {
		z := &dormant{d: d, until: at.Add(t.cfg.IdleTimeout)}
		for _, id := range d.SIPCallIDs {
			t.dormant[id] = z
		}
		for _, l := range d.Legs {
			for _, m := range append(slices.Clone(l.Media), l.Video...) {
				for _, a := range []netip.AddrPort{m.CallerAddr, m.CalleeAddr} {
					if a.IsValid() && a.Port() != 0 {
						t.dormantMedia[a] = append(t.dormantMedia[a], z)
					}
				}
			}
		}
	}
}

// wakeByCallID continues a dormant call whose dialog a SIP message names.
func (t *Tracker) wakeByCallID(callID string) *Call {
	z := t.dormant[callID]
	if z == nil {
		return nil
	}
	return t.wake(z)
}

// wakeByMedia continues a dormant call whose media a packet uses: with
// exact, only one with a stream joining both of the packet's addresses
// (where several calls share an address, a media server or a test tool,
// this is the one); else any with either address.
func (t *Tracker) wakeByMedia(src, dst netip.AddrPort, exact bool) bool {
	var best *dormant
	for _, z := range append(slices.Clone(t.dormantMedia[dst]), t.dormantMedia[src]...) {
		if z.joins(src, dst) {
			best = z
			break
		}
		if best == nil && !exact {
			best = z
		}
	}
	if best == nil {
		return false
	}
	t.wake(best)
	return true
}

// joins reports whether one of the dialog's streams has a and b as its
// two ends.
func (z *dormant) joins(a, b netip.AddrPort) bool {
	for _, l := range z.d.Legs {
		for _, m := range append(slices.Clone(l.Media), l.Video...) {
			if (m.CallerAddr == a && m.CalleeAddr == b) || (m.CallerAddr == b && m.CalleeAddr == a) {
				return true
			}
		}
	}
	return false
}

// wake makes a dormant dialog a call again, from now.
func (t *Tracker) wake(z *dormant) *Call {
	t.forgetDormant(z)
	d := z.d
	t.stats.CallsStarted++
	t.stats.CallsResumed++
	c := &Call{
		ID:             newID(),
		ConversationID: d.ConversationID,
		SIPCallIDs:     slices.Clone(d.SIPCallIDs),
		Start:          Time{t.now},
		Direction:      d.Direction,
		From:           d.From,
		To:             d.To,
		Numbers:        slices.Clone(d.Numbers),
		Flags:          slices.Clone(d.Flags),
		Video:          d.Video,
		Continues:      d.ID,
		state:          stateConfirmed,
		responded:      true,
		lastActivity:   t.now,
	}
	if c.Numbers == nil {
		c.Numbers = []string{}
	}
	c.flag("restarted")
	for _, dl := range d.Legs {
		l := &Leg{CallID: dl.CallID, FromTag: dl.FromTag, ToTag: dl.ToTag, Caller: dl.Caller, Callee: dl.Callee,
			call: c, early: map[string][]mediaOffer{}, Media: []*Stream{}}
		for i, m := range dl.Media {
			l.Media = append(l.Media, t.resumeStream(l, i, "", m))
		}
		for i, m := range dl.Video {
			l.Video = append(l.Video, t.resumeStream(l, i, "video", m))
		}
		c.Legs = append(c.Legs, l)
	}
	for _, id := range c.SIPCallIDs {
		t.byCallID[id] = c
	}
	t.admit(c)
	t.emit(Event{Kind: CallStarted, Time: t.now, Call: c, Detail: "restarted"})
	return c
}

func (t *Tracker) resumeStream(l *Leg, i int, kind string, m DialogMedia) *Stream {
	st := &Stream{Index: i, Kind: kind, leg: l, CallerAddr: m.CallerAddr, CalleeAddr: m.CalleeAddr, Held: m.Held,
		pts: map[uint8]string{}, rates: map[uint8]sip.Codec{}, Codecs: []string{}, answered: true,
		callerDir: sip.SendRecv, calleeDir: sip.SendRecv}
	for _, cd := range m.Codecs {
		st.pts[cd.PT], st.rates[cd.PT] = cd.Name, cd
		if !slices.Contains(st.Codecs, cd.Name) {
			st.Codecs = append(st.Codecs, cd.Name)
		}
	}
	for s, a := range map[side]netip.AddrPort{callerSide: m.CallerAddr, calleeSide: m.CalleeAddr} {
		if a.IsValid() && a.Port() != 0 && !a.Addr().IsUnspecified() {
			t.media[a] = mediaRef{stream: st, receiver: s}
		}
	}
	return st
}

// forgetDormant drops a dormant dialog's entries.
func (t *Tracker) forgetDormant(z *dormant) {
	for k, v := range t.dormant {
		if v == z {
			delete(t.dormant, k)
		}
	}
	for k, zs := range t.dormantMedia {
		if zs = slices.DeleteFunc(zs, func(x *dormant) bool { return x == z }); len(zs) == 0 {
			delete(t.dormantMedia, k)
		} else {
			t.dormantMedia[k] = zs
		}
	}
}

// expireDormant forgets dormant dialogs not heard from in time.
func (t *Tracker) expireDormant() {
	for _, m := range []map[string]*dormant{t.dormant} {
		for k, z := range m {
			if t.now.After(z.until) {
				delete(m, k)
			}
		}
	}
	for k, zs := range t.dormantMedia {
		if zs = slices.DeleteFunc(zs, func(z *dormant) bool { return t.now.After(z.until) }); len(zs) == 0 {
			delete(t.dormantMedia, k)
		} else {
			t.dormantMedia[k] = zs
		}
	}
}
