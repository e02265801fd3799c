package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"

	"callrec/firmware/update"
)

// runUpdate: `recorderd update init|status|apply|rollback -slots DIR`.
func runUpdate(args []string, log *slog.Logger, stdout, stderr io.Writer) error {
	usage := usageError{"update: usage: recorderd update init|status|apply FILE.zip|rollback [-slots DIR] [-model M]"}
	if len(args) == 0 {
		return usage
	}
	sub, args := args[0], args[1:]
	fs := newFlags("update "+sub, stderr)
	load := storageFlags(fs)
	dir := fs.String("slots", "", "the firmware slots' directory (overrides update.slots)")
	model := fs.String("model", "", "this box's board (cm4, sim): a bundle must name it; required by apply")
	who := fs.String("who", os.Getenv("USER"), "who is doing it, for the audit log")
	var file string
	if sub == "apply" && len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		file, args = args[0], args[1:]
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	if *dir != "" {
		cfg.Update.Slots = *dir
	}
	slots := update.Slots{Root: cfg.Update.Slots}
	switch sub {
	case "init":
		self, err := os.Executable()
		if err != nil {
			return err
		}
		if err := slots.Init(self, version); err != nil {
			return err
		}
		fmt.Fprint(stdout, slots.Describe())
		return nil
	case "status", "apply", "rollback":
	default:
		return usage
	}
	a, _, err := openArchive(load, log)
	if err != nil {
		return err
	}
	defer a.Close()
	trust, err := update.Trusted()
	if err != nil {
		return err
	}
	svc := &update.Service{Slots: slots, Trust: trust, Model: *model, Running: version, Audit: a.Audit, Log: log}
	switch sub {
	case "status":
		fmt.Fprint(stdout, svc.Status())
	case "apply":
		if file == "" || *model == "" {
			return usageError{"update apply: give the bundle and -model (this box's board: cm4)"}
		}
		msg, err := svc.Apply(*who, file)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, msg, "Restart the daemon (or reboot) to try it.")
	case "rollback":
		if err := svc.Rollback(*who); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "The previous firmware runs at the next start.")
	}
	return nil
}

// runFirmware makes release keys and signs bundles: `recorderd firmware
// keygen -out PREFIX [-what root|release]`, `firmware certify -root KEY
// -release PUB`, `firmware sign -key KEY [-cert CERT] -binary BIN
// -version V -model M [-arch A] -out FILE.zip`.
func runFirmware(args []string, stdout, stderr io.Writer) error {
	usage := usageError{"firmware: usage: recorderd firmware keygen|certify|sign (see -h of each)"}
	if len(args) == 0 {
		return usage
	}
	sub, args := args[0], args[1:]
	fs := newFlags("firmware "+sub, stderr)
	switch sub {
	case "keygen":
		out := fs.String("out", "", "write PREFIX.key (private) and PREFIX.pub")
		what := fs.String("what", "release", "root or release")
		if err := parse(fs, args); err != nil {
			return err
		}
		if *out == "" {
			return usageError{"firmware keygen: give -out PREFIX"}
		}
		return update.WriteKeyPair(*out, *what)
	case "certify":
		root := fs.String("root", "", "the root's private key file")
		rel := fs.String("release", "", "the release key's public key file")
		if err := parse(fs, args); err != nil {
			return err
		}
		cert, err := update.CertifyFiles(*root, *rel)
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, cert)
		return nil
	case "sign":
		key := fs.String("key", "", "the release key's private key file")
		cert := fs.String("cert", "", "the root's certificate for the release key (none: a key every box lists)")
		bin := fs.String("binary", "", "the recorderd binary")
		ver := fs.String("version", "", "its version (semver: 1.4.0)")
		model := fs.String("model", "cm4", "the board it is for")
		arch := fs.String("arch", runtime.GOARCH, "its GOARCH")
		out := fs.String("out", "", "the bundle to write")
		if err := parse(fs, args); err != nil {
			return err
		}
		if *key == "" || *bin == "" || *ver == "" || *out == "" {
			return usageError{"firmware sign: give -key, -binary, -version and -out"}
		}
		m, err := update.SignFile(*out, *bin, update.Manifest{Version: *ver, Model: *model, Arch: *arch}, *key, *cert)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: version %s for %s/%s, %d bytes, SHA-256 %s\n", *out, m.Version, m.Model, m.Arch, m.Size, m.SHA256)
		return nil
	}
	return usage
}
