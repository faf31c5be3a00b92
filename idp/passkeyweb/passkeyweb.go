// Package passkeyweb serves passkeys (factors/passkey, WebAuthn over
// go-webauthn) over HTTP: the passkey first factor of the hosted login and
// the passkeys part of the account page. It plugs into the provider as an
// idp.FirstFactor; the provider keeps the login state machine (which
// first factors a client allows, what follows a passkey, the throttle
// counters and the flow's audit events).
//
// Sign-in (JSON, CSRF token in X-CSRF-Token):
//
//	POST /login/passkey/begin?authRequestID=ID   {"username": "", "conditional": false}
//	     → 200 {"ceremony_id", "options": {"publicKey": {...}, "mediation"}, "expires_at"}
//	POST /login/passkey/finish?authRequestID=ID  {"ceremony_id", "credential": PublicKeyCredential JSON}
//	     → 200 {"next": URL}
//
// An empty username is a usernameless sign-in (any discoverable passkey of
// this relying party, also offered in the username field's autofill with
// "conditional": true); a username makes it username-first (only that
// account's passkeys may answer; an unknown name gets a ceremony nothing
// can complete).
//
// Account page (the signed-in user; registering, renaming and removing
// need a re-authentication within idp.ReauthTTL):
//
//	POST /login/passkey/reauth/begin|finish       confirm it is you with a passkey
//	POST /login/passkey/register/begin            {} → {"ceremony_id", "options"}
//	POST /login/passkey/register/finish           {"ceremony_id", "name", "credential"} → {"next"}
//	POST /login/passkey/manage/{id}/rename        form: name
//	POST /login/passkey/manage/{id}/delete        form
//
// Errors are {"error", "error_description"}: 400 invalid_request; 401
// passkey_refused (one answer for an unknown credential and a failed
// verification) and not_signed_in; 403 account_disabled,
// factor_not_allowed, flow_other_browser, wrong_session, reauth_required,
// step_up_required; 404 unknown_ceremony, not_found; 409 ceremony_used,
// wrong_step, too_many_passkeys, already_registered; 410
// ceremony_expired; 429 rate_limited, passkey_throttled (with
// Retry-After and retry_after); 503 unavailable.
package passkeyweb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ulule/limiter/v3"

	"github.com/faceidp/faceidp/factors/auditlog"
	"github.com/faceidp/faceidp/factors/passkey"
	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/idp/webapi"
	"github.com/faceidp/faceidp/models"
)

// DefaultCeremoniesPerMinute caps the ceremonies one address may begin a
// minute: each stores a row, and the sign-in page begins one at every load
// (for autofill).
const DefaultCeremoniesPerMinute = 30

// Users finds an account by the name typed on the sign-in page
// (storage.Storage implements it).
type Users interface {
	GetUserByLogin(ctx context.Context, login string) (*models.User, error)
}

// Options configure the surface.
type Options struct {
	// CeremoniesPerMinute caps the ceremonies one client address may begin
	// per minute (DefaultCeremoniesPerMinute when zero).
	CeremoniesPerMinute int64
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Surface is the passkey first factor and account section. Register it
// with idp.Options.FirstFactors.
type Surface struct {
	svc   *passkey.Service
	users Users
	opts  Options
	log   *slog.Logger
	ctl   idp.FirstFactorControl
	limit *limiter.Limiter
}

var (
	_ idp.FirstFactor    = (*Surface)(nil)
	_ idp.AccountSection = (*Surface)(nil)
)

// New builds the surface over the passkey service.
func New(svc *passkey.Service, users Users, opts Options) (*Surface, error) {
	if svc == nil || users == nil {
		return nil, errors.New("passkeyweb: a passkey service and a user store are required")
	}
	if opts.CeremoniesPerMinute == 0 {
		opts.CeremoniesPerMinute = DefaultCeremoniesPerMinute
	}
	if opts.CeremoniesPerMinute < 0 {
		return nil, fmt.Errorf("passkeyweb: ceremonies per minute must be positive, got %d", opts.CeremoniesPerMinute)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Surface{svc: svc, users: users, opts: opts, log: opts.Logger}, nil
}

// Name is the policy name of the factor.
func (p *Surface) Name() string { return policy.FirstFactorPasskey }

// Mount registers the routes (under /login/passkey/, behind CSRF).
func (p *Surface) Mount(mux *http.ServeMux, ctl idp.FirstFactorControl) {
	p.ctl = ctl
	// On the provider's store: with Redis the limit holds across instances.
	p.limit = limiter.New(ctl.RateLimitStore(), limiter.Rate{Period: time.Minute, Limit: p.opts.CeremoniesPerMinute})
	mux.HandleFunc("POST /login/passkey/begin", p.loginBegin)
	mux.HandleFunc("POST /login/passkey/finish", p.loginFinish)
	mux.HandleFunc("POST /login/passkey/reauth/begin", p.reauthBegin)
	mux.HandleFunc("POST /login/passkey/reauth/finish", p.reauthFinish)
	mux.HandleFunc("POST /login/passkey/register/begin", p.registerBegin)
	mux.HandleFunc("POST /login/passkey/register/finish", p.registerFinish)
	mux.HandleFunc("POST /login/passkey/manage/{id}/rename", p.rename)
	mux.HandleFunc("POST /login/passkey/manage/{id}/delete", p.remove)
}

// rateLimit counts a ceremony begun from the request's address.
func (p *Surface) rateLimit(ctx context.Context) *webapi.Error {
	lc, err := p.limit.Get(ctx, "passkey:ip:"+idp.RemoteIP(ctx))
	if err != nil {
		p.log.ErrorContext(ctx, "passkey rate limiter", "err", err)
		return errUnavailable
	}
	if lc.Reached {
		wait := max(time.Until(time.Unix(lc.Reset, 0)), time.Second)
		return &webapi.Error{Status: http.StatusTooManyRequests, Code: "rate_limited", Desc: "Too many passkey requests from your network. Wait a minute and try again.", RetryAfter: wait}
	}
	return nil
}

// callerContext carries who asks into the passkey service's audit events.
func callerContext(r *http.Request, clientID string) context.Context {
	return auditlog.WithCaller(r.Context(), auditlog.Caller{ClientID: clientID, RemoteIP: idp.RemoteIP(r.Context())})
}

// sessionBinding binds an account-page ceremony to the browser's login
// session (its id is a secret only that browser holds).
func sessionBinding(sess *models.Session) passkey.Binding {
	h := sha256.Sum256([]byte("faceidp passkey account\x00" + sess.ID))
	return passkey.Binding{Browser: hex.EncodeToString(h[:])}
}

// ceremonyResponse is the body of a 200 from a begin endpoint.
type ceremonyResponse struct {
	CeremonyID string          `json:"ceremony_id"`
	Options    json.RawMessage `json:"options"`
	ExpiresAt  time.Time       `json:"expires_at"`
	ExpiresIn  int             `json:"expires_in"`
}

// writeCeremony answers a begin request with ceremony c, or the error of
// beginning it (what names the step for the log).
func (p *Surface) writeCeremony(w http.ResponseWriter, r *http.Request, what string, c *passkey.Ceremony, err error) {
	if err != nil {
		if e := ceremonyError(err); e != nil {
			writeError(w, e)
			return
		}
		p.log.ErrorContext(r.Context(), what, "err", err)
		writeError(w, errUnavailable)
		return
	}
	webapi.WriteJSON(w, http.StatusOK, p.ceremony(c))
}

func (p *Surface) ceremony(c *passkey.Ceremony) ceremonyResponse {
	return ceremonyResponse{CeremonyID: c.ID, Options: c.Options, ExpiresAt: c.ExpiresAt.UTC(),
		ExpiresIn: int(c.ExpiresAt.Sub(p.ctl.Now()).Round(time.Second) / time.Second)}
}
