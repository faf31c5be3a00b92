package main

import (
	"bufio"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/faceidp/faceidp/factors/password"
)

// readNewPassword gets the password for user add and set-password. On a
// terminal it prompts ("Password: ") on stderr, reads without echo and asks
// a second time to confirm; otherwise (a pipe or file) it reads one line.
func (a *app) readNewPassword() (string, error) {
	if f, ok := a.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return promptPassword(f, a.stderr)
	}
	return readPassword(a.stdin)
}

// promptPassword reads a password twice from the terminal tty with echo
// off, prompting on w. The terminal's mode is restored afterwards, also
// when reading fails.
func promptPassword(tty *os.File, w io.Writer) (string, error) {
	read := func(prompt string) (string, error) {
		fmt.Fprint(w, prompt)
		b, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(w) // the user's Enter was not echoed
		if err != nil {
			return "", fmt.Errorf("read password from the terminal: %w", err)
		}
		if len(b) > password.MaxLength {
			return "", fmt.Errorf("password is too long: at most %d bytes", password.MaxLength)
		}
		return string(b), nil
	}
	pw, err := read("Password: ")
	if err != nil {
		return "", err
	}
	if pw == "" {
		return "", errors.New("no password entered")
	}
	again, err := read("Repeat password: ")
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare([]byte(pw), []byte(again)) != 1 {
		return "", errors.New("the two passwords do not match; nothing was changed")
	}
	return pw, nil
}

// readPassword reads a password from r: everything up to the first newline
// (or the end of input), without the line ending. The accounts service
// checks its length.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, password.MaxLength+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("no password on standard input (pipe it in, e.g. printf '%s\\n' \"$PASSWORD\" | faceidp user add ...)")
	}
	return line, nil
}
