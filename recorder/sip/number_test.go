package sip

import (
	"log/slog"
	"regexp"
	"testing"
)

func TestE164(t *testing.T) {
	uk := NumberPlan{}
	nine := NumberPlan{OutsidePrefix: "9", Extension: regexp.MustCompile(`^[2-7][0-9]{2}$`)}
	tests := []struct {
		plan NumberPlan
		in   string
		want string
		ext  bool
	}{
		{uk, "+441632960001", "+441632960001", false},
		{uk, "01632 960001", "+441632960001", false},
		{uk, "00441632960001", "+441632960001", false},
		{uk, "0044 (0)1632", "", false},
		{uk, "1632960001", "+441632960001", false},
		{uk, "201", "", true},
		{uk, "anonymous", "", false},
		{uk, "+1-212-555-0100", "+12125550100", false},
		{nine, "901632960001", "+441632960001", false},
		{nine, "250", "", true},
		{nine, "900", "", false},
		{NumberPlan{Country: "353"}, "014060000", "+35314060000", false},
	}
	for _, tt := range tests {
		if got := tt.plan.E164(tt.in); got != tt.want {
			t.Errorf("E164(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := tt.plan.IsExtension(tt.in); got != tt.ext {
			t.Errorf("IsExtension(%q) = %v, want %v", tt.in, got, tt.ext)
		}
	}
}

func TestNumberRedacts(t *testing.T) {
	if v := Number("+441632960001").LogValue().String(); v != "…001" {
		t.Errorf("LogValue = %q, want only the last three digits", v)
	}
	var _ slog.LogValuer = Number("")
}
