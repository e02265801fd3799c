package archive

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"callrec/storage/index"
)

// meta is what the vault keeps beside a recording (sealed under a key
// from the recording's own data key) so that the index can be rebuilt
// from the vault alone: the call's record and its holds.
type meta struct {
	Record *index.Record `json:"record"`
	Holds  []index.Hold  `json:"holds,omitempty"`
}

// saveMeta writes a recorded call's metadata beside its recording, from
// the index as it is now. Every change of a recorded call's record or
// holds leads to it: at once for a hold, at the disk worker's next sync
// for the recording path's changes (metaDirty). Processes (the daemon finishing a call, a technician
// placing a hold) take turns through a lock file, so the last write holds
// the last state.
func (a *Archive) saveMeta(id string) {
	if err := a.writeMeta(id); err != nil {
		a.log.Warn("recording metadata not written: an index rebuild would miss the latest changes", "call_id", id, "err", err)
	}
}

func (a *Archive) writeMeta(id string) error {
	l, err := os.OpenFile(filepath.Join(a.cfg.DataDir, "meta.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer l.Close()
	if err := syscall.Flock(int(l.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	r, err := a.index.Get(id)
	if err != nil {
		return err
	}
	if !r.Recording.State.HasAudio() {
		return nil
	}
	hs, err := a.index.Holds(id)
	if err != nil {
		return err
	}
	b, err := json.Marshal(meta{Record: r, Holds: hs})
	if err != nil {
		return err
	}
	return a.vault.PutMeta(id, b)
}

// readMeta reads a recording's metadata from the vault.
func (a *Archive) readMeta(id string) (*meta, error) {
	b, err := a.vault.Meta(id)
	if err != nil {
		return nil, err
	}
	var m meta
	if err := json.Unmarshal(b, &m); err != nil || m.Record == nil || m.Record.ID != id {
		return nil, fmt.Errorf("archive: metadata of %s does not decode", id)
	}
	return &m, nil
}
