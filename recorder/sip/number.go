package sip

import (
	"fmt"
	"log/slog"
	"regexp"
	"strings"
)

// NumberPlan says how the practice's numbers look, to tell extensions from
// public numbers and to write public numbers in E.164 form.
type NumberPlan struct {
	Country       string         // country code without +; default "44"
	OutsidePrefix string         // digit(s) dialled for an outside line, e.g. "9"; default none
	Extension     *regexp.Regexp // matches internal extensions; default 2 to 5 digits
}

var defaultExtension = regexp.MustCompile(`^[0-9]{2,5}$`)

func (p NumberPlan) country() string {
	if p.Country == "" {
		return "44"
	}
	return p.Country
}

func (p NumberPlan) extension() *regexp.Regexp {
	if p.Extension == nil {
		return defaultExtension
	}
	return p.Extension
}

// clean removes the visual separators of a dialled number; it returns ""
// for anything that is not a number (a name, "anonymous").
func clean(user string) string {
	var b strings.Builder
	for i := 0; i < len(user); i++ {
		switch c := user[i]; {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == '+' && b.Len() == 0:
			b.WriteByte(c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return ""
		}
	}
	return b.String()
}

// IsExtension reports whether a URI user part is an internal extension.
func (p NumberPlan) IsExtension(user string) bool {
	n := clean(user)
	return n != "" && !strings.HasPrefix(n, "+") && p.extension().MatchString(n)
}

// E164 returns a public number in E.164 form ("+441632960001"), or "" for
// an extension, a name or anything too short or long to be one.
func (p NumberPlan) E164(user string) string {
	n := clean(user)
	if n == "" || p.IsExtension(n) {
		return ""
	}
	var digits string
	switch {
	case strings.HasPrefix(n, "+"):
		digits = n[1:]
	case p.OutsidePrefix != "" && strings.HasPrefix(n, p.OutsidePrefix) && len(n)-len(p.OutsidePrefix) >= 7:
		return p.E164(n[len(p.OutsidePrefix):])
	case strings.HasPrefix(n, "00"):
		digits = n[2:]
	case strings.HasPrefix(n, "0"):
		digits = p.country() + n[1:]
	case len(n) >= 11:
		digits = n // international without the +
	case len(n) >= 7:
		digits = p.country() + n // national number without the trunk prefix
	default:
		return ""
	}
	if len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return ""
	}
	return "+" + digits
}

// Number is a phone number that logs itself redacted: only its last three
// digits, because a full number identifies a patient.
type Number string

// LogValue implements slog.LogValuer.
func (n Number) LogValue() slog.Value {
	s := string(n)
	if len(s) <= 3 {
		return slog.StringValue(strings.Repeat("*", len(s)))
	}
	return slog.StringValue(fmt.Sprintf("…%s", s[len(s)-3:]))
}
