package update

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
)

// Service is firmware updating as the console and the web page use it:
// the same checks and the same install, whichever way a bundle comes.
type Service struct {
	Slots   Slots
	Trust   Trust
	Model   string // this board
	Running string // the version running
	Audit   func(who, action, target, why string) error
	Log     *slog.Logger
}

// Status says what the slots hold.
func (s *Service) Status() string {
	return fmt.Sprintf("running  version %s on %s\n%s", s.Running, s.Model, s.Slots.Describe())
}

// Apply checks the bundle at path and installs it for a trial boot at the
// next start; every refusal is audited with its reason.
func (s *Service) Apply(who, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("update: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	c, err := Check(f, st.Size(), s.Trust, s.Model, s.Running)
	if err == nil {
		var slot string
		if slot, err = s.Slots.Install(c); err == nil {
			s.Audit(who, "update-install", c.Manifest.Version, fmt.Sprintf("from %s into slot %s, signed by %s; trial boot next", path, slot, c.Key))
			return fmt.Sprintf("Version %s checked and installed in slot %s; the next boot tries it (%d tries), and keeps it once healthy.", c.Manifest.Version, slot, Tries), nil
		}
	}
	s.Audit(who, "update-refused", path, err.Error())
	return "", err
}

// Rollback returns to the previous firmware at the next boot.
func (s *Service) Rollback(who string) error {
	slot, err := s.Slots.Rollback()
	if err != nil {
		return err
	}
	return s.Audit(who, "update-rollback", slot, fmt.Sprintf("back to slot %s (version %s) at the next boot", slot, s.Slots.Version(slot)))
}

// ErrNoSlots: the box runs outside the slots (a development run).
var ErrNoSlots = errors.New("update: this box runs outside the firmware slots")

// Start is what a start of the daemon does about the slots: which slots
// are in use, the firmware to run instead of this one (Exec, "" when this
// is it), and whether it is on trial.
type Start struct {
	Slots *Slots
	Exec  string
	Trial bool
}

// Starting decides a start: dir is the slots' directory ("" or "off": the
// daemon runs outside them), self the binary running. An error means the
// slots are not usable (not set up); the daemon then runs outside them.
func Starting(dir, self string) (Start, error) {
	if dir == "" || dir == "off" {
		return Start{}, nil
	}
	s := Slots{Root: dir}
	exe, trial, err := s.Boot(self)
	if err != nil {
		return Start{}, err
	}
	if !same(exe, self) {
		return Start{Exec: exe, Trial: trial}, nil
	}
	return Start{Slots: &s, Trial: trial}, nil
}

// RestartBinary is the binary a restart runs: the slots' current one
// (which boots whatever is next), or self outside the slots.
func (st Start) RestartBinary(self string) string {
	if st.Slots != nil {
		if cur, err := st.Slots.Current(); err == nil {
			return st.Slots.Binary(cur)
		}
	}
	return self
}
