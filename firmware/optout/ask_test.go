package optout_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callrec/firmware/optout"
	"callrec/storage/archive"
	"callrec/storage/index"
)

// TestAsk: a command's request is answered by whoever serves requests
// (here, the test, as the daemon would); a refusal comes back as the
// daemon's reason; no answer in time is an error; the request is removed.
func TestAsk(t *testing.T) {
	ix, err := index.Open(filepath.Join(t.TempDir(), "index.db"), index.Options{Key: bytes.Repeat([]byte{4}, index.KeySize), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	serve := func(answer string, refused error) {
		for {
			rs, _ := ix.Requests()
			if len(rs) == 1 {
				if rs[0].Call != "c1" || rs[0].Who != "ext 201" || rs[0].Action != "optout" {
					t.Errorf("request %+v", rs[0])
				}
				ix.AnswerRequest(rs[0].ID, answer, refused)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	ctx := context.Background()
	go serve("opted out 1 call", nil)
	if got, err := optout.Ask(ctx, ix, "c1", "ext 201", "the caller asked", 5*time.Second); err != nil || got != "opted out 1 call" {
		t.Errorf("Ask = %q, %v", got, err)
	}
	go serve("", optout.ErrEnded)
	if _, err := optout.Ask(ctx, ix, "c1", "ext 201", "late", 5*time.Second); err == nil || !strings.Contains(err.Error(), "has ended") {
		t.Errorf("a refusal = %v, want the daemon's reason", err)
	}
	if _, err := optout.Ask(ctx, ix, "c1", "ext 201", "nobody serves", 200*time.Millisecond); err == nil || !strings.Contains(err.Error(), "did not answer") {
		t.Errorf("no daemon = %v", err)
	}
	if _, err := optout.Ask(ctx, ix, "c1", "ext 201", "", time.Second); !errors.Is(err, archive.ErrNoAccountable) {
		t.Errorf("no reason = %v", err)
	}
	if rs, _ := ix.Requests(); len(rs) != 0 {
		t.Errorf("%d requests left behind", len(rs))
	}
}
