package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"callrec/storage/index"
	"callrec/storage/retention"
	"callrec/storage/vault"
)

// Access says who is reaching the recordings and why: every access is
// audited with both.
type Access struct {
	Who string // the person or account
	Why string // the purpose: a SAR reference, a complaint, …
}

// check refuses an access that does not say who and why: an audit entry
// without them accounts for nothing.
func (acc Access) check() error {
	switch {
	case strings.TrimSpace(acc.Who) == "":
		return fmt.Errorf("%w: who is missing", ErrNoAccountable)
	case strings.TrimSpace(acc.Why) == "":
		return fmt.Errorf("%w: why is missing (a SAR reference, a complaint number…)", ErrNoAccountable)
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
	f, err := a.Find(acc, q, "")
	return f.Records, err
}

// Find is Search that says how far it looked; more describes filters
// beyond q's lookup terms, for the audit entry.
func (a *Archive) Find(acc Access, q index.Query, more string) (index.Found, error) {
	if err := acc.check(); err != nil {
		return index.Found{}, err
	}
	f, err := a.index.Search(q)
	if err != nil {
		return index.Found{}, err
	}
	terms := fmt.Sprintf("number=%q extension=%q from=%q to=%q", q.Number, q.Extension, timeTerm(q.From), timeTerm(q.To))
	if more != "" {
		terms += " " + more
	}
	if err := a.audit(acc.Who, "search", terms, fmt.Sprintf("%s [%d calls found]", acc.Why, len(f.Records))); err != nil {
		return index.Found{}, err
	}
	return f, nil
}

// Call returns one call's record; looking at it is an access, audited
// ("view") before it is returned.
func (a *Archive) Call(acc Access, id string) (*index.Record, error) {
	if err := acc.check(); err != nil {
		return nil, err
	}
	r, err := a.index.Get(id)
	if err != nil {
		return nil, err
	}
	if err := a.audit(acc.Who, "view", id, acc.Why); err != nil {
		return nil, err
	}
	return r, nil
}

// CheckRecording checks one call's recording as Verify does: it opens to
// its final chunk, is the file the index recorded, and matches the
// index's SHA-256. partial is true while it is being written.
func (a *Archive) CheckRecording(id string) (partial bool, err error) {
	r, err := a.index.Get(id)
	if err != nil {
		return false, err
	}
	rd, partial, err := a.openFile(r, true)
	if err != nil {
		return false, err
	}
	return partial, rd.Close()
}

// LastPurge is when this process last ran the retention purge whole (zero
// if it has not).
func (a *Archive) LastPurge() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastPurge
}

// Audit writes an audit entry for an action outside the archive's own
// (a sign-in, a confirmation of a private setting, a note).
func (a *Archive) Audit(who, action, target, why string) error {
	return a.audit(who, action, target, why)
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
// decrypted stream. Whether the recording is whole comes from the vault
// file itself (its authenticated final chunk, and its header's file id,
// which must be the one the index recorded), never from index fields
// alone: a recording without its final chunk is exported, as partial,
// only while a process is writing it. A finished recording must also
// match the SHA-256 in the index; it is checked before a byte is written.
// The export is audited before any audio leaves, and is refused without
// its audit entry; an export that fails after the access was allowed is
// audited as failed.
func (a *Archive) Export(acc Access, id string, w io.Writer) (ex Exported, err error) {
	au, err := a.openAudio(acc, id, "export")
	if err != nil {
		return ex, err
	}
	defer au.Close()
	ex = Exported{Bytes: au.Stream, Partial: au.Partial}
	if _, err := io.Copy(w, au); err != nil {
		err = fmt.Errorf("archive: export %s: %w", id, err)
		a.exportFailed(acc, id, true, err)
		return ex, err
	}
	return ex, nil
}

// Audio is a recording opened to be streamed or saved: the MP3 file (the
// tag frame, then the decrypted stream), readable at any offset, so a
// player can seek (HTTP Range) without the whole file being decrypted.
type Audio struct {
	*io.SectionReader
	Record  *index.Record
	Stream  int64 // MP3 stream bytes, without the tag frame
	Partial bool  // still being written: what is complete so far
	rd      *vault.Reader
}

// Close closes the vault file.
func (au *Audio) Close() error { return au.rd.Close() }

// Play opens a recording to be streamed to a listener, who is audited
// with the reason (acc.Why) before a byte is read; the same checks as
// Export apply.
func (a *Archive) Play(acc Access, id string) (*Audio, error) { return a.openAudio(acc, id, "play") }

// Download opens a recording to be saved as a file (an export), audited
// with its reason before a byte is read.
func (a *Archive) Download(acc Access, id string) (*Audio, error) {
	return a.openAudio(acc, id, "export")
}

// openAudio opens a recording and audits the access as action; a refusal, or
// an access that cannot be audited, is audited as failed.
func (a *Archive) openAudio(acc Access, id, action string) (au *Audio, err error) {
	if err := acc.check(); err != nil {
		return nil, err
	}
	audited := false
	defer func() {
		if err != nil {
			a.exportFailed(acc, id, audited, err)
		}
	}()
	r, rd, partial, err := a.openRecording(id)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			rd.Close()
		}
	}()
	au = &Audio{Record: r, Stream: rd.Size(), Partial: partial, rd: rd}
	why := acc.Why
	if partial {
		why += fmt.Sprintf(" [partial: recording in progress, %d bytes]", au.Stream)
	}
	if err := a.audit(acc.Who, action, id, why); err != nil {
		return nil, err
	}
	audited = true
	var tag []byte
	if a.cfg.Format != nil {
		if tag, err = a.cfg.Format.InfoFrame(r.Recording, au.Stream); err != nil {
			return nil, fmt.Errorf("archive: %s %s: %w", action, id, err)
		}
	}
	au.SectionReader = io.NewSectionReader(prefixed{tag, rd}, 0, int64(len(tag))+au.Stream)
	return au, nil
}

// prefixed reads head, then r, as one.
type prefixed struct {
	head []byte
	r    io.ReaderAt
}

func (p prefixed) ReadAt(b []byte, off int64) (int, error) {
	n := 0
	if off < int64(len(p.head)) {
		n = copy(b, p.head[off:])
		if n == len(b) {
			return n, nil
		}
	}
	m, err := p.r.ReadAt(b[n:], off+int64(n)-int64(len(p.head)))
	return n + m, err
}

// exportFailed audits an export that did not complete: after its own
// entry (the audio may have partly left), or refused before it.
func (a *Archive) exportFailed(acc Access, id string, audited bool, cause error) {
	when := "refused"
	if audited {
		when = "failed after it began"
	}
	if err := a.audit(acc.Who, "export-failed", id, fmt.Sprintf("%s [%s: %v]", acc.Why, when, cause)); err != nil {
		a.log.Error("failed export not audited", "call_id", id, "err", err)
	}
}

// openRecording opens a call's recording for reading and says whether it
// is in progress. The vault decides what is whole: a file with its final
// chunk is (and must match the index's hash, if the index has one); a
// file without is read up to its last complete chunk only while its
// writer holds it; otherwise it was cut short, and is refused.
func (a *Archive) openRecording(id string) (r *index.Record, rd *vault.Reader, partial bool, err error) {
	if r, err = a.index.Get(id); err != nil {
		return nil, nil, false, err
	}
	rd, partial, err = a.openFile(r, false)
	return r, rd, partial, err
}

func (a *Archive) openFile(r *index.Record, fresh bool) (rd *vault.Reader, partial bool, err error) {
	id := r.ID
	switch {
	case !r.Purged.IsZero():
		return nil, false, fmt.Errorf("%w: call %s on %s", ErrPurged, id, r.Purged.Format("2006-01-02"))
	case r.Recording.State == index.StateOptedOut:
		return nil, false, fmt.Errorf("%w (call %s)", ErrOptedOut, id)
	case r.Recording.State == index.StateErased:
		return nil, false, fmt.Errorf("%w (call %s)", ErrErased, id)
	case !r.Recording.State.HasAudio():
		return nil, false, fmt.Errorf("%w: call %s", ErrNoAudio, id)
	}
	f, err := a.vault.OpenPartial(id)
	if err != nil {
		return nil, false, err
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	rd = f
	if r.Recording.FileID != "" && rd.FileID() != r.Recording.FileID {
		return nil, false, fmt.Errorf("%w: call %s: the vault file is another recording's", ErrHashMismatch, id)
	}
	switch {
	case rd.Complete():
		if r.Recording.SHA256 == "" {
			return rd, false, nil // closed a moment ago; the index is being updated
		}
		if !fresh && a.wasVerified(id, rd.FileID(), r.Recording.SHA256) {
			return rd, false, nil
		}
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(rd, 0, rd.Size())); err != nil {
			return nil, false, err
		}
		if hex.EncodeToString(h.Sum(nil)) != r.Recording.SHA256 {
			return nil, false, fmt.Errorf("%w: call %s", ErrHashMismatch, id)
		}
		a.verified(id, rd.FileID(), r.Recording.SHA256)
		return rd, false, nil
	case a.vault.InUse(id):
		return rd, true, nil
	default:
		return nil, false, fmt.Errorf("archive: call %s: %w: it has no final chunk and nothing is writing it (if the box lost power, the daemon closes it at its next start; otherwise the file was cut)", id, vault.ErrTruncated)
	}
}

// A recording whose whole file matched its SHA-256 once is not hashed
// again on every open (a player's Range requests would hash an hour-long
// call each time): the same vault file id, in a file whose chunks all
// authenticate and which ends in its final chunk, cannot hold other
// bytes. The memo is this process's only, and bounded.
func (a *Archive) wasVerified(id, fileID, sum string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return fileID != "" && a.checked[id] == fileID+"/"+sum
}

func (a *Archive) verified(id, fileID, sum string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.checked == nil || len(a.checked) >= 4096 {
		a.checked = map[string]string{}
	}
	a.checked[id] = fileID + "/" + sum
}

// ExportFile exports a recording to a new file at path, private (0600),
// never through a link: it is written to a temporary file made afresh
// beside path, then linked into place, which fails if path exists (a
// file, or a symlink planted there). force replaces an existing path
// atomically instead (the link, not what it points to); see place. A
// failed export is audited as failed and leaves no file.
func (a *Archive) ExportFile(acc Access, id, path string, force bool) (Exported, error) {
	var ex Exported
	if err := acc.check(); err != nil {
		return ex, err
	}
	if !force {
		if _, err := os.Lstat(path); err == nil {
			return ex, fmt.Errorf("archive: export: %s exists (give -force to replace it): %w", path, fs.ErrExist)
		}
	}
	f, err := pendingFile(path)
	if err != nil {
		return ex, fmt.Errorf("archive: export: %w", err)
	}
	defer f.Cleanup()
	if ex, err = a.Export(acc, id, f); err != nil {
		return ex, err // Export audited the failure
	}
	if err := place(f, path, force); err != nil {
		err = fmt.Errorf("archive: export: %w", err)
		a.exportFailed(acc, id, true, err)
		return ex, err
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

// Verify checks every recording against the vault and the index: it
// decrypts and authenticates to its final chunk, is the file the index
// recorded, matches the index's hash, and nothing is missing or extra.
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
		rd, partial, err := a.openFile(r, true)
		if err == nil {
			rd.Close()
			if partial {
				continue // being written by the daemon now
			}
		}
		rep.Checked++
		if err != nil {
			rep.Problems = append(rep.Problems, Problem{r.ID, err})
		}
	}
	for _, id := range files {
		if onDisk[id] {
			rep.Problems = append(rep.Problems, Problem{id, errNotIndexed})
		}
	}
	return rep, nil
}

// Hold puts a call under a legal hold: it is never purged or shredded
// while any hold remains. acc.Why is the reason. A call may have several
// holds; each is released on its own. It returns the hold, with its id.
func (a *Archive) Hold(acc Access, id string) (index.Hold, error) {
	if err := acc.check(); err != nil {
		return index.Hold{}, err
	}
	h, err := a.index.AddHold(id, index.Hold{Reason: acc.Why, By: acc.Who, At: a.cfg.Now().UTC()})
	if err != nil {
		return h, err
	}
	if err := a.audit(acc.Who, "hold", id, fmt.Sprintf("%s [hold %s]", acc.Why, h.ID)); err != nil {
		return h, err
	}
	a.saveMeta(id)
	return h, nil
}

// Release lifts one of a call's legal holds: holdID, or the only one when
// holdID is "". acc.Why, the reason for releasing, is required. An
// unknown call or hold is an error; so is "" on a call with several.
func (a *Archive) Release(acc Access, id, holdID string) (index.Hold, error) {
	if err := acc.check(); err != nil {
		return index.Hold{}, err
	}
	h, err := a.index.ReleaseHold(id, holdID)
	if err != nil {
		return h, err
	}
	if err := a.audit(acc.Who, "release", id, fmt.Sprintf("%s [hold %s: %s]", acc.Why, h.ID, h.Reason)); err != nil {
		return h, err
	}
	a.saveMeta(id)
	return h, nil
}

// Holds returns a call's legal holds, oldest first.
func (a *Archive) Holds(id string) ([]index.Hold, error) { return a.index.Holds(id) }

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

// AuditHead is the audit log's head: its last entry's number and keyed
// hash, as kept outside the index. Written down elsewhere (the daemon logs
// it daily; the status page shows it), it proves a later rollback.
func (a *Archive) AuditHead() (index.Head, error) { return a.index.AuditHead() }

// LogAuditHead logs the audit log's head now and then every interval
// until ctx is done: the log lines, kept by syslog or a log collector off
// the box, are the outside record that proves a later rollback.
func (a *Archive) LogAuditHead(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		switch h, err := a.AuditHead(); {
		case errors.Is(err, fs.ErrNotExist):
			a.log.Info("audit head", "seq", 0)
		case err != nil:
			a.log.Error("audit head unreadable", "err", err)
		default:
			a.log.Info("audit head", "seq", h.Seq, "hash", h.Hash)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// VerifyAudit checks the audit log's chain and its head; it returns how
// many entries it checked.
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
			a.mu.Lock()
			a.lastPurge = a.cfg.Now()
			a.mu.Unlock()
			a.log.Info("retention purge", "shredded", res.Shredded, "held", res.Held, "kept_young", res.Young, "failed", res.Failed)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
