package privacy

import (
	"regexp"
	"strings"
	"testing"
)

func TestMaskNumbers(t *testing.T) {
	for in, want := range map[string]string{
		`number="+441632960001" extension=""`: `number="•••••••••001" extension=""`,
		"call 07700 900123 about billing":     "call ••••••••123 about billing",
		"extension 201, 3 calls found":        "extension 201, 3 calls found",
		"hold h1a2b3c4d":                      "hold h1a2b3c4d",
		`from="2026-11-27T09:00:00Z"`:         `from="2026-11-27T09:00:00Z"`,
	} {
		if got := MaskNumbers(in); got != want {
			t.Errorf("MaskNumbers(%q) = %q, want %q", in, got, want)
		}
	}
}

var longDigits = regexp.MustCompile(`[0-9]{4,}`)

// FuzzMaskNumbers: whatever the text, no run of digits long enough to
// identify a number survives masking, and masking is stable.
func FuzzMaskNumbers(f *testing.F) {
	f.Add(`number="+441632960001"`)
	f.Add("07700 900123 (ext 201)")
	f.Add("+44 (0) 1632-960-001")
	f.Fuzz(func(t *testing.T, s string) {
		m := MaskNumbers(s)
		if MaskNumbers(m) != m {
			t.Fatalf("masking is not stable: %q → %q", s, m)
		}
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			if r == ' ' || r == '(' || r == ')' || r == '+' {
				return -1
			}
			return 'x'
		}, m)
		for _, run := range longDigits.FindAllString(digits, -1) {
			if len(run) >= 7 {
				t.Fatalf("%q masked to %q still holds %s", s, m, run)
			}
		}
	})
}
