// Command recorderd is the callrec appliance: one static binary whose
// subcommands run the recorder and serve the tools around it. Each
// subcommand parses its flags, calls one library function and prints:
// what the box does lives in recorder/, storage/ and firmware/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"callrec/recorder/pipeline"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode reports err and returns the process's exit status: 0 for
// success and for help, 2 for a usage mistake or unreadable input, 1 for
// any other failure.
func exitCode(err error, stderr io.Writer) int {
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue), errors.Is(err, pipeline.ErrInput):
		fmt.Fprintln(stderr, "recorderd:", err)
		return 2
	}
	fmt.Fprintln(stderr, "recorderd:", err)
	return 1
}

// usageError is a mistake on the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `usage: recorderd <command> [flags]

commands:
  run      run the appliance on a board until interrupted
  inspect  print the calls in a pcap or pcapng file, one JSON object each
  extract  write one MP3 per call in a capture file, and calls.json (unencrypted)
  ingest   record the calls in a capture file into the box's vault and index
  calls    list recorded calls (-number, -extension, -from, -to)
  export   write one recording as MP3 (audited)
  verify   check every recording against the index
  audit    verify or list the audit log
  keys     make the first key (init), rotate it, or export a recovery copy
  hold     put a call under a legal hold (release lifts one); both audited
  index    rebuild the index from the recordings alone (index rebuild)
  bundle   verify a case's bundle offline (bundle verify -pub KEY FILE.zip)
  optout   opt a live call out of recording (the running daemon does it; audited)
  users    manage the web page's accounts: add, list, disable, enable, reset, token
  status   print the running daemon's status (disk, faults, counters, web certificate)
  update   the firmware slots: init, status, apply FILE.zip, rollback
  firmware make release keys and sign firmware bundles (keygen, certify, sign)
  encode   encode raw 16-bit little-endian PCM from stdin to MP3 on stdout
  version  print the version

Run 'recorderd <command> -h' for a command's flags.`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return usageError{"no command given"}
	}
	cmd, args := args[0], args[1:]
	// Every command logs structured key=value lines to stderr.
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	switch cmd {
	case "run":
		return runDaemon(ctx, args, log, stderr)
	case "encode":
		return runEncode(args, stdin, stdout, stderr)
	case "inspect":
		return runInspect(ctx, args, log, stdout, stderr)
	case "extract":
		return runExtract(ctx, args, log, stdout, stderr)
	case "ingest":
		return runIngest(ctx, args, log, stdout, stderr)
	case "calls":
		return runCalls(args, log, stdout, stderr)
	case "export":
		return runExport(args, log, stdout, stderr)
	case "verify":
		return runVerify(args, log, stdout, stderr)
	case "audit":
		return runAudit(args, log, stdout, stderr)
	case "keys":
		return runKeys(args, log, stdin, stdout, stderr)
	case "hold", "release":
		return runHold(cmd, args, log, stdout, stderr)
	case "index":
		return runIndex(args, log, stdout, stderr)
	case "bundle":
		return runBundle(args, stdin, stdout, stderr)
	case "optout":
		return runOptOut(ctx, args, stdout, stderr, log)
	case "users":
		return runUsers(args, stdout, stderr, log)
	case "status":
		return runStatus(args, stdout, stderr)
	case "update":
		return runUpdate(args, log, stdout, stderr)
	case "firmware":
		return runFirmware(args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "recorderd", version)
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

// newFlags returns a flag set that reports errors, and prints its help,
// to stderr instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("recorderd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses a command's flags. -h and --help return flag.ErrHelp
// after printing the help: the command then does nothing and exits 0.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}

// isHelp reports whether an argument asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// parseWithFile parses flags around one capture-file argument, which may
// come before or after the flags; the file is "" when none is given.
func parseWithFile(fs *flag.FlagSet, args []string) (string, error) {
	var file string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", err
		}
		return "", usageError{err.Error()}
	}
	switch {
	case file == "" && fs.NArg() == 1:
		file = fs.Arg(0)
	case fs.NArg() > 0:
		return "", usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return file, nil
}
