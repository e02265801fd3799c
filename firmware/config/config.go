package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"callrec/firmware/cases"
	"callrec/recorder/mix"
	"callrec/recorder/sip"
	"callrec/recorder/track"
	"callrec/storage/archive"
)

// Config is the whole configuration file.
type Config struct {
	Capture Capture `toml:"capture"`
	Calls   Calls   `toml:"calls"`
	Storage Storage `toml:"storage"`
	Web     Web     `toml:"web"`
	OptOut  OptOut  `toml:"optout"`
	Access  Access  `toml:"access"`
	Cases   Cases   `toml:"cases"`
	Console Console `toml:"console"`
	Update  Update  `toml:"update"`
}

// Console is the technician's serial console.
type Console struct {
	// Device is the serial port (default /dev/ttyS0, 115200 8N1), or a
	// USB gadget's (/dev/ttyGS0); "off": none. The simulated board serves
	// a pty whatever this says.
	Device string `toml:"device"`
}

// Update is where the firmware slots are.
type Update struct {
	// Slots is the directory of the A/B firmware slots (default
	// /opt/callrec); "" or "off": the box runs outside them and takes
	// no update.
	Slots string `toml:"slots"`
}

// Access says who may play recordings.
type Access struct {
	// Mode: "grant" (default): a supervisor plays a call only under an
	// access grant from the Head of IG, as the policy says; "open": every
	// supervisor may play every call.
	Mode string `toml:"mode"`
}

// Cases are the Head of IG's subject access, police and erasure cases.
type Cases struct {
	Practice     string `toml:"practice"`      // the practice's name, on cover letters
	DownloadDays int    `toml:"download_days"` // how long a checked bundle may be downloaded (default 7)
}

// OptOut is what an opt-out during a call does.
type OptOut struct {
	// Mode: "discard" (default) crypto-shreds the audio recorded before
	// the request; "stop" keeps it, for practices whose DPIA says so.
	Mode string `toml:"mode"`
	// Code is the DTMF code that opts a call out when keyed on the
	// practice's side (default "*9"; "" for none).
	Code string `toml:"code"`
}

// Web is the supervisors' web page.
type Web struct {
	Listen   string `toml:"listen"`   // HTTPS address (default ":443"); "off" serves no page
	Redirect string `toml:"redirect"` // plain HTTP that only redirects to HTTPS (default ":80"); "" or "off": none
	// IdleTimeout signs a session out after this long without activity
	// (default 15m); MaxSession after this long in all (default 8h).
	IdleTimeout Duration `toml:"idle_timeout"`
	MaxSession  Duration `toml:"max_session"`
}

// Capture says where the box listens.
type Capture struct {
	Interfaces []string `toml:"interfaces"` // the SPAN port(s), e.g. ["eth1"]
}

// Storage says where recordings live and for how long.
type Storage struct {
	DataDir        string  `toml:"data_dir"`        // recordings and index (default /var/lib/callrec)
	KeyFile        string  `toml:"key_file"`        // key-encryption key, on another disk (default /etc/callrec/kek)
	RetentionYears float64 `toml:"retention_years"` // 3 to 5 (default 5)
	ReserveMB      int64   `toml:"reserve_mb"`      // free space kept; new recordings stop below it (default 1024)
	Bitrate        int     `toml:"bitrate"`         // MP3 kbit/s (default 48 stereo)
	Mono           bool    `toml:"mono"`
}

// Retention is the retention period as a duration.
func (s Storage) Retention() time.Duration {
	return time.Duration(s.RetentionYears * 365.25 * 24 * float64(time.Hour))
}

// Calls says how to classify calls and their numbers.
type Calls struct {
	Country          string   `toml:"country"`           // country code for national numbers, default "44"
	OutsidePrefix    string   `toml:"outside_prefix"`    // digit dialled for an outside line, e.g. "9"
	ExtensionPattern string   `toml:"extension_pattern"` // regular expression; default 2 to 5 digits
	TrunkPeers       []string `toml:"trunk_peers"`       // addresses or prefixes of the SIP trunk
	TrunkDomains     []string `toml:"trunk_domains"`     // SIP domains of the trunk
	IdleTimeout      Duration `toml:"idle_timeout"`      // no SIP and no RTP ends a call; default 60s

	Extension *regexp.Regexp `toml:"-"`
	Peers     []netip.Prefix `toml:"-"`
}

// Duration is a time.Duration written as "60s" or "2m".
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// Default returns the configuration of a box with nothing configured.
func Default() Config {
	c := Config{}
	c.Calls.Country = "44"
	c.Calls.IdleTimeout = Duration{60 * time.Second}
	c.OptOut = OptOut{Mode: archive.OptOutDiscard, Code: "*9"}
	c.Access = Access{Mode: cases.AccessGrant}
	c.Cases = Cases{DownloadDays: 7}
	c.Console = Console{Device: "/dev/ttyS0"}
	c.Update = Update{Slots: "/opt/callrec"}
	c.Web = Web{Listen: ":443", Redirect: ":80", IdleTimeout: Duration{15 * time.Minute}, MaxSession: Duration{8 * time.Hour}}
	c.Storage = Storage{DataDir: "/var/lib/callrec", KeyFile: "/etc/callrec/kek", RetentionYears: 5, ReserveMB: 1024}
	return c
}

// Load reads a configuration file; a missing setting keeps its default.
// Unknown keys are an error, so a misspelt setting is not silently ignored.
func Load(path string) (Config, error) {
	c := Default()
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	md, err := toml.Decode(string(b), &c)
	if err != nil {
		return c, fmt.Errorf("config: %s: %w", path, err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		return c, fmt.Errorf("config: %s: unknown setting %q", path, un[0].String())
	}
	if err := c.check(); err != nil {
		return c, fmt.Errorf("config: %s: %w", path, err)
	}
	return c, nil
}

// check validates the settings and derives the parsed forms.
func (c *Config) check() error {
	cl := &c.Calls
	if cl.ExtensionPattern != "" {
		re, err := regexp.Compile(cl.ExtensionPattern)
		if err != nil {
			return fmt.Errorf("calls.extension_pattern: %w", err)
		}
		cl.Extension = re
	}
	for _, p := range cl.TrunkPeers {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return fmt.Errorf("calls.trunk_peers: %q is neither an address nor a prefix", p)
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		cl.Peers = append(cl.Peers, pfx)
	}
	for _, ch := range cl.Country {
		if ch < '0' || ch > '9' {
			return errors.New("calls.country: digits only, without + (e.g. \"44\")")
		}
	}
	if cl.IdleTimeout.Duration < 5*time.Second {
		return fmt.Errorf("calls.idle_timeout: %v is too short (at least 5s)", cl.IdleTimeout.Duration)
	}
	if w := c.Web; w.IdleTimeout.Duration < 30*time.Second || w.MaxSession.Duration < w.IdleTimeout.Duration {
		return errors.New("web.idle_timeout must be at least 30s, and web.max_session no shorter")
	}
	if m := c.OptOut.Mode; m != archive.OptOutDiscard && m != archive.OptOutStop {
		return fmt.Errorf("optout.mode: %q is neither %q nor %q", m, archive.OptOutDiscard, archive.OptOutStop)
	}
	if code := c.OptOut.Code; len(code) > 8 || strings.Trim(code, "0123456789*#") != "" {
		return fmt.Errorf("optout.code: %q: up to 8 of 0-9, * and #", code)
	}
	if m := c.Access.Mode; m != cases.AccessGrant && m != cases.AccessOpen {
		return fmt.Errorf("access.mode: %q is neither %q nor %q", m, cases.AccessGrant, cases.AccessOpen)
	}
	if d := c.Cases.DownloadDays; d < 1 || d > 90 {
		return fmt.Errorf("cases.download_days: %d: 1 to 90", d)
	}
	st := &c.Storage
	if st.RetentionYears < 3 || st.RetentionYears > 5 {
		return fmt.Errorf("storage.retention_years: %v is outside the policy's 3 to 5 years", st.RetentionYears)
	}
	if st.ReserveMB < 0 {
		return errors.New("storage.reserve_mb: cannot be negative")
	}
	if st.DataDir == "" || st.KeyFile == "" {
		return errors.New("storage.data_dir and storage.key_file must not be empty")
	}
	return nil
}

// Open loads the configuration file at path, or returns the defaults when
// path is "": every command reads its configuration this way.
func Open(path string) (Config, error) {
	if path == "" {
		return Default(), nil
	}
	return Load(path)
}

// Track is the tracker's configuration for these settings.
func (c Calls) Track() track.Config {
	return track.Config{
		Plan:         sip.NumberPlan{Country: c.Country, OutsidePrefix: c.OutsidePrefix, Extension: c.Extension},
		TrunkPeers:   c.Peers,
		TrunkDomains: c.TrunkDomains,
		IdleTimeout:  c.IdleTimeout.Duration,
	}
}

// Mix is the recordings' format.
func (s Storage) Mix() mix.Config { return mix.Config{Mono: s.Mono, Bitrate: s.Bitrate} }

// Archive is the archive's configuration for these settings; format
// tells it the MP3 framing.
func (s Storage) Archive(format archive.Format) archive.Config {
	return archive.Config{DataDir: s.DataDir, KeyFile: s.KeyFile, Reserve: s.ReserveMB << 20,
		Retention: s.Retention(), Format: format}
}
