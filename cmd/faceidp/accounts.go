package main

import (
	"context"

	"github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/idp/accounts"
	"github.com/faceidp/faceidp/idp/clientsecret"
)

// withAccounts loads the configuration, opens the database and runs fn with
// the accounts service (validation, argon2id password hashing, client
// secrets under the master keys, revocation).
func (a *app) withAccounts(ctx context.Context, fn func(*accounts.Service) error) error {
	hasher, err := password.New(password.Params{}, a.rand)
	if err != nil {
		return err
	}
	return a.withEnv(ctx, func(env cmdEnv) error {
		secrets, err := clientsecret.New(env.keyring, hasher, a.rand)
		if err != nil {
			return err
		}
		return fn(accounts.New(env.store, hasher, secrets, a.now, a.rand))
	})
}
