package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/idp/accounts"
)

// withAccounts loads the configuration, opens the database and runs fn with
// the accounts service (validation, argon2id hashing, revocation).
func (a *app) withAccounts(ctx context.Context, fn func(*accounts.Service) error) error {
	cfg, logger, err := a.loadConfig()
	if err != nil {
		return err
	}
	store, err := a.openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	hasher, err := password.New(password.Params{}, a.rand)
	if err != nil {
		return err
	}
	return fn(accounts.New(store, hasher, a.now, a.rand))
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
