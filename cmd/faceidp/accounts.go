package main

import (
	"context"

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
