package haltest

import (
	"context"
	"testing"
	"time"
)

func TestLEDCountsChanges(t *testing.T) {
	var got []bool
	l := &LED{OnSet: func(on bool) { got = append(got, on) }}
	for _, on := range []bool{true, true, false, true} {
		l.Set(on)
	}
	if !l.On() || l.Changes() != 3 || len(got) != 3 {
		t.Fatalf("On() = %v, Changes() = %d, OnSet calls = %d; want true, 3, 3", l.On(), l.Changes(), len(got))
	}
}

func TestButtonWait(t *testing.T) {
	var b Button
	b.Press()
	if err := b.Wait(context.Background()); err != nil {
		t.Fatalf("Wait after Press = %v, want nil", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := b.Wait(ctx); err == nil {
		t.Fatal("Wait without a press returned nil, want the context's error")
	}
}

func TestWatchdogFeeds(t *testing.T) {
	var w Watchdog
	w.Feed()
	w.Feed()
	if w.Feeds() != 2 {
		t.Fatalf("Feeds() = %d, want 2", w.Feeds())
	}
}
