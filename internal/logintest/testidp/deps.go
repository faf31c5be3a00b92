// Package testidp builds and serves a provider (package idp) for the tests
// of the packages that plug into it: idp/admin, idp/faceweb,
// idp/passkeyweb. It is apart from logintest because idp's own tests use
// logintest, and logintest importing idp would be an import cycle.
package testidp

import (
	"context"
	"crypto/rand"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/factors/recovery"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/internal/logintest"
	"github.com/faceidp/faceidp/internal/testclock"
	"github.com/faceidp/faceidp/internal/teststore"
	"github.com/faceidp/faceidp/keyring"
	"github.com/faceidp/faceidp/storage/sqlstore"
)

// Deps are what a test provider is built from: a test clock at the whole
// second now, SQLite on that clock, a keyring, fresh cookie and token
// keys, the recovery service and a password hasher.
type Deps struct {
	Clock                         *testclock.Clock
	Store                         *sqlstore.Store
	Keyring                       *keyring.Keyring
	CookieHashKey, CookieBlockKey []byte
	TokenKey                      [32]byte
	Recovery                      *recovery.Service
	Hasher                        *password.Hasher
}

// NewDeps makes fresh Deps; the database is removed when the test ends.
func NewDeps(t testing.TB) *Deps {
	t.Helper()
	clock := testclock.New(time.Now().UTC().Truncate(time.Second))
	store := teststore.SQLite(t, sqlstore.WithClock(clock.Now))
	kr, err := keyring.New([]keyring.Key{{ID: "k1", Secret: logintest.RandomBytes(t, 32)}}, rand.Reader)
	if err != nil {
		t.Fatalf("keyring: %v", err)
	}
	rec, err := recovery.New(store, kr, clock.Now, rand.Reader, recovery.Options{})
	if err != nil {
		t.Fatalf("recovery service: %v", err)
	}
	hasher, err := password.New(password.Params{}, rand.Reader)
	if err != nil {
		t.Fatalf("password hasher: %v", err)
	}
	d := &Deps{Clock: clock, Store: store, Keyring: kr, Recovery: rec, Hasher: hasher,
		CookieHashKey: logintest.RandomBytes(t, 32), CookieBlockKey: logintest.RandomBytes(t, 32)}
	copy(d.TokenKey[:], logintest.RandomBytes(t, 32))
	return d
}

// Options are the provider options of issuer over d (store, keys, clock,
// recovery); the caller adds its factors and policy.
func (d *Deps) Options(issuer string) idp.Options {
	return idp.Options{
		Issuer: issuer, Store: d.Store, Keyring: d.Keyring,
		CookieHashKey: d.CookieHashKey, CookieBlockKey: d.CookieBlockKey, TokenKey: d.TokenKey,
		Clock: d.Clock.Now, Recovery: d.Recovery,
	}
}

// NewServer reserves a 127.0.0.1 port: the unstarted server and its base
// URL, so the issuer is known before the provider is built.
func NewServer() (*httptest.Server, string) {
	srv := httptest.NewUnstartedServer(nil)
	return srv, "http://" + srv.Listener.Addr().String()
}

// Serve builds the provider of opts and starts srv serving it; both are
// closed when the test ends.
func Serve(t testing.TB, srv *httptest.Server, opts idp.Options) *idp.Server {
	t.Helper()
	s, err := idp.New(context.Background(), opts)
	if err != nil {
		t.Fatalf("provider: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	srv.Config.Handler = s.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return s
}
