package cases

import (
	"errors"
	"testing"
	"time"
)

func d(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDue(t *testing.T) {
	for _, tt := range []struct{ received, want, why string }{
		{"2026-03-10", "2026-04-10", "the same date next month (a Friday)"},
		{"2026-01-31", "2026-03-02", "31 January: no 31 February, so 28 February, a Saturday: Monday 2 March"},
		{"2028-01-31", "2028-02-29", "31 January in a leap year: 29 February, a Tuesday"},
		{"2028-01-29", "2028-02-29", "29 January in a leap year"},
		{"2027-01-29", "2027-03-01", "29 January: 28 February 2027 is a Sunday: Monday 1 March"},
		{"2026-11-25", "2026-12-29", "25 December, then Boxing Day's substitute on the 28th: the 29th"},
		{"2026-03-06", "2026-04-07", "6 April 2026 is Easter Monday: Tuesday 7 April"},
		{"2026-03-03", "2026-04-07", "3 April 2026 is Good Friday, then the weekend and Easter Monday"},
		{"2025-04-30", "2025-05-30", "30 May 2025, a Friday"},
		{"2026-07-31", "2026-09-01", "31 August 2026 is the Summer bank holiday"},
		{"2026-12-01", "2027-01-04", "1 January 2027 is a bank holiday (a Friday), then the weekend"},
	} {
		got, err := Due(d(tt.received))
		want := d(tt.want)
		if err != nil || !got.Equal(want) {
			t.Errorf("Due(%s) = %s, %v; want %s (%s)", tt.received, got.Format(time.DateOnly), err, want.Format(time.DateOnly), tt.why)
		}
	}
	if _, err := Due(d("2031-02-01")); !errors.Is(err, ErrOutOfTable) {
		t.Errorf("Due beyond the table = %v", err)
	}
	if _, err := Due(d("2030-12-15")); !errors.Is(err, ErrOutOfTable) {
		t.Errorf("a due date in 2031 = %v, want ErrOutOfTable", err)
	}
}

func TestExtended(t *testing.T) {
	got, err := Extended(d("2026-01-31"), Extension{Months: 2, Reason: "numerous calls", Told: d("2026-02-20")})
	if err != nil || !got.Equal(d("2026-04-30")) {
		t.Errorf("Extended = %s, %v; want 30 April (31 April does not exist)", got.Format(time.DateOnly), err)
	}
	if _, err := Extended(d("2026-01-10"), Extension{Months: 3, Reason: "x", Told: d("2026-01-20")}); !errors.Is(err, ErrExtension) {
		t.Errorf("three months = %v", err)
	}
	if _, err := Extended(d("2026-01-10"), Extension{Months: 1, Told: d("2026-01-20")}); !errors.Is(err, ErrExtension) {
		t.Errorf("no reason = %v", err)
	}
	if _, err := Extended(d("2026-01-10"), Extension{Months: 1, Reason: "x", Told: d("2026-02-20")}); !errors.Is(err, ErrToldLate) {
		t.Errorf("told after the first month = %v", err)
	}
}

// TestBankHolidayTable checks the table against the rules that make it:
// New Year's Day, Good Friday and Easter Monday (from Easter, by the
// anonymous Gregorian algorithm), the first and last Mondays of May, the
// last Monday of August, Christmas and Boxing Day, with substitute days
// for weekends. 2024 to 2030 have no one-off changes.
func TestBankHolidayTable(t *testing.T) {
	want := map[string]bool{}
	for y := firstYear; y <= lastYear; y++ {
		date := func(m time.Month, dd int) time.Time { return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC) }
		weekday := func(t time.Time) time.Time { // the next weekday, for a substitute
			for t.Weekday() == time.Saturday || t.Weekday() == time.Sunday {
				t = t.AddDate(0, 0, 1)
			}
			return t
		}
		firstMonday := func(m time.Month) time.Time {
			t := date(m, 1)
			for t.Weekday() != time.Monday {
				t = t.AddDate(0, 0, 1)
			}
			return t
		}
		lastMonday := func(m time.Month) time.Time {
			t := date(m+1, 1).AddDate(0, 0, -1)
			for t.Weekday() != time.Monday {
				t = t.AddDate(0, 0, -1)
			}
			return t
		}
		a, b, c := y%19, y/100, y%100
		dd, e := b/4, b%4
		f := (b + 8) / 25
		g := (b - f + 1) / 3
		h := (19*a + b - dd - g + 15) % 30
		i, k := c/4, c%4
		l := (32 + 2*e + 2*i - h - k) % 7
		m := (a + 11*h + 22*l) / 451
		easter := date(time.Month((h+l-7*m+114)/31), (h+l-7*m+114)%31+1)
		christmas := weekday(date(time.December, 25))
		boxing := weekday(christmas.AddDate(0, 0, 1))
		for _, t := range []time.Time{weekday(date(time.January, 1)), easter.AddDate(0, 0, -2), easter.AddDate(0, 0, 1),
			firstMonday(time.May), lastMonday(time.May), lastMonday(time.August), christmas, boxing} {
			want[t.Format(time.DateOnly)] = true
		}
	}
	for k := range want {
		if _, ok := bankHolidays[k]; !ok {
			t.Errorf("the table lacks %s", k)
		}
	}
	for k := range bankHolidays {
		if !want[k] {
			t.Errorf("the table has %s, which the rules do not make", k)
		}
	}
}
