package retention

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"callrec/storage/index"
	"callrec/storage/vault"
)

// Purger shreds expired recordings.
type Purger struct {
	Vault     *vault.Vault
	Index     *index.Index
	Retention time.Duration
	Now       func() time.Time // the clock; a fake one in tests
	Log       *slog.Logger
}

// Result says what one purge did.
type Result struct {
	Shredded int
	Held     int // expired but under legal hold: kept
	Failed   int // not shredded: the shred failed, or the hold could not be read (kept: fail closed)
	Young    int // the call started before the cut-off, but its recording was made after it: kept
}

// Purge shreds every recording that started before now minus the
// retention period, except those under legal hold.
func (p *Purger) Purge() (Result, error) {
	var res Result
	now := p.Now()
	cutoff := now.Add(-p.Retention)
	old, err := p.Index.Find(index.Query{To: cutoff})
	if err != nil {
		return res, fmt.Errorf("retention: %w", err)
	}
	for _, r := range old {
		if !r.Purged.IsZero() {
			continue // a tombstone already
		}
		if r.Recording.State.HasAudio() {
			// The index's start is only where to look: the recording's own
			// authenticated creation time decides. A record edited to look
			// old, or an old call ingested today, is not shredded early.
			created, err := p.Vault.Created(r.ID)
			switch {
			case err != nil:
				res.Failed++
				p.Log.Error("purge: the recording's creation time is unreadable: kept", "call_id", r.ID, "err", err)
				continue
			case created.After(cutoff):
				res.Young++
				continue
			}
		}
		// The hold check, the shred and the tombstone are one transaction:
		// a hold placed meanwhile waits for it, and a hold that cannot be
		// read counts as a hold.
		err := p.Index.Purge(r.ID, now, func() error {
			if err := p.Vault.Shred(r.ID); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			return nil
		})
		switch {
		case errors.Is(err, index.ErrHeld):
			res.Held++
			continue
		case err != nil:
			res.Failed++
			p.Log.Error("purge failed: the recording is kept", "call_id", r.ID, "err", err)
			continue
		}
		if _, err := p.Index.Audit(index.Entry{Time: now, Who: "system", Action: "purge", Target: r.ID,
			Why: fmt.Sprintf("retention of %.1f years ended", p.Retention.Hours()/24/365.25)}); err != nil {
			return res, fmt.Errorf("retention: %w", err)
		}
		res.Shredded++
	}
	return res, nil
}
