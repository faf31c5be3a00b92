package idp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/internal/pgtest"
	"github.com/faceidp/faceidp/models"
)

// Two instances behind a load balancer serve one flow: every protocol
// state is in the shared PostgreSQL database, nothing in process memory.
// The flow starts on A, the login form is posted to B, the code is
// exchanged on A, the refresh token is rotated on B, and every ID token
// verifies with the JWKS of either instance.
func TestTwoInstancesServeOneFlowOnPostgres(t *testing.T) {
	e := newEnvDB(t, pgtest.SchemaURL(t))
	bURL, _ := e.secondInstance(t)
	alice := e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	r := e.rp(t, "app", "app-secret")
	onB := func(u string) string { return bURL + strings.TrimPrefix(u, e.issuer) }

	// authorize on A.
	br := e.newBrowser()
	a := r.start()
	p := get(t, br, a.url)
	if p.status != http.StatusOK || p.url.Host != strings.TrimPrefix(e.issuer, "http://") {
		t.Fatalf("authorize on A: %d at %s", p.status, p.url)
	}
	// The login form posted to B: B finds the auth request, the browser
	// binding and the CSRF secret A made.
	f := parseForm(t, p.body)
	f.fields.Set("username", "alice")
	f.fields.Set("password", alicePW)
	resp := postForm(t, br, bURL+f.action, f.fields)
	loc, err := url.Parse(resp.header.Get("Location"))
	if err != nil || resp.status != http.StatusFound {
		t.Fatalf("login on B: %d Location=%q\n%s", resp.status, resp.header.Get("Location"), resp.body)
	}
	code := codeFrom(t, loc, a)

	// Code exchange on A.
	tok, err := r.cfg.Exchange(e.ctx, code, oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatalf("exchange on A: %v", err)
	}
	// Refresh on B.
	bTokenURL := onB(r.cfg.Endpoint.TokenURL)
	if bTokenURL == r.cfg.Endpoint.TokenURL {
		t.Fatalf("token endpoint %s is not under the issuer", bTokenURL)
	}
	rb := *r
	rb.cfg.Endpoint.TokenURL = bTokenURL
	st, body := e.refresh(t, &rb, tok.RefreshToken)
	if st != http.StatusOK {
		t.Fatalf("refresh on B: %d %v", st, body)
	}
	// The rotated token is spent for A too.
	if st, body := e.refresh(t, r, tok.RefreshToken); st != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("token rotated on B accepted again on A: %d %v", st, body)
	}

	// Both instances publish the same keys; each ID token verifies with
	// either JWKS.
	jwksA, jwksB := jwkIDs(t, e.issuer+"/keys"), jwkIDs(t, bURL+"/keys")
	if len(jwksA) == 0 || strings.Join(jwksA, ",") != strings.Join(jwksB, ",") {
		t.Fatalf("JWKS differ: A %v, B %v", jwksA, jwksB)
	}
	rawA, _ := tok.Extra("id_token").(string)
	rawB, _ := body["id_token"].(string)
	for _, keys := range []string{e.issuer + "/keys", bURL + "/keys"} {
		v := gooidc.NewVerifier(e.issuer, gooidc.NewRemoteKeySet(context.Background(), keys),
			&gooidc.Config{ClientID: "app", SupportedSigningAlgs: []string{"RS256", "ES256"}})
		for name, raw := range map[string]string{"exchange on A": rawA, "refresh on B": rawB} {
			idt, err := v.Verify(e.ctx, raw)
			if err != nil {
				t.Fatalf("ID token from %s with keys from %s: %v", name, keys, err)
			}
			var c struct {
				ACR string `json:"acr"`
			}
			_ = idt.Claims(&c)
			if idt.Subject != alice.ID || c.ACR != policy.ACRSingleFactor {
				t.Errorf("ID token from %s: sub=%q acr=%q", name, idt.Subject, c.ACR)
			}
		}
	}

	// The session made on B satisfies a new authorize on A.
	a2 := r.start()
	p = get(t, br, a2.url)
	loc, _ = url.Parse(p.header.Get("Location"))
	if p.status != http.StatusSeeOther && p.status != http.StatusFound {
		t.Fatalf("authorize on A with the session from B: %d at %s", p.status, p.url)
	}
	codeFrom(t, loc, a2)
}

func jwkIDs(t *testing.T, u string) []string {
	t.Helper()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	p := get(t, http.DefaultClient, u)
	if err := json.Unmarshal([]byte(p.body), &set); err != nil {
		t.Fatalf("JWKS %s: %v", u, err)
	}
	var ids []string
	for _, k := range set.Keys {
		ids = append(ids, k.Kid)
	}
	return ids
}
