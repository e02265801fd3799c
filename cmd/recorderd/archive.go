package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"time"

	"callrec/firmware/config"
	"callrec/firmware/recording"
	"callrec/storage/archive"
	"callrec/storage/index"
)

// storageFlags adds -config, -data and -key to a command; the returned
// function loads the configuration with the flags' overrides.
func storageFlags(fs *flag.FlagSet) func() (config.Config, error) {
	loadConfig := configFlag(fs)
	data := fs.String("data", "", "data directory (overrides storage.data_dir)")
	key := fs.String("key", "", "key file (overrides storage.key_file)")
	return func() (config.Config, error) {
		cfg, err := loadConfig()
		if *data != "" {
			cfg.Storage.DataDir = *data
		}
		if *key != "" {
			cfg.Storage.KeyFile = *key
		}
		return cfg, err
	}
}

// openArchive loads the configuration the flags name and opens its
// archive, beside the daemon if it runs.
func openArchive(load func() (config.Config, error), log *slog.Logger) (*archive.Archive, config.Config, error) {
	cfg, err := load()
	if err != nil {
		return nil, cfg, err
	}
	a, err := archive.Open(cfg.Storage.Archive(recording.Format{}), log)
	return a, cfg, err
}

// accessFlags adds -who and -why, for the audit log.
func accessFlags(fs *flag.FlagSet, why string) func() archive.Access {
	who := fs.String("who", osUser(), "who, for the audit log")
	reason := fs.String("why", "", why)
	return func() archive.Access { return archive.Access{Who: *who, Why: *reason} }
}

// osUser is the default for -who: the account running the command, so no
// audit entry is anonymous.
func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return fmt.Sprintf("uid %d", os.Getuid())
}

// runIngest records the calls in a capture file into the archive,
// exactly as the box records a live tap.
func runIngest(ctx context.Context, args []string, log *slog.Logger, stdout, stderr io.Writer) error {
	fs := newFlags("ingest", stderr)
	load := storageFlags(fs)
	file, err := parseWithFile(fs, args)
	if err != nil {
		return err
	}
	if file == "" {
		return usageError{"ingest: usage: recorderd ingest FILE [-config F] [-data DIR] [-key FILE]"}
	}
	a, cfg, err := openArchive(load, log)
	if err != nil {
		return err
	}
	defer a.Close()
	src, err := openFile(file)
	if err != nil {
		return err
	}
	defer src.Close()
	res, err := recording.Ingest(ctx, a, src, recording.Config{Mix: cfg.Storage.Mix(), Track: cfg.Calls.Track()}, log)
	fmt.Fprintf(stdout, "%d recordings stored in %s", res.Stored, cfg.Storage.DataDir)
	if res.Known > 0 {
		fmt.Fprintf(stdout, "; %d already stored, left as they were", res.Known)
	}
	fmt.Fprintln(stdout)
	return err
}

// runCalls lists calls from the index as JSON lines; the search is audited.
func runCalls(args []string, log *slog.Logger, stdout, stderr io.Writer) error {
	fs := newFlags("calls", stderr)
	load := storageFlags(fs)
	number := fs.String("number", "", "calls with this number in any leg (E.164, or as dialled)")
	ext := fs.String("extension", "", "calls of this extension")
	from := fs.String("from", "", "calls starting at or after this time (RFC 3339 or 2006-01-02)")
	to := fs.String("to", "", "calls starting before this time")
	limit := fs.Int("limit", 0, "at most this many")
	access := accessFlags(fs, "why, for the audit log (e.g. the SAR reference)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	q := index.Query{Extension: *ext, Limit: *limit}
	if *number != "" {
		if q.Number = cfg.Calls.Track().Plan.E164(*number); q.Number == "" {
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
		if *p.dst, err = parseTime(p.s); err != nil {
			return usageError{err.Error()}
		}
	}
	a, _, err := openArchive(load, log)
	if err != nil {
		return err
	}
	defer a.Close()
	rs, err := a.Search(access(), q)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(stdout)
	enc := json.NewEncoder(out)
	for _, r := range rs {
		enc.Encode(r)
	}
	return out.Flush()
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2026-11-27T09:00:00Z) or a date (2026-11-27)", s)
}

// runExport writes a recording's MP3, decrypted, to a new private file,
// and audits it.
func runExport(args []string, log *slog.Logger, stdout, stderr io.Writer) error {
	fs := newFlags("export", stderr)
	load := storageFlags(fs)
	id := fs.String("call", "", "call id (required)")
	out := fs.String("out", "", "MP3 file to write (required): made new, mode 0600")
	force := fs.Bool("force", false, "replace -out if it exists (atomically: a link there is replaced, not followed)")
	access := accessFlags(fs, "why, for the audit log (required: e.g. a subject access request reference)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *id == "" || *out == "" {
		return usageError{"export: usage: recorderd export -call ID -out FILE.mp3 -why REASON [-who NAME] [-force]"}
	}
	a, _, err := openArchive(load, log)
	if err != nil {
		return err
	}
	defer a.Close()
	ex, err := a.ExportFile(access(), *id, *out, *force)
	if err != nil {
		return err
	}
	partial := ""
	if ex.Partial {
		partial = ", partial: the call is still being recorded"
	}
	fmt.Fprintf(stdout, "exported call %s (%d bytes%s) to %s\n", *id, ex.Bytes, partial, *out)
	return nil
}

// withArchive runs a command that takes only the storage flags: it
// parses them, opens the archive, and runs on it.
func withArchive(name string, args []string, log *slog.Logger, stderr io.Writer, run func(a *archive.Archive) error) error {
	fs := newFlags(name, stderr)
	load := storageFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	a, _, err := openArchive(load, log)
	if err != nil {
		return err
	}
	defer a.Close()
	return run(a)
}

// runVerify checks every recording against the index.
func runVerify(args []string, log *slog.Logger, stdout, stderr io.Writer) error {
	return withArchive("verify", args, log, stderr, func(a *archive.Archive) error {
		rep, err := a.Verify()
		if err != nil {
			return err
		}
		for _, p := range rep.Problems {
			fmt.Fprintln(stdout, "PROBLEM", p)
		}
		fmt.Fprintf(stdout, "%d recordings checked, %d problems\n", rep.Checked, len(rep.Problems))
		if len(rep.Problems) > 0 {
			return errors.New("verify: problems found")
		}
		return nil
	})
}

// runAudit handles `audit verify` and `audit list`.
func runAudit(args []string, log *slog.Logger, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprintln(stderr, "audit: usage: recorderd audit verify|list [-data DIR]")
		return flag.ErrHelp
	}
	if len(args) == 0 || (args[0] != "verify" && args[0] != "list") {
		return usageError{"audit: usage: recorderd audit verify|list [-data DIR]"}
	}
	return withArchive("audit "+args[0], args[1:], log, stderr, func(a *archive.Archive) error {
		if args[0] == "list" {
			entries, err := a.AuditLog()
			out := bufio.NewWriter(stdout)
			enc := json.NewEncoder(out)
			for _, e := range entries {
				enc.Encode(e)
			}
			return errors.Join(err, out.Flush())
		}
		n, err := a.VerifyAudit()
		if err != nil {
			return fmt.Errorf("audit log: %w (after %d good entries)", err, n)
		}
		fmt.Fprintf(stdout, "audit log intact: %d entries\n", n)
		return nil
	})
}

// runKeys handles `keys init`, `keys rotate` and `keys export-recovery`.
func runKeys(args []string, log *slog.Logger, stdin io.Reader, stdout, stderr io.Writer) error {
	const use = "keys: usage: recorderd keys init | rotate | export-recovery -out FILE | device-public"
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprintln(stderr, use)
		return flag.ErrHelp
	}
	if len(args) == 0 || (args[0] != "init" && args[0] != "rotate" && args[0] != "export-recovery" && args[0] != "device-public") {
		return usageError{use}
	}
	if args[0] == "device-public" {
		return withArchive("keys device-public", args[1:], log, stderr, func(a *archive.Archive) error {
			pub, err := a.DevicePublic()
			if err == nil {
				fmt.Fprintln(stdout, base64.StdEncoding.EncodeToString(pub))
			}
			return err
		})
	}
	if args[0] == "init" {
		fs := newFlags("keys init", stderr)
		load := storageFlags(fs)
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		cfg, err := load()
		if err != nil {
			return err
		}
		fp, err := archive.InitKey(cfg.Storage.Archive(recording.Format{}))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "key %s made in %s for %s: back it up now with 'recorderd keys export-recovery'\n", fp, cfg.Storage.KeyFile, cfg.Storage.DataDir)
		return nil
	}
	fs := newFlags("keys "+args[0], stderr)
	load := storageFlags(fs)
	out := fs.String("out", "", "export-recovery: file for the passphrase-encrypted key")
	who := fs.String("who", osUser(), "who, for the audit log")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if args[0] == "export-recovery" && *out == "" {
		return usageError{"keys export-recovery: -out FILE is required"}
	}
	a, _, err := openArchive(load, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if args[0] == "rotate" {
		n, err := a.Rotate(archive.Access{Who: *who, Why: "key rotation"})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "key rotated: %d recordings re-wrapped\n", n)
		return nil
	}
	pass, err := passphrase(stdin, stderr)
	if err != nil {
		return err
	}
	if err := a.ExportRecoveryFile(archive.Access{Who: *who, Why: "recovery copy written to " + *out}, pass, *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "recovery key written to %s: keep it apart from the box; it opens every recording with the passphrase\n", *out)
	return nil
}

// runHold puts a call under legal hold, or releases one of its holds;
// both need a reason, and both are audited.
func runHold(name string, args []string, log *slog.Logger, stdout, stderr io.Writer) error {
	fs := newFlags(name, stderr)
	load := storageFlags(fs)
	id := fs.String("call", "", "call id (required)")
	hold := fs.String("hold", "", "release: the hold to release (required when the call has several)")
	who := fs.String("who", osUser(), "who, for the audit log")
	reason := fs.String("reason", "", "the reason (required): the complaint or police request; for a release, why it ends")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *id == "" || *reason == "" {
		return usageError{name + ": usage: recorderd " + name + " -call ID -reason TEXT [-hold HOLD-ID] [-who NAME]"}
	}
	a, _, err := openArchive(load, log)
	if err != nil {
		return err
	}
	defer a.Close()
	acc := archive.Access{Who: *who, Why: *reason}
	var h index.Hold
	if name == "hold" {
		h, err = a.Hold(acc, *id)
	} else {
		h, err = a.Release(acc, *id, *hold)
	}
	if errors.Is(err, index.ErrAmbiguous) {
		hs, _ := a.Holds(*id)
		for _, h := range hs {
			fmt.Fprintf(stderr, "  hold %s by %s on %s: %s\n", h.ID, h.By, h.At.Format("2006-01-02"), h.Reason)
		}
	}
	if err != nil {
		return err
	}
	hs, err := a.Holds(*id)
	fmt.Fprintf(stdout, "%s: call %s, hold %s (%s); %d holds remain on the call\n", name, *id, h.ID, h.Reason, len(hs))
	return err
}

// runIndex handles `index rebuild`: a new index from the vault alone.
func runIndex(args []string, log *slog.Logger, stdout, stderr io.Writer) error {
	const use = "index: usage: recorderd index rebuild -why REASON [-who NAME] (stop the daemon first)"
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprintln(stderr, use)
		return flag.ErrHelp
	}
	if len(args) == 0 || args[0] != "rebuild" {
		return usageError{use}
	}
	fs := newFlags("index rebuild", stderr)
	load := storageFlags(fs)
	access := accessFlags(fs, "why, for the audit log (required: e.g. the fault ticket)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	res, err := archive.RebuildIndex(cfg.Storage.Archive(recording.Format{}), access(), log)
	for _, p := range res.Unreadable {
		fmt.Fprintln(stdout, "UNREADABLE", p)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "index rebuilt: %d recordings (%d without metadata, %d unreadable), %d holds, %d audit entries carried over\n",
		res.Recordings, len(res.NoMeta), len(res.Unreadable), res.Holds, res.Audit)
	if res.AuditLost > 0 {
		fmt.Fprintf(stdout, "WARNING: %d audit entries could not be carried over; the rebuild's audit entry names them\n", res.AuditLost)
	}
	if res.Old != "" {
		fmt.Fprintf(stdout, "the old index is kept as %s\n", res.Old)
	}
	return nil
}
