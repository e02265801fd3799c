// Package privacy keeps phone numbers from those who may not see them:
// the web page's auditors and the technician's console see the last three
// digits only.
package privacy

import (
	"regexp"
	"strings"
)

// digitsRun is a run of digits that may be a phone number, with the
// separators people write in one (not '-' or ':': dates and times stay).
var digitsRun = regexp.MustCompile(`[+0-9][0-9 ()+]{5,}[0-9]`)

// MaskNumbers hides phone numbers in text but their last three digits:
// auditors and technicians see who did what, never whom a call was with.
func MaskNumbers(s string) string {
	return digitsRun.ReplaceAllStringFunc(s, func(n string) string {
		d := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, n)
		if len(d) < 7 {
			return n
		}
		return strings.Repeat("•", len(d)-3) + d[len(d)-3:]
	})
}
