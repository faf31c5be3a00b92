package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/faceidp/faceidp/config"
	"github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/factors/recovery"
	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/idp/accounts"
	"github.com/faceidp/faceidp/idp/admin"
	"github.com/faceidp/faceidp/idp/clientsecret"
	"github.com/faceidp/faceidp/keyring"
	"github.com/faceidp/faceidp/storage"
)

// adminSurface builds the admin console and API (idp/admin) over the same
// accounts service the CLI uses, with fallbacks, throttle state and key
// rotation, for idp.Options.Admin.
func (a *app) adminSurface(ctx context.Context, cfg *config.Config, logger *slog.Logger, store storage.Storage, kr *keyring.Keyring,
	fallbacks *recovery.Service, cookieHash, cookieBlock []byte) (func(idp.AdminHost) http.Handler, error) {
	hasher, err := password.New(password.Params{}, a.rand)
	if err != nil {
		return nil, err
	}
	secrets, err := clientsecret.New(kr, hasher, a.rand)
	if err != nil {
		return nil, err
	}
	limiter, err := throttle.New(store, throttleRules(cfg), a.now)
	if err != nil {
		return nil, err
	}
	keep := cfg.Tokens.IDTokenTTL
	acc := accounts.New(store, hasher, secrets, a.now, a.rand).WithThrottle(limiter).
		WithKeyRotation(func(ctx context.Context) error {
			return idp.RotateSigningKeys(ctx, idp.RotateSigningKeysOptions{Store: store, Keyring: kr, Clock: a.now, Rand: a.rand, KeepFor: keep})
		})
	if fallbacks != nil {
		acc.WithRecovery(fallbacks)
	}
	adm, err := admin.New(ctx, strings.TrimSuffix(cfg.Issuer, "/"), admin.Options{
		Accounts: acc, Store: store, CookieHashKey: cookieHash, CookieBlockKey: cookieBlock,
		Clock: a.now, Rand: a.rand, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	return adm.Handler, nil
}
