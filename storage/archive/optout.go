package archive

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"callrec/storage/index"
)

// Opt-out modes: what happens to the audio recorded before the request.
const (
	OptOutDiscard = "discard" // crypto-shredded: not one byte of the call's audio survives (the default)
	OptOutStop    = "stop"    // kept up to the request, for practices whose DPIA says so
)

// OptOut records, in the archive, that a call was opted out of recording
// during the call: the call keeps its metadata (parties, times, who asked,
// when and by which trigger) and is flagged opted_out; in discard mode its
// recording is crypto-shredded (its data key overwritten and synced, then
// the file removed), in stop mode it is kept as it was closed. It is
// audited before anything changes, and it is done, durably, when OptOut
// returns. The recorder must have closed the recording first (in the
// daemon, the pipeline's OptOut does). A call opted out already is
// ErrAlreadyOptedOut; a call with no record yet (not answered) carries the
// flag into its record when it comes.
func (a *Archive) OptOut(acc Access, id string, o index.OptOut) error {
	if err := acc.check(); err != nil {
		return err
	}
	if o.Mode != OptOutDiscard && o.Mode != OptOutStop {
		return fmt.Errorf("archive: opt-out mode %q: %q or %q", o.Mode, OptOutDiscard, OptOutStop)
	}
	if r, err := a.index.Get(id); err == nil && r.OptOut != nil {
		return fmt.Errorf("%w (%s, by %s, %s)", ErrAlreadyOptedOut, r.OptOut.At.Local().Format("15:04:05"), r.OptOut.By, r.OptOut.Trigger)
	}
	if err := a.audit(acc.Who, "optout", id, fmt.Sprintf("%s [trigger %s, mode %s]", acc.Why, o.Trigger, o.Mode)); err != nil {
		return err
	}
	done := make(chan error, 1)
	a.do(func() { done <- a.optOut(id, o) }) // after the recording's own writes and close
	return <-done
}

// optOut runs on the disk worker.
func (a *Archive) optOut(id string, o index.OptOut) error {
	r, err := a.index.Get(id)
	if errors.Is(err, index.ErrNotFound) {
		if len(a.early) < maxEarlyFlags {
			a.early[id] = mergeFlags(a.early[id], []string{index.FlagOptedOut})
		}
		return nil
	}
	if err != nil {
		return err
	}
	if r.OptOut != nil {
		return ErrAlreadyOptedOut
	}
	r.OptOut = &o
	r.Flags = mergeFlags(r.Flags, []string{index.FlagOptedOut})
	if o.Mode == OptOutDiscard {
		if r.Recording.State.HasAudio() {
			if err := a.vault.Shred(id); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("archive: opt-out %s: %w", id, err)
			}
		}
		r.Recording = index.Recording{State: index.StateOptedOut, Duration: r.Recording.Duration,
			Bitrate: r.Recording.Bitrate, Channels: r.Recording.Channels}
		delete(a.metaDirty, id)
	} else {
		a.metaDirty[id] = true
	}
	if err := a.index.Put(r); err != nil {
		return fmt.Errorf("archive: opt-out %s: %w", id, err)
	}
	return nil
}

// OptedOut says whether a call was opted out (for a call that continues
// one after a restart, or a transfer's new leg). A record that cannot be
// read says yes: a wish not to be recorded is not overridden by a fault.
func (a *Archive) OptedOut(id string) bool {
	r, err := a.index.Get(id)
	switch {
	case errors.Is(err, index.ErrNotFound):
		return false
	case err != nil:
		return true
	}
	return r.OptOut != nil || slices.Contains(r.Flags, index.FlagOptedOut)
}
