package vault

import "errors"

// Errors, checked with errors.Is; messages name the recording.
var (
	ErrTampered  = errors.New("vault: recording fails authentication (tampered or corrupt)")
	ErrTruncated = errors.New("vault: recording is truncated")
	ErrShredded  = errors.New("vault: recording was shredded")
	ErrNoKey     = errors.New("vault: no key for this recording")
	ErrNotVault  = errors.New("vault: not a vault file")
	ErrExists    = errors.New("vault: recording exists")
)
