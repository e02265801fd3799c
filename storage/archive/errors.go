package archive

import "errors"

// Errors, checked with errors.Is.
var (
	ErrDiskFull = errors.New("archive: disk full: free space is below the reserve")
	ErrLocked   = errors.New("archive: the daemon is running on this data directory (stop it first)")
	ErrPurged   = errors.New("archive: the recording was shredded at the end of its retention")
	ErrNoAudio  = errors.New("archive: the call has no recording")
	// ErrOptedOut: a party asked during the call not to be recorded, and
	// its audio was discarded.
	ErrOptedOut        = errors.New("archive: the call was opted out of recording during the call: its audio was discarded")
	ErrAlreadyOptedOut = errors.New("archive: the call is already opted out")
	// ErrErased: an erasure case destroyed the recording inside its
	// retention (an objection upheld).
	ErrErased        = errors.New("archive: the recording was erased by an erasure case")
	ErrHashMismatch  = errors.New("archive: the recording does not match the SHA-256 in the index")
	ErrNoAccountable = errors.New("archive: who and why are required for the audit log")
	ErrNoKeyFile     = errors.New("archive: no key file")
	ErrWrongKey      = errors.New("archive: the key file does not hold this data directory's key")
	ErrOpenDir       = errors.New("archive: a directory others can write to is refused")
)
