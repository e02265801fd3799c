package optout

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"callrec/storage/index"
)

// The do-not-record list: numbers whose calls are never recorded, each
// with the reason. Only their calls' metadata is kept, flagged. The list
// is kept in the index (sealed, like every value) and held in memory for
// the recorder, which asks at each call's first audio.

// Entry is one number on the list.
type Entry struct {
	Number string    `json:"number"` // E.164
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// Settings is where the list is kept (the index).
type Settings interface {
	Setting(name string, v any) (bool, error)
	PutSetting(name string, v any) error
	Audit(index.Entry) (index.Entry, error)
}

const settingDoNotRecord = "do_not_record"

// ErrNotListed is a removal of a number that is not on the list.
var ErrNotListed = errors.New("optout: the number is not on the do-not-record list")

// DoNotRecord is the list.
type DoNotRecord struct{ l *list[Entry] }

// LoadDoNotRecord reads the list. A list that cannot be read is not an
// empty list: until it reads, Listed says yes for every call (fail
// closed), and the error is returned.
func LoadDoNotRecord(store Settings) (*DoNotRecord, error) {
	l, err := loadList[Entry](store, settingDoNotRecord)
	if err != nil {
		err = fmt.Errorf("optout: the do-not-record list does not read: %w", err)
	}
	return &DoNotRecord{l}, err
}

// Listed says whether any of a call's numbers is on the list.
func (d *DoNotRecord) Listed(numbers []string) bool {
	listed := true
	d.l.read(func(es []Entry) error {
		listed = slices.ContainsFunc(es, func(e Entry) bool { return slices.Contains(numbers, e.Number) })
		return nil
	})
	return listed
}

// List returns the entries, in order of number.
func (d *DoNotRecord) List() []Entry { return d.l.all() }

// Add puts an E.164 number on the list with its reason (audited); a
// number already there gets the new reason.
func (d *DoNotRecord) Add(by, number, reason string) error {
	if !strings.HasPrefix(number, "+") || strings.TrimSpace(reason) == "" {
		return errors.New("optout: a do-not-record entry needs a number in E.164 and a reason")
	}
	return d.l.change(by, "dnr-add", number, reason, func(list []Entry) ([]Entry, error) {
		list = slices.DeleteFunc(list, func(e Entry) bool { return e.Number == number })
		list = append(list, Entry{Number: number, Reason: reason, By: by, At: time.Now().UTC()})
		slices.SortFunc(list, func(a, b Entry) int { return strings.Compare(a.Number, b.Number) })
		return list, nil
	})
}

// Remove takes a number off the list (audited with why).
func (d *DoNotRecord) Remove(by, number, why string) error {
	return d.l.change(by, "dnr-remove", number, why, func(list []Entry) ([]Entry, error) {
		n := len(list)
		list = slices.DeleteFunc(list, func(e Entry) bool { return e.Number == number })
		if len(list) == n {
			return nil, ErrNotListed
		}
		return list, nil
	})
}
