// Package cases holds the Head of Information Governance's casework:
// subject access requests, requests from the police and other bodies,
// and erasures. This file is the ICO's clock for a subject access request.
package cases

import (
	"errors"
	"fmt"
	"time"
)

// bankHolidays are England and Wales's bank holidays, 2024 to 2030, as
// GOV.UK publishes them (with substitute days when one falls at a
// weekend). A test checks the table against the rules that make it.
var bankHolidays = map[string]string{
	"2024-01-01": "New Year's Day", "2024-03-29": "Good Friday", "2024-04-01": "Easter Monday", "2024-05-06": "Early May bank holiday",
	"2024-05-27": "Spring bank holiday", "2024-08-26": "Summer bank holiday", "2024-12-25": "Christmas Day", "2024-12-26": "Boxing Day",
	"2025-01-01": "New Year's Day", "2025-04-18": "Good Friday", "2025-04-21": "Easter Monday", "2025-05-05": "Early May bank holiday",
	"2025-05-26": "Spring bank holiday", "2025-08-25": "Summer bank holiday", "2025-12-25": "Christmas Day", "2025-12-26": "Boxing Day",
	"2026-01-01": "New Year's Day", "2026-04-03": "Good Friday", "2026-04-06": "Easter Monday", "2026-05-04": "Early May bank holiday",
	"2026-05-25": "Spring bank holiday", "2026-08-31": "Summer bank holiday", "2026-12-25": "Christmas Day", "2026-12-28": "Boxing Day (substitute day)",
	"2027-01-01": "New Year's Day", "2027-03-26": "Good Friday", "2027-03-29": "Easter Monday", "2027-05-03": "Early May bank holiday",
	"2027-05-31": "Spring bank holiday", "2027-08-30": "Summer bank holiday", "2027-12-27": "Christmas Day (substitute day)", "2027-12-28": "Boxing Day (substitute day)",
	"2028-01-03": "New Year's Day (substitute day)", "2028-04-14": "Good Friday", "2028-04-17": "Easter Monday", "2028-05-01": "Early May bank holiday",
	"2028-05-29": "Spring bank holiday", "2028-08-28": "Summer bank holiday", "2028-12-25": "Christmas Day", "2028-12-26": "Boxing Day",
	"2029-01-01": "New Year's Day", "2029-03-30": "Good Friday", "2029-04-02": "Easter Monday", "2029-05-07": "Early May bank holiday",
	"2029-05-28": "Spring bank holiday", "2029-08-27": "Summer bank holiday", "2029-12-25": "Christmas Day", "2029-12-26": "Boxing Day",
	"2030-01-01": "New Year's Day", "2030-04-19": "Good Friday", "2030-04-22": "Easter Monday", "2030-05-06": "Early May bank holiday",
	"2030-05-27": "Spring bank holiday", "2030-08-26": "Summer bank holiday", "2030-12-25": "Christmas Day", "2030-12-26": "Boxing Day",
}

// Years the bank-holiday table covers.
const firstYear, lastYear = 2024, 2030

// ErrOutOfTable is a date beyond the bank-holiday table: the box cannot
// tell a working day there, and says so rather than guess.
var ErrOutOfTable = fmt.Errorf("cases: bank holidays are known for %d to %d only", firstYear, lastYear)

func day(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }

// workingDay says whether a day is neither a weekend nor a bank holiday.
func workingDay(t time.Time) bool {
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	_, holiday := bankHolidays[t.Format(time.DateOnly)]
	return !holiday
}

// addMonths is the same date n months on, or that month's last day if it
// has no such date (31 January + 1 month is 28 or 29 February).
func addMonths(t time.Time, n int) time.Time {
	first := time.Date(t.Year(), t.Month()+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(t.Day(), last), 0, 0, 0, 0, time.UTC)
}

// nextWorkingDay is t, or the first working day after it.
func nextWorkingDay(t time.Time) (time.Time, error) {
	for !workingDay(t) {
		t = t.AddDate(0, 0, 1)
	}
	if t.Year() < firstYear || t.Year() > lastYear {
		return t, ErrOutOfTable
	}
	return t, nil
}

// Due is when a subject access request received on a day must be
// answered, by the ICO's rule: the same date in the next month (or that
// month's last day if there is none), moved to the next working day if it
// falls on a weekend or a bank holiday.
func Due(received time.Time) (time.Time, error) {
	r := day(received)
	if r.Year() < firstYear || r.Year() > lastYear {
		return time.Time{}, ErrOutOfTable
	}
	return nextWorkingDay(addMonths(r, 1))
}

// Extension lengthens the time to answer by up to two further months,
// for a complex or numerous request; the requester must be told, with the
// reason, within the first month.
type Extension struct {
	Months int       `json:"months"` // 1 or 2
	Reason string    `json:"reason"`
	Told   time.Time `json:"told"` // when the requester was told
}

// Errors of an extension.
var (
	ErrExtension = errors.New("cases: an extension is one or two months, with a reason")
	ErrToldLate  = errors.New("cases: the requester must be told of an extension within the first month")
)

// Extended is the due date of a request received on a day with an
// extension: the same rule, counted from the receipt, one month plus the
// extension's.
func Extended(received time.Time, e Extension) (time.Time, error) {
	if e.Months < 1 || e.Months > 2 || e.Reason == "" {
		return time.Time{}, ErrExtension
	}
	first, err := Due(received)
	if err != nil {
		return time.Time{}, err
	}
	if e.Told.IsZero() || day(e.Told).After(first) || day(e.Told).Before(day(received)) {
		return time.Time{}, ErrToldLate
	}
	return nextWorkingDay(addMonths(day(received), 1+e.Months))
}
