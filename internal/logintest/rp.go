package logintest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// RP is a relying party for browser tests: a public client with PKCE
// using coreos/go-oidc and x/oauth2, as a third-party app would. Serve it
// (it is an http.Handler) on its own 127.0.0.1 port, register
// BASE/callback and BASE/signed-out with the provider, then Init it.
//
//	/          a page with a#sign-in
//	/login     starts the authorization code flow
//	/callback  exchanges the code, verifies the ID token, shows its claims
//	           in pre#claims (or the error the provider sent)
//	/logout    RP-initiated logout
//	/signed-out  h1#signed-out
type RP struct {
	cfg      oauth2.Config
	verifier *gooidc.IDTokenVerifier
	endURL   string
	base     string

	mu      sync.Mutex
	pending map[string]rpStart // by state
	claims  Claims
	rawID   string
	errs    []string
}

type rpStart struct{ verifier, nonce string }

// Claims are the ID token claims the tests check.
type Claims struct {
	Sub string   `json:"sub"`
	AMR []string `json:"amr"`
	ACR string   `json:"acr"`
}

// RPServer is an RP on its own 127.0.0.1 port.
type RPServer struct {
	*RP
	// Base is where the RP is served: register Base/callback and
	// Base/signed-out with the provider.
	Base string
	srv  *httptest.Server
}

// NewRPServer reserves the RP's port; Start it once the provider runs.
func NewRPServer() *RPServer {
	a := &RP{}
	srv := httptest.NewUnstartedServer(a)
	return &RPServer{RP: a, Base: "http://" + srv.Listener.Addr().String(), srv: srv}
}

// Start inits the RP as clientID of the provider at issuer and serves it
// until the test ends.
func (s *RPServer) Start(t testing.TB, issuer, clientID string) {
	t.Helper()
	s.Init(t, issuer, clientID, s.Base)
	s.srv.Start()
	t.Cleanup(s.srv.Close)
}

// Init discovers the provider at issuer; base is where the RP is served.
func (a *RP) Init(t testing.TB, issuer, clientID, base string) {
	t.Helper()
	p, err := gooidc.NewProvider(context.Background(), issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&meta); err != nil || meta.EndSession == "" {
		t.Fatalf("discovery has no end_session_endpoint: %v", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cfg = oauth2.Config{ClientID: clientID, Endpoint: p.Endpoint(), RedirectURL: base + "/callback", Scopes: []string{gooidc.ScopeOpenID, "profile"}}
	a.verifier = p.Verifier(&gooidc.Config{ClientID: clientID})
	a.endURL, a.base = meta.EndSession, base
	a.pending = map[string]rpStart{}
}

// LastClaims are the claims of the last successful sign-in.
func (a *RP) LastClaims() Claims {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.claims
}

// Errors are the errors the provider sent to the callback, oldest first.
func (a *RP) Errors() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.errs...)
}

func (a *RP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	switch r.URL.Path {
	case "/":
		fmt.Fprint(w, `<!doctype html><title>Demo app</title><h1>Demo app</h1><a id="sign-in" href="/login">Sign in</a>`)
	case "/login":
		s := rpStart{verifier: oauth2.GenerateVerifier(), nonce: oauth2.GenerateVerifier()}
		state := oauth2.GenerateVerifier()
		a.mu.Lock()
		a.pending[state] = s
		u := a.cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(s.verifier), gooidc.Nonce(s.nonce))
		a.mu.Unlock()
		http.Redirect(w, r, u, http.StatusFound)
	case "/callback":
		a.mu.Lock()
		s, ok := a.pending[r.URL.Query().Get("state")]
		delete(a.pending, r.URL.Query().Get("state"))
		a.mu.Unlock()
		if !ok {
			http.Error(w, "unknown state", http.StatusBadRequest)
			return
		}
		if e := r.URL.Query().Get("error"); e != "" {
			a.mu.Lock()
			a.errs = append(a.errs, e)
			a.mu.Unlock()
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `<!doctype html><title>Error</title><p id="error">%s: %s</p>`, html.EscapeString(e), html.EscapeString(r.URL.Query().Get("error_description")))
			return
		}
		tok, err := a.cfg.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(s.verifier))
		if err != nil {
			http.Error(w, "token exchange: "+err.Error(), http.StatusBadGateway)
			return
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := a.verifier.Verify(r.Context(), raw)
		if err != nil || idt.Nonce != s.nonce {
			http.Error(w, fmt.Sprintf("ID token: %v (nonce ok: %v)", err, err == nil && idt.Nonce == s.nonce), http.StatusBadGateway)
			return
		}
		var c Claims
		var all map[string]any
		if err := errors.Join(idt.Claims(&c), idt.Claims(&all)); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		a.mu.Lock()
		a.claims, a.rawID = c, raw
		a.mu.Unlock()
		pretty, _ := json.MarshalIndent(all, "", "  ")
		fmt.Fprintf(w, `<!doctype html><title>Signed in</title><h1>Signed in</h1><pre id="claims">%s</pre><a id="sign-out" href="/logout">Sign out</a>`, html.EscapeString(string(pretty)))
	case "/logout":
		a.mu.Lock()
		q := url.Values{"id_token_hint": {a.rawID}, "client_id": {a.cfg.ClientID}, "post_logout_redirect_uri": {a.base + "/signed-out"}}
		a.mu.Unlock()
		http.Redirect(w, r, a.endURL+"?"+q.Encode(), http.StatusFound)
	case "/signed-out":
		fmt.Fprint(w, `<!doctype html><title>Signed out</title><h1 id="signed-out">Signed out</h1><a id="sign-in" href="/login">Sign in again</a>`)
	default:
		http.NotFound(w, r)
	}
}
