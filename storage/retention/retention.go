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
	Failed   int
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
		if _, held := p.Index.Held(r.ID); held {
			res.Held++
			continue
		}
		if err := p.Vault.Shred(r.ID); err != nil && !errors.Is(err, os.ErrNotExist) {
			res.Failed++
			p.Log.Error("purge failed", "call_id", r.ID, "err", err)
			continue
		}
		r.Purged = now
		r.Recording.State = "shredded"
		if err := p.Index.Put(r); err != nil {
			res.Failed++
			p.Log.Error("purge: tombstone not written", "call_id", r.ID, "err", err)
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
