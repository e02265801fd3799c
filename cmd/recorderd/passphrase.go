package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"callrec/storage/archive"
)

// passphrase gets the recovery passphrase: from CALLREC_RECOVERY_PASSPHRASE
// (automation), else from the terminal without echo, asked twice, else a
// line of stdin (a pipe). Its strength is checked before anything is
// written.
func passphrase(stdin io.Reader, stderr io.Writer) (string, error) {
	if p := os.Getenv("CALLREC_RECOVERY_PASSPHRASE"); p != "" {
		return p, archive.CheckPassphrase(p)
	}
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", fmt.Errorf("keys export-recovery: no passphrase on stdin: %w", err)
		}
		p := strings.TrimRight(line, "\r\n")
		return p, archive.CheckPassphrase(p)
	}
	ask := func(prompt string) (string, error) { return askSecret(f, stderr, prompt) }
	p, err := ask(fmt.Sprintf("recovery passphrase (%d+ characters of three kinds, or a phrase of %d+): ", archive.MinPassphrase, archive.LongPassphrase))
	if err != nil {
		return "", err
	}
	if err := archive.CheckPassphrase(p); err != nil {
		return "", err
	}
	again, err := ask("the same again: ")
	if err != nil {
		return "", err
	}
	if again != p {
		return "", errors.New("keys export-recovery: the two passphrases differ; nothing was written")
	}
	return p, nil
}

// askSecret asks for a secret on the terminal f, without echo.
func askSecret(f *os.File, stderr io.Writer, prompt string) (string, error) {
	fmt.Fprint(stderr, prompt)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(stderr)
	return string(b), err
}
