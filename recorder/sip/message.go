package sip

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Message is one SIP request or response.
type Message struct {
	Method     string // requests: "INVITE", "BYE", …
	RequestURI string
	Status     int // responses: 100–699
	Reason     string
	Headers    []Header
	Body       []byte
	Truncated  bool // the body is shorter than Content-Length says
}

// Header is one header field, its name in canonical lower-case long form.
type Header struct {
	Name, Value string
}

// IsRequest reports whether m is a request.
func (m *Message) IsRequest() bool { return m.Method != "" }

// Get returns the first value of the named header (lower-case long form).
func (m *Message) Get(name string) string {
	for _, h := range m.Headers {
		if h.Name == name {
			return h.Value
		}
	}
	return ""
}

// Values returns every value of the named header, splitting comma-joined
// values where the header allows it (Via, Contact, Diversion…).
func (m *Message) Values(name string) []string {
	var out []string
	for _, h := range m.Headers {
		if h.Name == name {
			out = append(out, splitComma(h.Value)...)
		}
	}
	return out
}

// Errors returned by Parse.
var (
	ErrNotSIP    = errors.New("sip: not a SIP message")
	ErrNoHeaders = errors.New("sip: no end of headers")
)

// compact maps the compact header forms (RFC 3261 section 7.3.3 and later
// RFCs) to their long names.
var compact = map[string]string{
	"a": "accept-contact", "b": "referred-by", "c": "content-type", "d": "request-disposition",
	"e": "content-encoding", "f": "from", "i": "call-id", "j": "reject-contact", "k": "supported",
	"l": "content-length", "m": "contact", "n": "identity-info", "o": "event", "r": "refer-to",
	"s": "subject", "t": "to", "u": "allow-events", "v": "via", "x": "session-expires", "y": "identity",
}

// Parse parses one message. It accepts LF as well as CRLF line ends,
// folded header lines, compact header names and any letter case; the body
// is Content-Length bytes (or the rest of b when that header is absent).
func Parse(b []byte) (*Message, error) {
	b = bytes.TrimLeft(b, "\r\n")
	end, sep := bytes.Index(b, []byte("\r\n\r\n")), 4
	if lf := bytes.Index(b, []byte("\n\n")); lf >= 0 && (end < 0 || lf < end) {
		end, sep = lf, 2
	}
	head := b
	var body []byte
	if end >= 0 {
		head, body = b[:end], b[end+sep:]
	} else if !bytes.Contains(b, []byte("\n")) {
		return nil, ErrNoHeaders
	}
	// One copy of the header block; every string below is a slice of it.
	text := string(head)
	m := &Message{}
	line, rest, _ := strings.Cut(text, "\n")
	if err := m.startLine(strings.TrimRight(line, "\r")); err != nil {
		return nil, err
	}
	m.Headers = make([]Header, 0, 16)
	for rest != "" {
		line, rest, _ = strings.Cut(rest, "\n")
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && len(m.Headers) > 0 {
			// Folded continuation (RFC 3261 section 7.3.1).
			h := &m.Headers[len(m.Headers)-1]
			h.Value = h.Value + " " + strings.TrimSpace(line)
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue // not a header: skip it rather than lose the message
		}
		m.Headers = append(m.Headers, Header{Name: canonical(strings.TrimSpace(name)), Value: strings.TrimSpace(value)})
	}
	if cl := m.Get("content-length"); cl != "" {
		n, err := strconv.Atoi(cl)
		if err == nil && n >= 0 {
			if n > len(body) {
				m.Truncated = true
			} else {
				body = body[:n]
			}
		}
	}
	m.Body = body
	return m, nil
}

func (m *Message) startLine(l string) error {
	if rest, ok := strings.CutPrefix(l, "SIP/2.0 "); ok {
		code, reason, _ := strings.Cut(strings.TrimSpace(rest), " ")
		n, err := strconv.Atoi(code)
		if err != nil || n < 100 || n > 699 {
			return fmt.Errorf("%w: status %q", ErrNotSIP, code)
		}
		m.Status, m.Reason = n, reason
		return nil
	}
	method, rest, ok := strings.Cut(l, " ")
	uri, version, ok2 := strings.Cut(rest, " ")
	if !ok || !ok2 || !strings.EqualFold(strings.TrimSpace(version), "SIP/2.0") || !isToken(method) || uri == "" {
		return fmt.Errorf("%w: start line %q", ErrNotSIP, truncate(l, 64))
	}
	m.Method, m.RequestURI = strings.ToUpper(method), uri
	return nil
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-.!%*_+`'~", c) >= 0) {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// canonical lower-cases a header name and expands a compact form.
func canonical(name string) string {
	if len(name) == 1 {
		if long, ok := compact[strings.ToLower(name)]; ok {
			return long
		}
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(name)
		}
	}
	return name
}

// splitComma splits a header value at commas outside quotes and <>.
func splitComma(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"' && (i == 0 || v[i-1] != '\\'):
			quoted = !quoted
		case quoted:
		case c == '<':
			depth++
		case c == '>':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(v[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(v[start:]))
}

// LooksLikeSIP reports whether a datagram starts like a SIP message, to
// recognise SIP on any port by its content.
func LooksLikeSIP(b []byte) bool {
	b = bytes.TrimLeft(b, "\r\n")
	if bytes.HasPrefix(b, []byte("SIP/2.0 ")) {
		return true
	}
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		return false
	}
	l := bytes.TrimRight(b[:nl], "\r")
	sp := bytes.IndexByte(l, ' ')
	return sp > 0 && len(l) > sp+8 && bytes.EqualFold(l[len(l)-7:], []byte("SIP/2.0")) && l[len(l)-8] == ' '
}
