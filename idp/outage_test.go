package idp

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/faceidp/faceidp/internal/pgtest"
	"github.com/faceidp/faceidp/internal/tcpproxy"
	"github.com/faceidp/faceidp/models"
)

// A database outage gives every endpoint that needs the database a clean
// 503 with no detail (no driver message, host, user, database or file),
// never an answer that misstates the request ("invalid code", "token
// revoked", "inactive"); discovery and JWKS keep being served from memory.
func TestDatabaseOutageIs503Everywhere(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		e := newEnv(t, fastRefusals)
		outageChecks(t, e, func() { _ = e.store.Close() }, []string{strings.TrimPrefix(e.dbURL, "sqlite://"), "sqlite"})
	})
	t.Run("postgres", func(t *testing.T) {
		base, err := url.Parse(pgtest.SchemaURL(t))
		if err != nil {
			t.Fatal(err)
		}
		proxy := tcpproxy.Start(t, base.Host)
		through := *base
		through.Host = proxy.Addr()
		e := newEnvDB(t, through.String(), fastRefusals)
		outageChecks(t, e, proxy.Stop, []string{proxy.Addr(), base.Query().Get("search_path"), base.User.Username(), "postgres", strings.TrimPrefix(base.Path, "/")})
	})
}

func outageChecks(t *testing.T, e *env, goDown func(), secrets []string) {
	r, b, tok := aliceTokens(t, e)
	e.addClient(&models.Client{ID: "web", RedirectURIs: []string{rpRedirect}, PostLogoutRedirectURIs: []string{rpLogout}}, "web-secret")
	// A sign-in in progress (its login form and CSRF cookie) and a code
	// that was exchanged.
	fresh := e.newBrowser()
	pending := r.start()
	form := parseForm(t, get(t, fresh, pending.url).body)
	a := r.start()
	code := codeFrom(t, e.signIn(t, e.newBrowser(), a.url, "alice", alicePW), a)
	if _, err := r.cfg.Exchange(e.ctx, code, oauth2.VerifierOption(a.verifier)); err != nil {
		t.Fatal(err)
	}
	authReqID := form.fields.Get("authRequestID")

	goDown()

	post := func(c *http.Client, u string, v url.Values, id, secret string) page {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if id != "" {
			req.SetBasicAuth(id, secret)
		}
		return do(t, c, req)
	}
	bearer := func(u string) page {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		return do(t, http.DefaultClient, req)
	}
	form.fields.Set("username", "alice")
	form.fields.Set("password", alicePW)
	cases := []struct {
		name string
		p    func() page
	}{
		{"authorize", func() page { return get(t, e.newBrowser(), r.start().url) }},
		{"login page", func() page { return get(t, fresh, e.issuer+"/login/?authRequestID="+url.QueryEscape(authReqID)) }},
		{"password", func() page { return postForm(t, fresh, e.abs(form.action), form.fields) }},
		{"consent page", func() page { return get(t, fresh, e.issuer+"/login/consent?authRequestID="+url.QueryEscape(authReqID)) }},
		{"callback", func() page { return get(t, fresh, e.issuer+"/authorize/callback?id="+url.QueryEscape(authReqID)) }},
		{"code exchange", func() page {
			return post(http.DefaultClient, r.cfg.Endpoint.TokenURL, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}, "code_verifier": {a.verifier}}, "app", "app-secret")
		}},
		{"refresh", func() page {
			return post(http.DefaultClient, r.cfg.Endpoint.TokenURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, "app", "app-secret")
		}},
		{"userinfo", func() page { return bearer(e.issuer + "/userinfo") }},
		{"introspection", func() page {
			return post(http.DefaultClient, e.issuer+"/oauth/introspect", url.Values{"token": {tok.AccessToken}}, "app", "app-secret")
		}},
		{"revocation", func() page {
			return post(http.DefaultClient, e.issuer+"/revoke", url.Values{"token": {tok.RefreshToken}}, "app", "app-secret")
		}},
		{"end_session with hint", func() page {
			return get(t, b, e.issuer+"/end_session?"+url.Values{"id_token_hint": {tok.Extra("id_token").(string)}}.Encode())
		}},
		{"end_session without hint", func() page {
			return get(t, b, e.issuer+"/end_session?"+url.Values{"client_id": {"web"}, "post_logout_redirect_uri": {rpLogout}}.Encode())
		}},
		{"healthz", func() page { return get(t, http.DefaultClient, e.issuer+"/healthz") }},
	}
	for _, tc := range cases {
		p := tc.p()
		if p.status != http.StatusServiceUnavailable {
			t.Errorf("%s during the outage: %d, want 503\n%.300s", tc.name, p.status, p.body)
		}
		if loc := p.header.Get("Location"); loc != "" {
			t.Errorf("%s during the outage redirects to %s", tc.name, loc)
		}
		low := strings.ToLower(p.body)
		for _, leak := range append([]string{"sql", "dial", "connect", "closed", "user=", "dbname", "revoked", "invalid"}, secrets...) {
			if leak != "" && strings.Contains(low, strings.ToLower(leak)) {
				t.Errorf("%s during the outage reveals %q:\n%.500s", tc.name, leak, p.body)
			}
		}
	}
	for _, path := range []string{"/.well-known/openid-configuration", "/keys"} {
		if p := get(t, http.DefaultClient, e.issuer+path); p.status != http.StatusOK {
			t.Errorf("%s during the outage: %d, want 200 from memory", path, p.status)
		}
	}
}
