// Package demorp is faceidp's demo relying party: a small web app that signs
// in through the provider with the authorization code flow and PKCE
// (github.com/coreos/go-oidc/v3 and golang.org/x/oauth2, libraries faceidp
// did not write), then shows the verified ID token's claims, the userinfo
// response, a refresh button and RP-initiated logout. It keeps its state in
// memory and is meant for trying faceidp out, not for production.
package demorp

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Options configure the demo app.
type Options struct {
	// Issuer is the provider's issuer URL (discovery is fetched lazily, so
	// the app may start before the provider).
	Issuer string
	// ClientID and ClientSecret are the registered client; an empty secret
	// means a public client (PKCE alone).
	ClientID     string
	ClientSecret string
	// BaseURL is where this app is reached, e.g. http://127.0.0.1:9090;
	// BaseURL+"/callback" must be a registered redirect URI and BaseURL+"/"
	// a registered post-logout redirect URI.
	BaseURL string
	// Scopes requested; default openid profile email offline_access.
	Scopes []string
	// HTTPClient talks to the provider (default http.DefaultClient).
	HTTPClient *http.Client
	Now        func() time.Time
	Rand       io.Reader
	Logger     *slog.Logger
}

const (
	flowTTL       = 10 * time.Minute
	sessionTTL    = 8 * time.Hour
	maxFlows      = 10000
	maxSessions   = 10000
	flowCookie    = "demo_rp_flow"
	sessionCookie = "demo_rp_session"
)

// App is the demo relying party. Build it with New and serve Handler().
type App struct {
	opts     Options
	oauth    oauth2.Config
	mu       sync.Mutex
	provider *oidc.Provider
	endSess  string
	flows    map[string]*flow
	sessions map[string]*session
}

// flow is one sign-in in progress, keyed by the value of the flow cookie.
type flow struct {
	state, nonce, verifier string
	expires                time.Time
}

// session is a signed-in browser.
type session struct {
	idToken  *oidc.IDToken
	rawID    string
	claims   map[string]any
	userinfo map[string]any
	uiErr    string
	token    *oauth2.Token
	csrf     string
	expires  time.Time
	notice   string
}

// New checks opts and builds the app.
func New(opts Options) (*App, error) {
	if opts.Issuer == "" || opts.ClientID == "" || opts.BaseURL == "" {
		return nil, errors.New("demo-rp: issuer, client id and base URL are required")
	}
	if _, err := url.Parse(opts.BaseURL); err != nil {
		return nil, fmt.Errorf("demo-rp: base URL: %w", err)
	}
	opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	if len(opts.Scopes) == 0 {
		opts.Scopes = []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.Now == nil || opts.Rand == nil {
		return nil, errors.New("demo-rp: clock and random source are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &App{
		opts: opts,
		oauth: oauth2.Config{
			ClientID:     opts.ClientID,
			ClientSecret: opts.ClientSecret,
			RedirectURL:  opts.BaseURL + "/callback",
			Scopes:       opts.Scopes,
		},
		flows:    map[string]*flow{},
		sessions: map[string]*session{},
	}, nil
}

// Handler serves the app's pages.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.login)
	mux.HandleFunc("GET /callback", a.callback)
	mux.HandleFunc("POST /refresh", a.refresh)
	mux.HandleFunc("POST /logout", a.logout)
	return http.MaxBytesHandler(securityHeaders(mux), 16<<10)
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// No form-action: the logout form's redirect goes to the provider.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// ctx carries the HTTP client to go-oidc and x/oauth2.
func (a *App) ctx(r *http.Request) context.Context {
	ctx := oidc.ClientContext(r.Context(), a.opts.HTTPClient)
	return context.WithValue(ctx, oauth2.HTTPClient, a.opts.HTTPClient)
}

// discover fetches the provider's discovery document once it is reachable.
func (a *App) discover(ctx context.Context) (*oidc.Provider, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.provider != nil {
		return a.provider, nil
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(dctx, a.opts.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover provider at %s: %w", a.opts.Issuer, err)
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&extra); err != nil {
		return nil, fmt.Errorf("read discovery document: %w", err)
	}
	a.provider, a.endSess = p, extra.EndSession
	a.oauth.Endpoint = p.Endpoint()
	if a.opts.ClientSecret == "" {
		a.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	} else {
		a.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	}
	return p, nil
}

func (a *App) random() (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(a.opts.Rand, b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// login starts the authorization code flow with PKCE (S256), state and
// nonce. ?prompt= and ?max_age= are passed through to show how the provider
// handles them.
func (a *App) login(w http.ResponseWriter, r *http.Request) {
	if _, err := a.discover(a.ctx(r)); err != nil {
		a.render(w, http.StatusBadGateway, page{Error: err.Error()})
		return
	}
	var f flow
	var id string
	var err error
	for _, p := range []*string{&id, &f.state, &f.nonce, &f.verifier} {
		if *p, err = a.random(); err != nil {
			a.render(w, http.StatusInternalServerError, page{Error: err.Error()})
			return
		}
	}
	now := a.opts.Now()
	f.expires = now.Add(flowTTL)
	a.mu.Lock()
	for k, v := range a.flows {
		if now.After(v.expires) {
			delete(a.flows, k)
		}
	}
	if len(a.flows) >= maxFlows {
		a.mu.Unlock()
		a.render(w, http.StatusServiceUnavailable, page{Error: "too many sign-ins in progress; try again later"})
		return
	}
	a.flows[id] = &f
	authURL := a.authCodeURL(&f, r.URL.Query())
	a.mu.Unlock()

	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: id, Path: "/callback", MaxAge: int(flowTTL / time.Second),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, authURL, http.StatusFound)
}

func (a *App) authCodeURL(f *flow, q url.Values) string {
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.verifier), oidc.Nonce(f.nonce)}
	if p := q.Get("prompt"); p == "login" || p == "consent" || p == "none" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", p))
	}
	if m := q.Get("max_age"); m != "" && strings.Trim(m, "0123456789") == "" && len(m) < 10 {
		opts = append(opts, oauth2.SetAuthURLParam("max_age", m))
	}
	return a.oauth.AuthCodeURL(f.state, opts...)
}

// callback completes the flow: it checks state, exchanges the code with the
// PKCE verifier, verifies the ID token (signature, issuer, audience,
// expiry) and its nonce, and fetches userinfo.
func (a *App) callback(w http.ResponseWriter, r *http.Request) {
	ctx := a.ctx(r)
	c, err := r.Cookie(flowCookie)
	var f *flow
	if err == nil {
		a.mu.Lock()
		f = a.flows[c.Value]
		delete(a.flows, c.Value) // a flow is answered once
		a.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Path: "/callback", MaxAge: -1, HttpOnly: true})
	q := r.URL.Query()
	switch {
	case f == nil || a.opts.Now().After(f.expires):
		a.render(w, http.StatusBadRequest, page{Error: "this sign-in is unknown or expired; start again"})
		return
	case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.state)) != 1:
		a.render(w, http.StatusBadRequest, page{Error: "state mismatch: the response does not belong to this sign-in"})
		return
	case q.Get("error") != "":
		a.render(w, http.StatusOK, page{Error: fmt.Sprintf("the provider answered %s: %s", q.Get("error"), q.Get("error_description"))})
		return
	case q.Get("code") == "":
		a.render(w, http.StatusBadRequest, page{Error: "the provider's response has no code"})
		return
	}
	p, err := a.discover(ctx)
	if err != nil {
		a.render(w, http.StatusBadGateway, page{Error: err.Error()})
		return
	}
	tok, err := a.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(f.verifier))
	if err != nil {
		a.render(w, http.StatusBadGateway, page{Error: "code exchange failed: " + err.Error()})
		return
	}
	s, err := a.newSession(ctx, p, tok, f.nonce)
	if err != nil {
		a.render(w, http.StatusBadGateway, page{Error: err.Error()})
		return
	}
	id, err := a.random()
	if err != nil {
		a.render(w, http.StatusInternalServerError, page{Error: err.Error()})
		return
	}
	now := a.opts.Now()
	a.mu.Lock()
	for k, v := range a.sessions {
		if now.After(v.expires) {
			delete(a.sessions, k)
		}
	}
	if len(a.sessions) >= maxSessions {
		a.mu.Unlock()
		a.render(w, http.StatusServiceUnavailable, page{Error: "too many sessions; try again later"})
		return
	}
	a.sessions[id] = s
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", MaxAge: int(sessionTTL / time.Second),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	a.opts.Logger.Info("demo-rp: signed in", "sub", s.idToken.Subject)
	http.Redirect(w, r, "/", http.StatusFound)
}

// newSession verifies tok's ID token (and nonce when non-empty) and loads
// userinfo.
func (a *App) newSession(ctx context.Context, p *oidc.Provider, tok *oauth2.Token, nonce string) (*session, error) {
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return nil, errors.New("the token response has no id_token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: a.opts.ClientID, Now: a.opts.Now}).Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("ID token rejected: %w", err)
	}
	if nonce != "" && subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, errors.New("ID token rejected: nonce mismatch")
	}
	csrf, err := a.random()
	if err != nil {
		return nil, err
	}
	s := &session{idToken: idt, rawID: raw, token: tok, csrf: csrf, expires: a.opts.Now().Add(sessionTTL)}
	if err := idt.Claims(&s.claims); err != nil {
		return nil, fmt.Errorf("read ID token claims: %w", err)
	}
	ui, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err == nil {
		err = ui.Claims(&s.userinfo)
	}
	if err != nil {
		s.uiErr = err.Error()
	}
	return s, nil
}

// current returns the browser's session, if any.
func (a *App) current(r *http.Request) (string, *session) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.sessions[c.Value]
	if s == nil || a.opts.Now().After(s.expires) {
		return "", nil
	}
	return c.Value, s
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	_, s := a.current(r)
	pg := page{Issuer: a.opts.Issuer, ClientID: a.opts.ClientID}
	if q := r.URL.Query(); q.Get("logged_out") != "" || q.Get("state") == "logged_out" {
		pg.Notice = "You are signed out of the demo app and the provider."
	}
	if s != nil {
		a.mu.Lock()
		pg.Session = s.view()
		pg.Notice, s.notice = s.notice, ""
		a.mu.Unlock()
	}
	a.render(w, http.StatusOK, pg)
}

// checkCSRF compares the form's token with the session's.
func checkCSRF(r *http.Request, s *session) bool {
	return subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.csrf)) == 1
}

// refresh exchanges the refresh token; the provider rotates it, so the old
// one stops working (shown on the page).
func (a *App) refresh(w http.ResponseWriter, r *http.Request) {
	_, s := a.current(r)
	if s == nil || !checkCSRF(r, s) {
		a.render(w, http.StatusForbidden, page{Error: "not signed in, or the form is stale"})
		return
	}
	ctx := a.ctx(r)
	p, err := a.discover(ctx)
	if err != nil {
		a.render(w, http.StatusBadGateway, page{Error: err.Error()})
		return
	}
	a.mu.Lock()
	old := s.token.RefreshToken
	a.mu.Unlock()
	if old == "" {
		a.render(w, http.StatusBadRequest, page{Error: "no refresh token (the offline_access scope was not granted)"})
		return
	}
	tok, err := a.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: old}).Token()
	if err != nil {
		a.render(w, http.StatusBadGateway, page{Error: "refresh failed: " + err.Error()})
		return
	}
	ns, err := a.newSession(ctx, p, tok, "")
	if err != nil {
		a.render(w, http.StatusBadGateway, page{Error: err.Error()})
		return
	}
	a.mu.Lock()
	ns.csrf, ns.expires = s.csrf, s.expires
	ns.notice = "Tokens refreshed."
	if tok.RefreshToken != old {
		ns.notice += " The provider rotated the refresh token: the previous one is now invalid."
	}
	*s = *ns
	a.mu.Unlock()
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the local session and sends the browser to the provider's
// end_session endpoint (RP-initiated logout) with the ID token as hint.
func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	id, s := a.current(r)
	if s == nil || !checkCSRF(r, s) {
		a.render(w, http.StatusForbidden, page{Error: "not signed in, or the form is stale"})
		return
	}
	a.mu.Lock()
	delete(a.sessions, id)
	rawID, endSess := s.rawID, a.endSess
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true})
	if endSess == "" {
		http.Redirect(w, r, "/?logged_out=1", http.StatusSeeOther)
		return
	}
	q := url.Values{
		"id_token_hint":            {rawID},
		"client_id":                {a.opts.ClientID},
		"post_logout_redirect_uri": {a.opts.BaseURL + "/"},
		"state":                    {"logged_out"},
	}
	sep := "?"
	if strings.Contains(endSess, "?") {
		sep = "&"
	}
	http.Redirect(w, r, endSess+sep+q.Encode(), http.StatusSeeOther)
}
