package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"callrec/storage/index"
	"callrec/storage/vault"
)

// Rebuilt says what RebuildIndex did.
type Rebuilt struct {
	Recordings int       // recordings indexed again
	NoMeta     []string  // recordings without readable metadata: indexed from their vault file alone
	Unreadable []Problem // vault files that did not open: not indexed
	Recovered  []string  // recordings a crash had left open, closed first
	Holds      int       // legal holds restored
	Audit      int       // audit entries salvaged from the old index
	Accounts   int       // users, tokens, settings and notes salvaged from the old index
	AuditLost  uint64    // entries the audit head recorded beyond those salvaged
	Old        string    // where the old index file was kept ("" if there was none)
	NewKey     bool      // the old index key did not open: a new one was made
}

// flagNoMeta marks a call rebuilt from its vault file alone: its start is
// the recording's, and its parties are unknown.
const flagNoMeta = "rebuilt_without_metadata"

// RebuildIndex makes a new index.db from the vault alone, for an index
// that is damaged, of an older format, or lost: each recording's record
// and holds come from the metadata sealed beside it, its size, hash and
// completeness from the file itself. The old file is kept beside, renamed,
// never deleted, and what can be read of its audit log is carried over;
// the rebuild is audited. It takes the daemon lock: stop the daemon
// first. Calls without audio (unanswered, refused) and the tombstones of
// shredded recordings are not in the vault, and are not rebuilt.
func RebuildIndex(cfg Config, acc Access, log *slog.Logger) (Rebuilt, error) {
	var res Rebuilt
	if err := acc.check(); err != nil {
		return res, err
	}
	a, err := openVault(cfg, log)
	if err != nil {
		return res, err
	}
	log, keys := a.log, a.keys
	if err := a.Lock(); err != nil {
		return res, fmt.Errorf("archive: index rebuild: %w", err)
	}
	defer a.Close()
	if res.Recovered, err = a.vault.Recover(); err != nil {
		return res, err
	}

	key, err := readIndexKey(cfg.DataDir, keys)
	if err != nil {
		log.Warn("the index key does not open: the rebuilt index gets a new one, and the old audit log cannot be carried over", "err", err)
		if key, err = newIndexKey(cfg.DataDir, keys, true); err != nil {
			return res, err
		}
		res.NewKey = true
	}
	path := filepath.Join(cfg.DataDir, "index.db")
	if _, err := os.Stat(path); err == nil {
		res.Old = path + ".old-" + a.cfg.Now().UTC().Format("20060102T150405Z")
		if err := os.Rename(path, res.Old); err != nil {
			return res, fmt.Errorf("archive: index rebuild: %w", err)
		}
	}
	a.index, err = index.Open(path, index.Options{Key: key, HeadFile: filepath.Join(cfg.DataDir, "audit.head")})
	if err != nil {
		return res, err
	}
	oldHead, headErr := a.index.AuditHead()
	if res.Old != "" && !res.NewKey {
		if res.Audit, err = a.index.SalvageAudit(res.Old); err != nil {
			log.Warn("the old audit log could not be read", "err", err)
		}
		if res.Accounts, err = a.index.SalvageAccounts(res.Old); err != nil {
			log.Warn("the old users, tokens, settings and notes could not be read", "err", err)
		}
	}
	if headErr == nil && oldHead.Seq > uint64(res.Audit) {
		res.AuditLost = oldHead.Seq - uint64(res.Audit)
	}

	ids, err := a.vault.List()
	if err != nil {
		return res, err
	}
	var batch []*index.Record
	holds := map[string][]index.Hold{}
	flush := func() error {
		err := a.index.Put(batch...)
		batch = batch[:0]
		return err
	}
	for _, id := range ids {
		r, hs, err := a.rebuilt(id)
		if err != nil {
			res.Unreadable = append(res.Unreadable, Problem{id, err})
			continue
		}
		if slices.Contains(r.Flags, flagNoMeta) {
			res.NoMeta = append(res.NoMeta, id)
		}
		batch = append(batch, r)
		holds[id] = hs
		res.Recordings++
		if len(batch) == 500 {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	for id, hs := range holds {
		for _, h := range hs {
			if _, err := a.index.AddHold(id, h); err != nil {
				return res, err
			}
			res.Holds++
		}
	}
	if err := a.audit(acc.Who, "index-rebuild", "", acc.Why+" ["+res.summary(oldHead, headErr)+"]"); err != nil {
		return res, err
	}
	return res, nil
}

func (res Rebuilt) summary(oldHead index.Head, headErr error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d recordings from the vault, %d without metadata, %d unreadable; %d holds; %d audit entries carried over",
		res.Recordings, len(res.NoMeta), len(res.Unreadable), res.Holds, res.Audit)
	switch {
	case res.AuditLost > 0:
		fmt.Fprintf(&b, "; audit entries %d to %d lost (the head recorded entry %d, hash %s)", res.Audit+1, oldHead.Seq, oldHead.Seq, oldHead.Hash)
	case headErr != nil && !errors.Is(headErr, fs.ErrNotExist):
		fmt.Fprintf(&b, "; the old audit head did not read: %v", headErr)
	}
	if res.Old != "" {
		fmt.Fprintf(&b, "; the old index is kept as %s", filepath.Base(res.Old))
	}
	return b.String()
}

// rebuilt makes a recording's record from the vault: its metadata, if it
// opens, and the file's own length, hash, id and completeness.
func (a *Archive) rebuilt(id string) (*index.Record, []index.Hold, error) {
	rd, err := a.vault.OpenPartial(id)
	if err != nil {
		return nil, nil, err
	}
	defer rd.Close()
	if !rd.Complete() {
		return nil, nil, fmt.Errorf("%w: no final chunk", vault.ErrTruncated)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(rd, 0, rd.Size())); err != nil {
		return nil, nil, err
	}
	var r *index.Record
	var hs []index.Hold
	if m, err := a.readMeta(id); err == nil {
		r, hs = m.Record, m.Holds
	} else {
		a.log.Warn("recording without readable metadata: indexed from its file alone", "call_id", id, "err", err)
		r = &index.Record{ID: id, ConversationID: id, Start: rd.Created().UTC(), Flags: []string{flagNoMeta}}
	}
	r.Purged = time.Time{}
	switch r.Recording.State {
	case index.StateComplete, index.StateFailed, index.StateRecovered:
	default:
		r.Recording.State = index.StateRecovered // it was being written when the metadata was last saved
	}
	r.Recording.File, r.Recording.FileID = id+".crv", rd.FileID()
	r.Recording.Size, r.Recording.SHA256 = rd.Size(), hex.EncodeToString(h.Sum(nil))
	if r.Recording.Samples == 0 && a.cfg.Format != nil {
		a.recoveredLength(r, r.End.IsZero())
	}
	return r, hs, nil
}
