package sip

import (
	"strconv"
	"strings"
)

// Address is a name-addr or addr-spec header value (From, To, Contact,
// P-Asserted-Identity, Refer-To…).
type Address struct {
	Display string
	URI     string            // "sip:alice@example.com;user=phone"
	Params  map[string]string // header parameters after the URI (tag, …)
}

// ParseAddress parses `"Alice" <sip:alice@host>;tag=x` or `sip:alice@host;tag=x`.
func ParseAddress(v string) Address {
	var a Address
	v = strings.TrimSpace(v)
	var params string
	if lt := strings.IndexByte(v, '<'); lt >= 0 {
		gt := strings.IndexByte(v[lt:], '>')
		if gt < 0 {
			a.URI = strings.TrimSpace(v[lt+1:])
		} else {
			a.URI = v[lt+1 : lt+gt]
			params = v[lt+gt+1:]
		}
		a.Display = strings.Trim(strings.TrimSpace(v[:lt]), `"`)
	} else {
		// Without <>, parameters after the URI belong to the header.
		uri, p, _ := strings.Cut(v, ";")
		a.URI, params = strings.TrimSpace(uri), ";"+p
	}
	for _, p := range strings.Split(params, ";") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, val, _ := strings.Cut(p, "=")
		if a.Params == nil {
			a.Params = make(map[string]string, 2)
		}
		a.Params[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(val), `"`)
	}
	return a
}

// Tag returns the tag parameter.
func (a Address) Tag() string { return a.Params["tag"] }

// User returns the user part of a sip:, sips: or tel: URI, without
// parameters: "sip:+441632960001@host" gives "+441632960001".
func User(uri string) string {
	u := uri
	if i := strings.IndexByte(u, ':'); i >= 0 && i < 5 {
		scheme := strings.ToLower(u[:i])
		u = u[i+1:]
		if scheme == "tel" {
			u, _, _ = strings.Cut(u, ";")
			return u
		}
	}
	at := strings.LastIndexByte(u, '@')
	if at < 0 {
		return ""
	}
	u = u[:at]
	u, _, _ = strings.Cut(u, ";")
	u, _, _ = strings.Cut(u, ":") // user:password
	return u
}

// Host returns the host part of a SIP URI, without port or parameters.
func Host(uri string) string {
	u := uri
	if i := strings.IndexByte(u, ':'); i >= 0 && i < 5 {
		u = u[i+1:]
	}
	if at := strings.LastIndexByte(u, '@'); at >= 0 {
		u = u[at+1:]
	}
	u, _, _ = strings.Cut(u, ";")
	u, _, _ = strings.Cut(u, "?")
	if strings.HasPrefix(u, "[") {
		if e := strings.IndexByte(u, ']'); e > 0 {
			return u[1:e]
		}
	}
	u, _, _ = strings.Cut(u, ":")
	return strings.ToLower(u)
}

// URIHeaders returns the ?name=value headers embedded in a URI (Refer-To
// carries Replaces this way), unescaped.
func URIHeaders(uri string) map[string]string {
	_, q, ok := strings.Cut(uri, "?")
	if !ok {
		return nil
	}
	out := map[string]string{}
	for _, kv := range strings.Split(q, "&") {
		k, v, _ := strings.Cut(kv, "=")
		out[strings.ToLower(k)] = unescape(v)
	}
	return out
}

func unescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// CSeq returns the sequence number and method of a CSeq value.
func CSeq(v string) (uint32, string) {
	num, method, _ := strings.Cut(strings.TrimSpace(v), " ")
	n, _ := strconv.ParseUint(strings.TrimSpace(num), 10, 32)
	return uint32(n), strings.ToUpper(strings.TrimSpace(method))
}

// Replaces is the value of a Replaces header (RFC 3891).
type Replaces struct {
	CallID, ToTag, FromTag string
}

// ParseReplaces parses "callid;to-tag=x;from-tag=y".
func ParseReplaces(v string) Replaces {
	parts := strings.Split(v, ";")
	r := Replaces{CallID: strings.TrimSpace(parts[0])}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "to-tag":
			r.ToTag = val
		case "from-tag":
			r.FromTag = val
		}
	}
	return r
}
