package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"callrec/firmware/bundle"
)

// runBundle checks a case's bundle offline: `recorderd bundle verify -pub
// KEY [-password-file F] FILE.zip`, KEY as `recorderd keys device-public`
// prints it. An encrypted bundle's password comes from the file, or is
// asked for on a terminal.
func runBundle(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return usageError{"bundle: usage: recorderd bundle verify -pub KEY [-password-file F] FILE.zip"}
	}
	fs := newFlags("bundle verify", stderr)
	pubFlag := fs.String("pub", "", "the box's public key (recorderd keys device-public prints it)")
	pwFile := fs.String("password-file", "", "a file holding an encrypted bundle's password (else it is asked for)")
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
	var password string
	if bundle.Encrypted(f, st.Size()) {
		if password, err = bundlePassword(*pwFile, stdin, stderr); err != nil {
			return err
		}
	}
	m, err := bundle.Verify(f, st.Size(), pub, password)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: verified: case %s, %d recordings, signed by this box's key, built by %s on %s; every file matches the manifest\n",
		fs.Arg(0), m.Case, len(m.Files), m.BuiltBy, m.BuiltAt.Format("2006-01-02 15:04"))
	return nil
}

// bundlePassword reads an encrypted bundle's password from a file, or
// from the terminal without echo.
func bundlePassword(file string, stdin io.Reader, stderr io.Writer) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	}
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usageError{"bundle verify: the bundle is encrypted: give -password-file F, or run on a terminal to be asked"}
	}
	pw, err := askSecret(f, stderr, "the bundle's password: ")
	return strings.TrimSpace(pw), err
}
