package main

import (
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"callrec/firmware/users"
)

// runUsers manages the accounts: add, list, disable, enable, reset,
// token. What is secret (a one-time password, a token) is printed alone
// on stdout, so a script can capture it; the explanation goes to stderr.
func runUsers(args []string, stdout, stderr io.Writer, log *slog.Logger) error {
	if len(args) == 0 {
		return usageError{"users: add, list, disable, enable, reset or token"}
	}
	sub, args := args[0], args[1:]
	fs := newFlags("users "+sub, stderr)
	load := storageFlags(fs)
	name := fs.String("name", "", "the account's name")
	role := fs.String("role", "", "head_of_ig, supervisor, auditor or technician (add)")
	who := fs.String("who", "console:"+osUser(), "who, for the audit log")
	if err := parse(fs, args); err != nil {
		return err
	}
	if sub != "list" && *name == "" {
		return usageError{"users " + sub + ": give -name"}
	}
	a, _, err := openArchive(load, log)
	if err != nil {
		return err
	}
	defer a.Close()
	svc := users.New(a.Index(), log)
	switch sub {
	case "add":
		if *role == "" {
			return usageError{"users add: give -role (head_of_ig, supervisor, auditor or technician)"}
		}
		pw, err := svc.Add(*who, *name, *role)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "account %s (%s) made; its one-time password follows, to be changed at the first sign-in:\n", *name, *role)
		fmt.Fprintln(stdout, pw)
	case "reset":
		pw, err := svc.Reset(*who, *name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "new one-time password for %s (lockout lifted):\n", *name)
		fmt.Fprintln(stdout, pw)
	case "disable", "enable":
		if err := svc.SetDisabled(*who, *name, sub == "disable"); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%s %sd\n", *name, sub)
	case "token":
		tok, err := svc.NewToken(*who, *name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "API token for %s (kept on the box only as a keyed hash; shown once):\n", *name)
		fmt.Fprintln(stdout, tok)
	case "list":
		list, err := svc.List()
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tSTATE\tTOTP\tLAST SIGN-IN")
		for _, u := range list {
			state := users.State(u, time.Now())
			last := "never"
			if !u.LastSignIn.IsZero() {
				last = u.LastSignIn.Local().Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", u.Name, u.Role, state, u.TOTPSecret != "", last)
		}
		return tw.Flush()
	default:
		return usageError{"users: unknown subcommand " + sub + " (add, list, disable, enable, reset, token)"}
	}
	return nil
}
