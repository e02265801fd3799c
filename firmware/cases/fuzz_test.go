package cases_test

import (
	"strings"
	"testing"

	"callrec/firmware/cases"
)

// FuzzNumbers: what a Head of IG types as a person's numbers gives E.164
// numbers and extensions, or an error; never a panic, never anything
// else.
func FuzzNumbers(f *testing.F) {
	for _, s := range []string{"01632 960001\n201", "+44 1632 960001, 202;9", "anonymous", "", "\n\n,", "(01632) 960-001"} {
		f.Add(s)
	}
	svc := cases.New(cases.Config{})
	f.Fuzz(func(t *testing.T, typed string) {
		nums, exts, err := svc.Numbers(typed)
		if err != nil {
			if nums != nil || exts != nil {
				t.Fatalf("an error with results: %v %v", nums, exts)
			}
			return
		}
		for _, n := range nums {
			if !strings.HasPrefix(n, "+") || strings.Trim(n[1:], "0123456789") != "" {
				t.Fatalf("%q gave number %q", typed, n)
			}
		}
		for _, e := range exts {
			if strings.Trim(e, "0123456789") != "" {
				t.Fatalf("%q gave extension %q", typed, e)
			}
		}
	})
}
