// Command recorderd is the callrec appliance: one static binary whose
// subcommands run the recorder and serve the tools around it.
//
//	recorderd run [-board sim]         run the appliance until SIGTERM
//	recorderd inspect FILE [-config F]  print the calls in a capture file as JSON
//	recorderd extract FILE -out DIR     one MP3 per call in a capture file
//	recorderd encode [flags] <in >out  encode raw PCM to MP3 as the box does
//	recorderd version                  print the version
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
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	var ue usageError
	var ie inputError
	switch {
	case err == nil:
	case errors.As(err, &ue), errors.As(err, &ie):
		fmt.Fprintln(os.Stderr, "recorderd:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "recorderd:", err)
		os.Exit(1)
	}
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
  keys     rotate the key-encryption key, or export a recovery copy
  hold     put a call under legal hold (release lifts it); both audited
  status   print the running daemon's status (disk, faults, counters)
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
	slog.SetDefault(newLogger(stderr, slog.LevelInfo))
	switch cmd {
	case "run":
		return runDaemon(ctx, args, stderr)
	case "encode":
		return runEncode(args, stdin, stdout, stderr)
	case "inspect":
		return runInspect(ctx, args, stdout, stderr)
	case "extract":
		return runExtract(ctx, args, stdout, stderr)
	case "ingest":
		return runIngest(args, stdout, stderr)
	case "calls":
		return runCalls(args, stdout, stderr)
	case "export":
		return runExport(args, stdout, stderr)
	case "verify":
		return runVerify(args, stdout, stderr)
	case "audit":
		return runAudit(args, stdout, stderr)
	case "keys":
		return runKeys(args, stdin, stdout, stderr)
	case "hold", "release":
		return runHold(cmd == "release", args, stdout, stderr)
	case "status":
		return runStatus(args, stdout, stderr)
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

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("recorderd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
