package track

import (
	"strings"

	"callrec/recorder/sip"
)

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
