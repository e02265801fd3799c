package archive

import (
	"errors"
	"fmt"
	"io/fs"

	"callrec/storage/index"
)

// Erase crypto-shreds a call's recording inside its retention, as an
// erasure case asks (an objection upheld): its data key is overwritten
// and synced, then the file removed; the record stays, its audio state
// "erased", with its times, parties and the SHA-256 of what was destroyed.
// acc.Why is the case and the reason. A held call is refused (index.ErrHeld),
// and so is one whose holds cannot be read; a call without audio is
// ErrNoAudio (or why it has none). The erasure is audited before anything
// changes, and done, durably, when Erase returns. It returns the record
// as it was.
func (a *Archive) Erase(acc Access, id string) (*index.Record, error) {
	if err := acc.check(); err != nil {
		return nil, err
	}
	r, err := a.index.Get(id)
	if err != nil {
		return nil, err
	}
	if hs, err := a.index.Holds(id); err != nil || len(hs) > 0 {
		if err == nil {
			err = fmt.Errorf("call %s: %w (%d holds)", id, index.ErrHeld, len(hs))
		}
		a.audit(acc.Who, "erase-refused", id, fmt.Sprintf("%s [%v]", acc.Why, err))
		return nil, err
	}
	switch {
	case !r.Purged.IsZero():
		return nil, fmt.Errorf("%w: call %s", ErrPurged, id)
	case r.Recording.State == index.StateErased:
		return nil, fmt.Errorf("%w (call %s)", ErrErased, id)
	case r.Recording.State == index.StateOptedOut:
		return nil, fmt.Errorf("%w (call %s)", ErrOptedOut, id)
	case !r.Recording.State.HasAudio():
		return nil, fmt.Errorf("%w: call %s", ErrNoAudio, id)
	case r.Recording.State == index.StateRecording:
		return nil, fmt.Errorf("archive: erase %s: the call is being recorded now: opt it out instead", id)
	}
	if err := a.audit(acc.Who, "erase", id, acc.Why); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	var before *index.Record
	a.do(func() {
		var err error
		before, err = a.index.Erase(id, func() error {
			if err := a.vault.Shred(id); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			return nil
		})
		delete(a.metaDirty, id)
		done <- err
	})
	if err := <-done; err != nil {
		a.audit(acc.Who, "erase-failed", id, fmt.Sprintf("%s [%v]", acc.Why, err))
		return nil, fmt.Errorf("archive: erase %s: %w", id, err)
	}
	return before, nil
}
