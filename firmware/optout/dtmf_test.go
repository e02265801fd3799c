package optout

import (
	"testing"
	"time"

	"callrec/recorder/track"
)

func TestCodes(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	type key struct {
		digit      string
		fromCaller bool
		after      time.Duration
	}
	tests := []struct {
		name string
		dir  track.Direction
		keys []key
		want string // who fired, "" for none
	}{
		{"inbound: the practice (callee) keys *9", track.Inbound, []key{{"*", false, 0}, {"9", false, time.Second}}, "extension 201"},
		{"inbound: the caller keys *9 into a menu", track.Inbound, []key{{"*", true, 0}, {"9", true, time.Second}}, ""},
		{"outbound: the practice (caller) keys *9", track.Outbound, []key{{"*", true, 0}, {"9", true, time.Second}}, "the practice side"},
		{"internal: either side", track.Internal, []key{{"*", true, 0}, {"9", true, time.Second}}, "the practice side"},
		{"unknown direction: no practice side", track.Unknown, []key{{"*", false, 0}, {"9", false, time.Second}}, ""},
		{"too slow", track.Inbound, []key{{"*", false, 0}, {"9", false, 4 * time.Second}}, ""},
		{"the code after other digits", track.Inbound, []key{{"1", false, 0}, {"2", false, time.Second}, {"*", false, time.Second}, {"9", false, time.Second}}, "extension 201"},
		{"one key seen twice (RFC 4733 and tones)", track.Inbound, []key{{"*", false, 0}, {"*", false, 50 * time.Millisecond}, {"9", false, time.Second}}, "extension 201"},
		{"digits split between the sides", track.Internal, []key{{"*", true, 0}, {"9", false, time.Second}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			k := NewCodes("*9", func(id, who string) { got = who })
			c := &track.Call{ID: "c1", Direction: tt.dir, From: track.Party{Raw: "sipp"}, To: track.Party{Extension: "201"}}
			if tt.dir == track.Outbound || tt.dir == track.Internal {
				c.From, c.To = track.Party{Raw: "sipp"}, track.Party{E164: "+441632960001"}
			}
			at := t0
			for _, kk := range tt.keys {
				at = at.Add(kk.after)
				k.Digit(c, kk.digit, kk.fromCaller, at)
			}
			if got != tt.want {
				t.Errorf("fired for %q, want %q", got, tt.want)
			}
		})
	}
}
