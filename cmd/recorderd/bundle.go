package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"callrec/firmware/bundle"
)

// runBundle checks a case's bundle offline: `recorderd bundle verify -pub
// KEY FILE.zip`, KEY as `recorderd keys device-public` prints it.
func runBundle(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return usageError{"bundle: usage: recorderd bundle verify -pub KEY FILE.zip"}
	}
	fs := newFlags("bundle verify", stderr)
	pubFlag := fs.String("pub", "", "the box's public key (recorderd keys device-public prints it)")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err.Error()}
	}
	if *pubFlag == "" || fs.NArg() != 1 {
		return usageError{"bundle verify: give -pub KEY and one FILE.zip"}
	}
	pub, err := bundle.ParsePublic(*pubFlag)
	if err != nil {
		return usageError{err.Error()}
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	m, err := bundle.Verify(f, st.Size(), pub)
	if errors.Is(err, bundle.ErrInvalid) {
		return err
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: verified: case %s, %d recordings, signed by this box's key, built by %s on %s; every file matches the manifest\n",
		fs.Arg(0), m.Case, len(m.Files), m.BuiltBy, m.BuiltAt.Format("2006-01-02 15:04"))
	return nil
}
