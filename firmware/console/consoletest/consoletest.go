// Package consoletest is a technician at a console, for tests: it reads
// everything the console writes (from a pipe, or a pty), types lines, and
// waits for text.
package consoletest

import (
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// Screen is the technician's end of a console.
type Screen struct {
	t    testing.TB
	w    io.Writer
	mu   sync.Mutex
	out  strings.Builder
	seen int // how much of out the waits have consumed
}

// New reads rw until it fails, into the screen.
func New(t testing.TB, rw io.ReadWriter) *Screen {
	s := &Screen{t: t, w: rw}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := rw.Read(b)
			s.mu.Lock()
			s.out.Write(b[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return s
}

// Type types a line (and Enter).
func (s *Screen) Type(line string) { s.Keys(line + "\r") }

// Keys types keys as they are (a tab, say).
func (s *Screen) Keys(keys string) {
	s.t.Helper()
	if _, err := io.WriteString(s.w, keys); err != nil {
		s.t.Fatal(err)
	}
}

// Wait waits up to within for text after what earlier waits consumed,
// and returns what came, up to and including it.
func (s *Screen) Wait(text string, within time.Duration) string {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		all := s.out.String()
		s.mu.Unlock()
		if i := strings.Index(all[s.seen:], text); i >= 0 {
			got := all[s.seen : s.seen+i+len(text)]
			s.seen += i + len(text)
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.t.Fatalf("no %q on the console within %v; it shows:\n%s", text, within, s.out.String()[s.seen:])
	return ""
}

// All is everything the console wrote.
func (s *Screen) All() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// T is the test the screen reports to.
func (s *Screen) T() testing.TB { return s.t }
