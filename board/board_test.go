package board

import (
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	b, err := Lookup("sim")
	if err != nil {
		t.Fatalf("Lookup(sim) = %v", err)
	}
	p, err := b.Open(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	if err := p.RecLED.Set(true); err != nil {
		t.Fatalf("RecLED.Set = %v", err)
	}
	if _, err := Lookup("nope"); err == nil || !strings.Contains(err.Error(), "sim") {
		t.Fatalf("Lookup(nope) = %v, want an error naming the known boards", err)
	}
}

func TestBoardsNamePins(t *testing.T) {
	for name, b := range ByName {
		if b.Name != name || b.RecLED == "" || b.OptOutLED == "" || b.FaultLED == "" || b.OptOut == "" || b.open == nil {
			t.Errorf("board %q is incomplete: %+v", name, b)
		}
	}
}
