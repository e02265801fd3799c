package console

import (
	"bytes"
	"sync"
)

// Ring keeps the last lines written to it (the daemon's log, for `show
// log`).
type Ring struct {
	mu    sync.Mutex
	lines []string
	max   int
	part  []byte
}

// NewRing keeps the last max lines.
func NewRing(max int) *Ring { return &Ring{max: max} }

// Write implements io.Writer.
func (r *Ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.part = append(r.part, p...)
	for {
		i := bytes.IndexByte(r.part, '\n')
		if i < 0 {
			break
		}
		r.lines = append(r.lines, string(r.part[:i]))
		r.part = r.part[i+1:]
		if len(r.lines) > r.max {
			r.lines = r.lines[len(r.lines)-r.max:]
		}
	}
	if len(r.part) > 64<<10 { // a line without end: keep it bounded
		r.part = r.part[:0]
	}
	return len(p), nil
}

// Last returns the last n lines, oldest first.
func (r *Ring) Last(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n > len(r.lines) {
		n = len(r.lines)
	}
	return append([]string(nil), r.lines[len(r.lines)-n:]...)
}
