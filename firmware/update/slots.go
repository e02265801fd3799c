package update

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"
)

// Slots are the two firmware slots and the pointers between them, under
// one directory:
//
//	slots/a/recorderd, slots/a/VERSION
//	slots/b/recorderd, slots/b/VERSION
//	current -> slots/a     the firmware that proved good
//	next    -> slots/b     a new firmware on trial (absent if none)
//	trial.json             its boots left, written before next
//
// The service runs current/recorderd, whose first act (Boot) decides what
// runs: the trial firmware while it has boots left, else current. Every
// change is a rename of a file or a symlink followed by a sync of its
// directory, so a power cut at any moment leaves current pointing at a
// good firmware, and next, if it exists, at a whole one.
type Slots struct {
	Root string
	// stopAfter, in tests, ends Install after that many of its steps, as
	// a power cut would.
	stopAfter int
}

// Tries is how many boots a firmware on trial gets.
const Tries = 3

type trial struct {
	Slot    string `json:"slot"`
	Tries   int    `json:"tries_left"`
	Version string `json:"version"`
}

var errStopped = errors.New("update: stopped (test)")

func (s Slots) path(p ...string) string { return filepath.Join(append([]string{s.Root}, p...)...) }

// syncDir makes a directory's entries (a rename, a new link) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// point makes the symlink name point at target atomically and durably.
func (s Slots) point(name, target string) error {
	if err := renameio.Symlink(target, s.path(name)); err != nil {
		return err
	}
	return syncDir(s.Root)
}

func (s Slots) target(name string) (string, error) {
	t, err := os.Readlink(s.path(name))
	if err != nil {
		return "", err
	}
	slot := filepath.Base(t)
	if t != filepath.Join("slots", slot) || (slot != "a" && slot != "b") {
		return "", fmt.Errorf("update: %s points at %q, not a slot", name, t)
	}
	return slot, nil
}

// Current is the slot that proved good.
func (s Slots) Current() (string, error) { return s.target("current") }

// Binary is a slot's binary.
func (s Slots) Binary(slot string) string { return s.path("slots", slot, BinaryName) }

// Version is the version installed in a slot ("" if none).
func (s Slots) Version(slot string) string {
	b, err := os.ReadFile(s.path("slots", slot, "VERSION"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func other(slot string) string {
	if slot == "a" {
		return "b"
	}
	return "a"
}

// Init makes the slots with the binary at exe (the running one) in slot
// a as current, if they do not exist yet.
func (s Slots) Init(exe, version string) error {
	if _, err := s.Current(); err == nil {
		return nil
	}
	if err := os.MkdirAll(s.path("slots", "a"), 0o755); err != nil {
		return err
	}
	os.MkdirAll(s.path("slots", "b"), 0o755)
	f, err := os.Open(exe)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := s.write("a", f, -1, ""); err != nil {
		return err
	}
	if err := writeDurably(s.path("slots", "a", "VERSION"), []byte(version+"\n")); err != nil {
		return err
	}
	if err := s.markGood("a"); err != nil {
		return err
	}
	return s.point("current", filepath.Join("slots", "a"))
}

func writeDurably(path string, b []byte) error {
	if err := renameio.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// write streams a binary into a slot: to a temporary file, synced, checked
// (size and SHA-256, when given), renamed into place, its directory
// synced.
func (s Slots) write(slot string, r io.Reader, size int64, sum string) error {
	dir := s.path("slots", slot)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	t, err := renameio.NewPendingFile(s.Binary(slot), renameio.WithPermissions(0o755), renameio.WithTempDir(dir))
	if err != nil {
		return err
	}
	defer t.Cleanup()
	h := sha256.New()
	src := r
	if size >= 0 {
		src = io.LimitReader(r, size+1)
	}
	n, err := io.Copy(io.MultiWriter(t, h), src)
	if err != nil {
		return fmt.Errorf("update: writing slot %s: %w", slot, err)
	}
	if size >= 0 && (n != size || hex.EncodeToString(h.Sum(nil)) != sum) {
		return ErrContent
	}
	if err := t.CloseAtomicallyReplace(); err != nil { // syncs the file, then renames
		return err
	}
	return syncDir(dir)
}

// Install installs a checked bundle into the slot that is not current,
// and makes it next, with Tries boots: the next boot tries it. Its steps,
// each durable before the next: the binary (streamed, checked, synced,
// renamed), its VERSION, trial.json, then the next pointer.
func (s Slots) Install(c *Checked) (slot string, err error) {
	cur, err := s.Current()
	if err != nil {
		return "", fmt.Errorf("update: the slots are not set up: %w", err)
	}
	slot = other(cur)
	// A firmware on trial is abandoned first: next never points at a
	// half-written slot.
	if err := os.Remove(s.path("next")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := syncDir(s.Root); err != nil {
		return "", err
	}
	steps := []func() error{
		func() error {
			// The slot's old firmware stops counting as good before a
			// byte of it changes: a rollback never lands on a half-written
			// or untried one.
			if err := os.Remove(s.path("slots", slot, goodMark)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			if err := syncDir(s.path("slots", slot)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			rc, err := c.binary.Open()
			if err != nil {
				return err
			}
			defer rc.Close()
			return s.write(slot, rc, c.Manifest.Size, c.Manifest.SHA256)
		},
		func() error {
			return writeDurably(s.path("slots", slot, "VERSION"), []byte(c.Manifest.Version+"\n"))
		},
		func() error {
			b, _ := json.Marshal(trial{Slot: slot, Tries: Tries, Version: c.Manifest.Version})
			return writeDurably(s.path("trial.json"), b)
		},
		func() error { return s.point("next", filepath.Join("slots", slot)) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			return "", err
		}
		if s.stopAfter == i+1 {
			return "", errStopped
		}
	}
	return slot, nil
}

// Boot decides what runs at a start: the firmware on trial while it has
// boots left (each start spends one), else the current one. running is
// the binary now running; the answer is the binary to run (exec it if it
// is not this one) and whether it is on trial. A trial without boots
// left, or a pointer that does not read, is rolled back: current runs.
func (s Slots) Boot(running string) (exe string, onTrial bool, err error) {
	cur, err := s.Current()
	if err != nil {
		return "", false, err
	}
	next, nerr := s.target("next")
	if nerr != nil {
		if !errors.Is(nerr, fs.ErrNotExist) {
			s.clearTrial()
		}
		os.Remove(s.path("trial.json")) // a stale one, from a step cut short
		return s.Binary(cur), false, nil
	}
	if same(running, s.Binary(next)) {
		return s.Binary(next), true, nil // the trial firmware, exec'd by the boot before: its boot is counted
	}
	var t trial
	b, err := os.ReadFile(s.path("trial.json"))
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.Slot != next || t.Tries <= 0 {
		s.clearTrial()
		return s.Binary(cur), false, nil
	}
	t.Tries--
	b, _ = json.Marshal(t)
	if err := writeDurably(s.path("trial.json"), b); err != nil {
		return s.Binary(cur), false, nil
	}
	return s.Binary(next), true, nil
}

// same says whether two paths are the same file.
func same(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// clearTrial abandons a firmware on trial: current runs.
func (s Slots) clearTrial() error {
	if err := os.Remove(s.path("next")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	os.Remove(s.path("trial.json"))
	return syncDir(s.Root)
}

// MarkGood makes the firmware on trial current: it passed its health
// check.
func (s Slots) MarkGood() error {
	next, err := s.target("next")
	if err != nil {
		return fmt.Errorf("update: no firmware on trial: %w", err)
	}
	if err := s.markGood(next); err != nil {
		return err
	}
	if err := s.point("current", filepath.Join("slots", next)); err != nil {
		return err
	}
	return s.clearTrial()
}

// goodMark, in a slot, says its firmware ran and passed its health check:
// only such a slot is a rollback's target.
const goodMark = "GOOD"

func (s Slots) markGood(slot string) error {
	return writeDurably(s.path("slots", slot, goodMark), []byte("passed its health check\n"))
}

func (s Slots) good(slot string) bool {
	_, err := os.Stat(s.path("slots", slot, goodMark))
	return err == nil
}

// Abandon gives up a firmware on trial (its health check failed): the
// next boot runs current.
func (s Slots) Abandon() error { return s.clearTrial() }

// Rollback returns to the firmware in the other slot, which was current
// before the last update; a firmware on trial is simply abandoned.
func (s Slots) Rollback() (string, error) {
	if _, err := s.target("next"); err == nil {
		return s.Current()
	}
	cur, err := s.Current()
	if err != nil {
		return "", err
	}
	prev := other(cur)
	if _, err := os.Stat(s.Binary(prev)); err != nil || !s.good(prev) {
		return "", ErrNoPrevious
	}
	return prev, s.point("current", filepath.Join("slots", prev))
}

// ErrNoPrevious: the other slot holds no firmware that ran well.
var ErrNoPrevious = errors.New("update: the other slot holds no firmware that ran well (none, or an update that failed its trial): there is nothing to roll back to")

// Describe says what the slots hold, for `update status`.
func (s Slots) Describe() string {
	cur, err := s.Current()
	if err != nil {
		return "slots not set up: " + err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "current  slot %s, version %s\n", cur, s.Version(cur))
	if v := s.Version(other(cur)); v != "" {
		if s.good(other(cur)) {
			fmt.Fprintf(&b, "other    slot %s, version %s (update rollback returns to it)\n", other(cur), v)
		} else {
			fmt.Fprintf(&b, "other    slot %s, version %s (never ran well: no rollback to it)\n", other(cur), v)
		}
	}
	if next, err := s.target("next"); err == nil {
		var t trial
		if b2, err := os.ReadFile(s.path("trial.json")); err == nil {
			json.Unmarshal(b2, &t)
		}
		fmt.Fprintf(&b, "on trial slot %s, version %s, %d boots left\n", next, s.Version(next), t.Tries)
	}
	return b.String()
}
