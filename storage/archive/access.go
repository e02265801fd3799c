package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"callrec/storage/index"
	"callrec/storage/retention"
)

// Access says who is reaching the recordings and why: every access is
// audited with both.
type Access struct {
	Who string // the person or account
	Why string // the purpose: a SAR reference, a complaint, …
}

func (acc Access) check() error {
	if strings.TrimSpace(acc.Who) == "" {
		return ErrNoAccountable
	}
	return nil
}

// audit writes an audit entry; no access goes ahead without one.
func (a *Archive) audit(who, action, target, why string) error {
	if _, err := a.index.Audit(index.Entry{Who: who, Action: action, Target: target, Why: why}); err != nil {
		return fmt.Errorf("archive: audit %s: %w", action, err)
	}
	return nil
}

// Search finds calls. A search reveals who called whom, so it is an access:
// the audit entry (who, the terms, why, how many were found) is written
// before anything is returned.
func (a *Archive) Search(acc Access, q index.Query) ([]*index.Record, error) {
	if err := acc.check(); err != nil {
		return nil, err
	}
	rs, err := a.index.Find(q)
	if err != nil {
		return nil, err
	}
	terms := fmt.Sprintf("number=%q extension=%q from=%q to=%q", q.Number, q.Extension, timeTerm(q.From), timeTerm(q.To))
	if err := a.audit(acc.Who, "search", terms, fmt.Sprintf("%s [%d calls found]", acc.Why, len(rs))); err != nil {
		return nil, err
	}
	return rs, nil
}

func timeTerm(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Exported says what an export wrote.
type Exported struct {
	Bytes   int64 // MP3 stream bytes (without the tag frame)
	Partial bool  // the recording was still being written: what is complete so far
}

// Export writes one recording as an MP3 file to w: the tag frame, then the
// decrypted stream. A finished recording must match the SHA-256 in the
// index; it is checked before a byte is written. The export is audited
// before any audio leaves, and is refused without its audit entry.
func (a *Archive) Export(acc Access, id string, w io.Writer) (Exported, error) {
	var ex Exported
	if err := acc.check(); err != nil {
		return ex, err
	}
	r, err := a.index.Get(id)
	if err != nil {
		return ex, err
	}
	switch {
	case !r.Purged.IsZero():
		return ex, fmt.Errorf("%w: call %s on %s", ErrPurged, id, r.Purged.Format("2006-01-02"))
	case !r.Recording.State.HasAudio():
		return ex, fmt.Errorf("%w: call %s", ErrNoAudio, id)
	}
	ex.Partial = r.Recording.State == index.StateRecording
	open := a.vault.Open
	if ex.Partial {
		open = a.vault.OpenPartial // the daemon is writing it: what is complete so far
	}
	rd, err := open(id)
	if err != nil {
		return ex, err
	}
	defer rd.Close()
	ex.Bytes = rd.Size()
	stream := io.NewSectionReader(rd, 0, ex.Bytes)
	if !ex.Partial {
		h := sha256.New()
		if _, err := io.Copy(h, stream); err != nil {
			return ex, err
		}
		if sum := hex.EncodeToString(h.Sum(nil)); r.Recording.SHA256 != "" && sum != r.Recording.SHA256 {
			return ex, fmt.Errorf("%w: call %s", ErrHashMismatch, id)
		}
	}
	why := acc.Why
	if ex.Partial {
		why += fmt.Sprintf(" [partial: recording in progress, %d bytes]", ex.Bytes)
	}
	if err := a.audit(acc.Who, "export", id, why); err != nil {
		return ex, err
	}
	if a.cfg.Format != nil {
		tag, err := a.cfg.Format.InfoFrame(r.Recording, ex.Bytes)
		if err != nil {
			return ex, fmt.Errorf("archive: export %s: %w", id, err)
		}
		if _, err := w.Write(tag); err != nil {
			return ex, fmt.Errorf("archive: export %s: %w", id, err)
		}
	}
	if _, err := io.Copy(w, io.NewSectionReader(rd, 0, ex.Bytes)); err != nil {
		return ex, fmt.Errorf("archive: export %s: %w", id, err)
	}
	return ex, nil
}

// Problem is one thing Verify found wrong.
type Problem struct {
	ID  string
	Err error
}

func (p Problem) String() string { return p.ID + ": " + p.Err.Error() }

// Report is what Verify found.
type Report struct {
	Checked  int
	Problems []Problem
}

var errNotIndexed = errors.New("in the vault but not in the index")

// Verify checks every recording against the index: it decrypts and
// authenticates, its hash matches, and nothing is missing or extra.
// Recordings being written are skipped.
func (a *Archive) Verify() (Report, error) {
	var rep Report
	files, err := a.vault.List()
	if err != nil {
		return rep, err
	}
	onDisk := map[string]bool{}
	for _, id := range files {
		onDisk[id] = true
	}
	rs, err := a.index.Find(index.Query{})
	if err != nil {
		return rep, err
	}
	for _, r := range rs {
		if !r.Recording.State.HasAudio() {
			continue
		}
		delete(onDisk, r.ID)
		if r.Recording.State == index.StateRecording {
			continue // being written by the daemon now
		}
		rep.Checked++
		sum, _, err := a.hashRecording(r.ID, false)
		switch {
		case err != nil:
			rep.Problems = append(rep.Problems, Problem{r.ID, err})
		case r.Recording.SHA256 != "" && sum != r.Recording.SHA256:
			rep.Problems = append(rep.Problems, Problem{r.ID, ErrHashMismatch})
		}
	}
	for _, id := range files {
		if onDisk[id] {
			rep.Problems = append(rep.Problems, Problem{id, errNotIndexed})
		}
	}
	return rep, nil
}

// Hold puts a call under legal hold: it is never purged or shredded while
// held. acc.Why is the reason, and is required.
func (a *Archive) Hold(acc Access, id string) error {
	if err := acc.check(); err != nil {
		return err
	}
	if strings.TrimSpace(acc.Why) == "" {
		return fmt.Errorf("%w: a hold needs its reason", ErrNoAccountable)
	}
	if err := a.index.SetHold(id, index.Hold{Reason: acc.Why, By: acc.Who, At: a.cfg.Now().UTC()}); err != nil {
		return err
	}
	return a.audit(acc.Who, "hold", id, acc.Why)
}

// Release lifts a call's legal hold.
func (a *Archive) Release(acc Access, id string) error {
	if err := acc.check(); err != nil {
		return err
	}
	if err := a.index.ReleaseHold(id); err != nil {
		return err
	}
	return a.audit(acc.Who, "release", id, acc.Why)
}

// AuditConfig writes an audit entry when the configuration in force
// differs from the one the daemon last started with: a change of
// configuration is audited like any other.
func (a *Archive) AuditConfig(cfg any) error {
	b, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("archive: audit config: %w", err)
	}
	sum := sha256.Sum256(b)
	digest := hex.EncodeToString(sum[:])
	entries, err := a.index.AuditLog()
	if err != nil {
		return err
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Action == "config" {
			if entries[i].Target == digest {
				return nil // unchanged
			}
			break
		}
	}
	return a.audit("system", "config", digest, "configuration in force at start: "+string(b))
}

// BySource returns the id of the call recorded from a wire source (see
// index.Record.Source), or "" when none is.
func (a *Archive) BySource(source string) (string, error) { return a.index.BySource(source) }

// AuditLog returns the audit log, oldest first.
func (a *Archive) AuditLog() ([]index.Entry, error) { return a.index.AuditLog() }

// VerifyAudit checks the audit log's chain; it returns how many entries
// it checked.
func (a *Archive) VerifyAudit() (int, error) { return a.index.VerifyAudit() }

// Purge shreds the recordings whose retention has ended, keeping their
// tombstones; held calls are kept.
func (a *Archive) Purge() (retention.Result, error) {
	p := &retention.Purger{Vault: a.vault, Index: a.index, Retention: a.cfg.Retention, Now: a.cfg.Now, Log: a.log}
	return p.Purge()
}

// RunPurge runs the retention purge now and then every interval until ctx
// is done.
func (a *Archive) RunPurge(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		return errors.New("archive: the purge interval must be positive")
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if res, err := a.Purge(); err != nil {
			a.log.Error("retention purge failed", "err", err)
		} else {
			a.log.Info("retention purge", "shredded", res.Shredded, "held", res.Held, "kept_young", res.Young, "failed", res.Failed)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
