// Package admin serves the admin surface of faceidp under /admin/: the
// JSON API (/admin/api/v1/, service clients' access tokens with the
// "admin" scope) and the console (server-rendered pages for users with
// the admin role, signed in through faceidp's own OIDC flow). Both call
// idp/accounts for every operation: nothing is implemented here twice.
package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/idp/accounts"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
	"github.com/faceidp/faceidp/templates"
)

// Scope is the scope a service client's token needs for the API.
const Scope = "admin"

// ConsoleClientID is the internal client the console signs in with.
const ConsoleClientID = "faceidp-admin"

// DefaultFreshAuth is how recent an administrator's sign-in must be for
// a destructive action in the console.
const DefaultFreshAuth = 10 * time.Minute

// Options configure New. Accounts, Store, CookieHashKey and
// CookieBlockKey are required.
type Options struct {
	Accounts *accounts.Service
	Store    storage.Storage
	// CookieHashKey authenticates and CookieBlockKey encrypts the console
	// session cookie (use keys of their own, or the provider's: the
	// cookie has a name of its own); the CSRF key is derived from
	// CookieHashKey.
	CookieHashKey  []byte
	CookieBlockKey []byte
	// FreshAuth: destructive console actions need a sign-in this recent
	// (zero: DefaultFreshAuth).
	FreshAuth time.Duration
	// SessionTTL is how long a console session lasts (zero: 1 hour).
	SessionTTL time.Duration
	Clock      func() time.Time
	Rand       io.Reader
	Logger     *slog.Logger
}

// Admin is the admin surface; Handler plugs it into idp.Options.Admin.
type Admin struct {
	opts Options
	acc  *accounts.Service
	tmpl *templates.Set
}

// New validates opts and registers (or updates) the console's internal
// client for issuer: a public client with PKCE whose policy always
// requires the face factor (or a user-verified passkey).
func New(ctx context.Context, issuer string, opts Options) (*Admin, error) {
	if opts.Accounts == nil || opts.Store == nil || len(opts.CookieHashKey) == 0 || len(opts.CookieBlockKey) == 0 || opts.Clock == nil || opts.Rand == nil {
		return nil, errors.New("admin: accounts, store, cookie keys, clock and rand are required")
	}
	if opts.FreshAuth <= 0 {
		opts.FreshAuth = DefaultFreshAuth
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	tmpl, err := templates.Load()
	if err != nil {
		return nil, err
	}
	if err := ensureConsoleClient(ctx, opts.Store, issuer, opts.Clock()); err != nil {
		return nil, err
	}
	return &Admin{opts: opts, acc: opts.Accounts, tmpl: tmpl}, nil
}

// ensureConsoleClient stores the console's client as this issuer needs it.
func ensureConsoleClient(ctx context.Context, st storage.Storage, issuer string, now time.Time) error {
	yes := true
	want := &models.Client{
		ID: ConsoleClientID, Name: "faceidp admin console",
		RedirectURIs: []string{issuer + "/admin/callback"}, SkipConsent: true, RequireFace: true, IDTokenAlg: "ES256",
		Policy:    models.ClientPolicy{FaceMode: "required", FaceEnrolment: "force", PasskeySkipsFace: &yes},
		CreatedAt: now, UpdatedAt: now,
	}
	cur, err := st.GetClient(ctx, ConsoleClientID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		if err := st.CreateClient(ctx, want); err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
			return fmt.Errorf("admin: register the console client: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("admin: read the console client: %w", err)
	}
	cur.RedirectURIs, cur.SkipConsent, cur.RequireFace, cur.Disabled, cur.Scopes = want.RedirectURIs, true, true, false, nil
	if err := st.UpdateClient(ctx, cur); err != nil {
		return fmt.Errorf("admin: update the console client: %w", err)
	}
	if err := st.UpdateClientPolicy(ctx, ConsoleClientID, want.Policy); err != nil {
		return fmt.Errorf("admin: update the console client's policy: %w", err)
	}
	return nil
}

// Handler returns the surface for host; use it as idp.Options.Admin.
func (a *Admin) Handler(host idp.AdminHost) http.Handler {
	mux := http.NewServeMux()
	api := &apiServer{a: a, host: host}
	api.mount(mux)
	c := newConsole(a, host)
	mux.Handle("/admin/", c.handler())
	return mux
}
