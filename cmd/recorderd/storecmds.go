package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"

	"callrec/firmware/config"
	"callrec/recorder/mix"
	"callrec/recorder/mp3"
	"callrec/storage/index"
	"callrec/storage/vault"
)

// storageFlags adds -config, -data and -key to a command; the returned
// function loads the configuration with the flags' overrides.
func storageFlags(fs *flag.FlagSet) func() (config.Config, error) {
	cfgPath := fs.String("config", "", "configuration file")
	data := fs.String("data", "", "data directory (overrides storage.data_dir)")
	key := fs.String("key", "", "key file (overrides storage.key_file)")
	return func() (config.Config, error) {
		cfg := config.Default()
		if *cfgPath != "" {
			var err error
			if cfg, err = config.Load(*cfgPath); err != nil {
				return cfg, usageError{err.Error()}
			}
		}
		if *data != "" {
			cfg.Storage.DataDir = *data
		}
		if *key != "" {
			cfg.Storage.KeyFile = *key
		}
		return cfg, nil
	}
}

// openStoreWith loads the configuration the flags name and opens its
// store for a command run beside the daemon (no recovery).
func openStoreWith(load func() (config.Config, error)) (*store, config.Config, error) {
	cfg, err := load()
	if err != nil {
		return nil, cfg, err
	}
	st, err := openStore(cfg.Storage, slog.Default(), false)
	return st, cfg, err
}

// openIndexWith loads the configuration the flags name and opens its
// index, shared with the daemon.
func openIndexWith(load func() (config.Config, error)) (*index.Index, error) {
	cfg, err := load()
	if err != nil {
		return nil, err
	}
	return index.Open(filepath.Join(cfg.Storage.DataDir, "index.db"), index.Options{Shared: true})
}

// runIngest records the calls in a capture file into the vault and index,
// exactly as the box records a live tap.
func runIngest(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ingest", stderr)
	load := storageFlags(fs)
	file, err := parseWithFile(fs, args)
	if err != nil {
		return err
	}
	if file == "" {
		return usageError{"ingest: usage: recorderd ingest FILE [-config F] [-data DIR] [-key FILE]"}
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	lock, err := lockDaemon(cfg.Storage.DataDir)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	defer lock.Close()
	st, err := openStore(cfg.Storage, slog.Default(), true)
	if err != nil {
		return err
	}
	defer st.Close()
	n := 0
	rec, tc := st.recordingPath(cfg, slog.Default(), func(mix.Info) { n++ })
	readErr := replayFile(file, tc, rec)
	fmt.Fprintf(stdout, "%d recordings stored in %s\n", n, cfg.Storage.DataDir)
	return readErr
}

// runCalls lists calls from the index as JSON lines.
func runCalls(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("calls", stderr)
	load := storageFlags(fs)
	number := fs.String("number", "", "calls with this number in any leg (E.164, or as dialled)")
	ext := fs.String("extension", "", "calls of this extension")
	from := fs.String("from", "", "calls starting at or after this time (RFC 3339 or 2006-01-02)")
	to := fs.String("to", "", "calls starting before this time")
	limit := fs.Int("limit", 0, "at most this many")
	who := fs.String("who", osUser(), "who is searching, for the audit log")
	why := fs.String("why", "", "why, for the audit log (e.g. the SAR reference)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	q := index.Query{Extension: *ext, Limit: *limit}
	if *number != "" {
		plan := trackConfig(cfg.Calls).Plan
		if q.Number = plan.E164(*number); q.Number == "" {
			return usageError{fmt.Sprintf("calls: %q is not a public number", *number)}
		}
	}
	for _, p := range []struct {
		s   string
		dst *time.Time
	}{{*from, &q.From}, {*to, &q.To}} {
		if p.s == "" {
			continue
		}
		t, err := parseTime(p.s)
		if err != nil {
			return usageError{err.Error()}
		}
		*p.dst = t
	}
	ix, err := index.Open(cfg.Storage.DataDir+"/index.db", index.Options{Shared: true})
	if err != nil {
		return err
	}
	defer ix.Close()
	rs, err := ix.Find(q)
	if err != nil {
		return err
	}
	// A search reveals who called whom: it is an access, audited before
	// anything is shown.
	terms := fmt.Sprintf("number=%q extension=%q from=%q to=%q", q.Number, q.Extension, *from, *to)
	if _, err := ix.Audit(index.Entry{Who: *who, Action: "search", Target: terms,
		Why: fmt.Sprintf("%s [%d calls found]", *why, len(rs))}); err != nil {
		return fmt.Errorf("calls: audit: %w", err)
	}
	enc := json.NewEncoder(stdout)
	for _, r := range rs {
		enc.Encode(r)
	}
	return nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2026-11-27T09:00:00Z) or a date (2026-11-27)", s)
}

// runExport writes a recording's MP3, decrypted, and audits it.
func runExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", stderr)
	load := storageFlags(fs)
	id := fs.String("call", "", "call id (required)")
	out := fs.String("out", "", "MP3 file to write (required)")
	who := fs.String("who", osUser(), "who is exporting, for the audit log")
	why := fs.String("why", "", "why, for the audit log (e.g. a subject access request reference)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *id == "" || *out == "" {
		return usageError{"export: usage: recorderd export -call ID -out FILE.mp3 [-who NAME] [-why REASON]"}
	}
	st, _, err := openStoreWith(load)
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := st.index.Get(*id)
	if err != nil {
		return err
	}
	if !r.Purged.IsZero() {
		return fmt.Errorf("export: call %s was purged at the end of its retention on %s", *id, r.Purged.Format("2006-01-02"))
	}
	open := st.vault.Open
	if r.Recording.State == "recording" {
		open = st.vault.OpenPartial // the daemon is writing it: what is complete so far
	}
	rd, err := open(*id)
	if err != nil {
		return err
	}
	defer rd.Close()
	var buf bytes.Buffer
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(&buf, h), io.NewSectionReader(rd, 0, rd.Size())); err != nil {
		return err
	}
	if sum := hex.EncodeToString(h.Sum(nil)); r.Recording.State != "recording" && r.Recording.SHA256 != "" && sum != r.Recording.SHA256 {
		return fmt.Errorf("export: call %s: the recording's SHA-256 %s does not match the index's %s", *id, sum, r.Recording.SHA256)
	}
	detail := *why
	if r.Recording.State == "recording" {
		detail += " [partial: recording in progress, " + strconv.Itoa(buf.Len()) + " bytes]"
	}
	if err := st.audit(*who, "export", *id, detail); err != nil {
		return err // no export without its audit entry
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	cfgMP3 := mp3.Config{SampleRate: 16000, Channels: max(r.Recording.Channels, 1), Bitrate: max(r.Recording.Bitrate, 8)}
	frameLen := 72 * 1000 * cfgMP3.Bitrate / cfgMP3.SampleRate
	if tag, err := mp3.InfoFrame(cfgMP3, int64(buf.Len()/frameLen), int64(buf.Len())); err == nil {
		f.Write(tag)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("export: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(stdout, "exported call %s (%d bytes) to %s\n", *id, buf.Len(), *out)
	return nil
}

// runVerify checks every recording against the index: it decrypts,
// its hash matches, and nothing is missing or extra.
func runVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", stderr)
	load := storageFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	st, _, err := openStoreWith(load)
	if err != nil {
		return err
	}
	defer st.Close()
	files, err := st.vault.List()
	if err != nil {
		return err
	}
	onDisk := map[string]bool{}
	for _, id := range files {
		onDisk[id] = true
	}
	rs, err := st.index.Find(index.Query{})
	if err != nil {
		return err
	}
	var problems []string
	checked := 0
	for _, r := range rs {
		hasAudio := r.Recording.State != "" && r.Recording.State != "shredded"
		if !hasAudio {
			continue
		}
		if r.Recording.State == "recording" {
			delete(onDisk, r.ID) // being written by the daemon now
			continue
		}
		delete(onDisk, r.ID)
		rd, err := st.vault.Open(r.ID)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", r.ID, err))
			continue
		}
		h := sha256.New()
		_, err = io.Copy(h, io.NewSectionReader(rd, 0, rd.Size()))
		rd.Close()
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s: %v", r.ID, err))
		case r.Recording.SHA256 != "" && hex.EncodeToString(h.Sum(nil)) != r.Recording.SHA256:
			problems = append(problems, fmt.Sprintf("%s: SHA-256 does not match the index", r.ID))
		}
		checked++
	}
	for id := range onDisk {
		problems = append(problems, fmt.Sprintf("%s: in the vault but not in the index", id))
	}
	for _, p := range problems {
		fmt.Fprintln(stdout, "PROBLEM", p)
	}
	fmt.Fprintf(stdout, "%d recordings checked, %d problems\n", checked, len(problems))
	if len(problems) > 0 {
		return errors.New("verify: problems found")
	}
	return nil
}

// runAudit handles `audit verify` and `audit list`.
func runAudit(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "list") {
		return usageError{"audit: usage: recorderd audit verify|list [-data DIR]"}
	}
	fs := newFlags("audit "+args[0], stderr)
	load := storageFlags(fs)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	ix, err := openIndexWith(load)
	if err != nil {
		return err
	}
	defer ix.Close()
	if args[0] == "list" {
		log, err := ix.AuditLog()
		enc := json.NewEncoder(stdout)
		for _, e := range log {
			enc.Encode(e)
		}
		return err
	}
	n, err := ix.VerifyAudit()
	if err != nil {
		return fmt.Errorf("audit log: %w (after %d good entries)", err, n)
	}
	fmt.Fprintf(stdout, "audit log intact: %d entries\n", n)
	return nil
}

// runKeys handles `keys rotate` and `keys export-recovery`.
func runKeys(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "rotate" && args[0] != "export-recovery") {
		return usageError{"keys: usage: recorderd keys rotate | export-recovery -out FILE"}
	}
	fs := newFlags("keys "+args[0], stderr)
	load := storageFlags(fs)
	out := fs.String("out", "", "export-recovery: file for the passphrase-encrypted key")
	who := fs.String("who", osUser(), "who, for the audit log")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	st, cfg, err := openStoreWith(load)
	if err != nil {
		return err
	}
	defer st.Close()
	if args[0] == "rotate" {
		// The daemon holds the keys in memory: rotate only while it is stopped.
		lock, err := lockDaemon(cfg.Storage.DataDir)
		if err != nil {
			return fmt.Errorf("keys rotate: %w", err)
		}
		defer lock.Close()
		old := st.keys.Current
		k, err := vault.NewKey()
		if err != nil {
			return err
		}
		// Save the new key with the old one first, so a crash mid-way can
		// still read every file; then drop the old key.
		st.keys.Old = append([]vault.Key{old}, st.keys.Old...)
		st.keys.Current = k
		if err := vault.SaveKeys(cfg.Storage.KeyFile, st.keys); err != nil {
			return err
		}
		n, err := st.vault.Rewrap()
		if err != nil {
			return fmt.Errorf("keys rotate: %w (the key file keeps both keys; run again)", err)
		}
		st.keys.Old = nil
		if err := vault.SaveKeys(cfg.Storage.KeyFile, st.keys); err != nil {
			return err
		}
		if err := st.audit(*who, "key-rotate", k.String(), fmt.Sprintf("%d recordings re-wrapped", n)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "key rotated: %d recordings re-wrapped under %s\n", n, k)
		return nil
	}
	if *out == "" {
		return usageError{"keys export-recovery: -out FILE is required"}
	}
	pass := os.Getenv("CALLREC_RECOVERY_PASSPHRASE")
	if pass == "" {
		fmt.Fprint(stderr, "recovery passphrase (at least 12 characters): ")
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		pass = strings.TrimRight(line, "\r\n")
	}
	if len(pass) < 12 {
		return usageError{"keys export-recovery: the passphrase must be at least 12 characters"}
	}
	r, err := age.NewScryptRecipient(pass)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("keys export-recovery: %w", err)
	}
	w, err := age.Encrypt(f, r)
	if err == nil {
		_, err = w.Write([]byte(hex.EncodeToString(st.keys.Current.Bytes()) + "\n"))
	}
	if err == nil {
		err = w.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out)
		return fmt.Errorf("keys export-recovery: %w", err)
	}
	if err := st.audit(*who, "key-export", st.keys.Current.String(), "recovery copy written to "+*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "recovery key written to %s: keep it apart from the box; it opens every recording with the passphrase\n", *out)
	return nil
}

// runHold puts a call under legal hold (or releases it), audited.
func runHold(release bool, args []string, stdout, stderr io.Writer) error {
	name := "hold"
	if release {
		name = "release"
	}
	fs := newFlags(name, stderr)
	load := storageFlags(fs)
	id := fs.String("call", "", "call id (required)")
	who := fs.String("who", osUser(), "who, for the audit log")
	why := fs.String("reason", "", "the reason (required for a hold): a complaint, a police request…")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *id == "" || (!release && *why == "") {
		return usageError{name + ": usage: recorderd " + name + " -call ID -reason TEXT [-who NAME]"}
	}
	ix, err := openIndexWith(load)
	if err != nil {
		return err
	}
	defer ix.Close()
	if release {
		err = ix.ReleaseHold(*id)
	} else {
		err = ix.SetHold(*id, index.Hold{Reason: *why, By: *who, At: time.Now().UTC()})
	}
	if err != nil {
		return err
	}
	if _, err := ix.Audit(index.Entry{Who: *who, Action: name, Target: *id, Why: *why}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: call %s\n", name, *id)
	return nil
}

// osUser is the default for -who: the account running the command, so no
// audit entry is anonymous.
func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return fmt.Sprintf("uid %d", os.Getuid())
}
