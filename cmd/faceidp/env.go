package main

import (
	"context"
	"log/slog"

	"github.com/faceidp/faceidp/config"
	"github.com/faceidp/faceidp/keyring"
	"github.com/faceidp/faceidp/storage"
)

// cmdEnv is what every command that touches state works with: the validated
// configuration, its logger, the migrated database and the master keyring.
type cmdEnv struct {
	cfg     *config.Config
	log     *slog.Logger
	store   storage.Storage
	keyring *keyring.Keyring
}

// withEnv loads and validates the configuration, builds the keyring, opens
// and migrates the database, runs fn and closes the database again.
func (a *app) withEnv(ctx context.Context, fn func(cmdEnv) error) error {
	cfg, logger, err := a.loadConfig()
	if err != nil {
		return err
	}
	kr, err := cfg.Keyring(a.rand)
	if err != nil {
		return err
	}
	store, err := a.openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	return fn(cmdEnv{cfg: cfg, log: logger, store: store, keyring: kr})
}
