package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "recorder.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	c, err := Load(write(t, `
[calls]
country = "353"
outside_prefix = "9"
extension_pattern = "^[2-7][0-9]{2}$"
trunk_peers = ["203.0.113.0/24", "198.51.100.7"]
trunk_domains = ["sip.example.net"]
idle_timeout = "90s"
`))
	if err != nil {
		t.Fatal(err)
	}
	cl := c.Calls
	if cl.Country != "353" || cl.OutsidePrefix != "9" || !cl.Extension.MatchString("250") || cl.Extension.MatchString("850") {
		t.Errorf("calls = %+v", cl)
	}
	if len(cl.Peers) != 2 || cl.Peers[1].String() != "198.51.100.7/32" || cl.IdleTimeout.Duration != 90*time.Second {
		t.Errorf("peers %v, idle %v", cl.Peers, cl.IdleTimeout)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Load(write(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if c.Calls.Country != "44" || c.Calls.IdleTimeout.Duration != time.Minute || c.Calls.Extension != nil {
		t.Errorf("defaults = %+v", c.Calls)
	}
	if c.Storage.RetentionYears != 5 || c.Storage.Retention() < 5*365*24*time.Hour || c.Storage.ReserveMB != 1024 {
		t.Errorf("storage defaults = %+v", c.Storage)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ text, want string }{
		{"[calls]\ncountry = \"+44\"", "digits only"},
		{"[calls]\nextension_pattern = \"([\"", "extension_pattern"},
		{"[calls]\ntrunk_peers = [\"pbx.local\"]", "neither an address nor a prefix"},
		{"[calls]\nidle_timeout = \"1s\"", "too short"},
		{"[calls]\nidle_timeout = \"soon\"", "idle_timeout"},
		{"[calls]\ncountrey = \"44\"", "unknown setting \"calls.countrey\""},
		{"not toml at all [", "recorder.toml"},
		{"[storage]\nretention_years = 2", "outside the policy's 3 to 5 years"},
		{"[storage]\nretention_years = 7", "outside the policy's 3 to 5 years"},
		{"[storage]\nreserve_mb = -1", "negative"},
	}
	for _, tt := range tests {
		if _, err := Load(write(t, tt.text)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%q) = %v, want an error containing %q", tt.text, err, tt.want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.toml")); err == nil {
		t.Error("Load of a missing file = nil error")
	}
}
