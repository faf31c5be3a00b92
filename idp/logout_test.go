package idp

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// signedIn returns a browser with a login session for alice at app.
func signedIn(t *testing.T, e *env, r *rp) *http.Client {
	t.Helper()
	b := e.newBrowser()
	a := r.start()
	codeFrom(t, e.signIn(t, b, a.url, "alice", alicePW), a)
	return b
}

// stillSignedIn reports whether the browser's session still satisfies a
// new authorize request without showing the login form.
func stillSignedIn(t *testing.T, r *rp, b *http.Client) bool {
	t.Helper()
	a := r.start()
	p := get(t, b, a.url)
	return p.status == http.StatusSeeOther || p.status == http.StatusFound
}

// RP-initiated logout without an id_token_hint may come from any site (an
// <img src=".../end_session">): it must ask the user before ending the
// session, with a CSRF-protected form.
func TestLogoutWithoutHintAsksFirst(t *testing.T) {
	e := newEnv(t)
	alice := e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "app", Name: "Demo App", RedirectURIs: []string{rpRedirect},
		PostLogoutRedirectURIs: []string{rpLogout}, SkipConsent: true}, "app-secret")
	r := e.rp(t, "app", "app-secret")

	t.Run("a bare GET does not sign the user out", func(t *testing.T) {
		b := signedIn(t, e, r)
		p := get(t, b, e.issuer+"/end_session")
		if p.status != http.StatusOK || !strings.Contains(p.body, "Sign out of faceidp?") {
			t.Fatalf("end_session without hint: %d at %s\n%s", p.status, p.url, p.body)
		}
		if !stillSignedIn(t, r, b) {
			t.Fatal("end_session without id_token_hint signed the user out without asking")
		}
	})

	t.Run("a cross-site POST without the CSRF token is refused", func(t *testing.T) {
		b := signedIn(t, e, r)
		p := postForm(t, b, e.issuer+"/login/logout", url.Values{"decision": {"logout"}, "client_id": {"app"}})
		if p.status != http.StatusForbidden {
			t.Fatalf("forged logout POST: %d", p.status)
		}
		if !stillSignedIn(t, r, b) {
			t.Fatal("forged logout POST signed the user out")
		}
	})

	t.Run("confirming signs out and returns to the registered URI", func(t *testing.T) {
		b := signedIn(t, e, r)
		q := url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {rpLogout}, "state": {"bye"}}
		p := get(t, b, e.issuer+"/end_session?"+q.Encode())
		if p.status != http.StatusOK || !strings.Contains(p.body, "Sign out of faceidp?") || !strings.Contains(p.body, "Demo App") {
			t.Fatalf("confirmation page: %d\n%s", p.status, p.body)
		}
		f := parseForm(t, p.body)
		f.fields.Set("decision", "logout")
		resp := postForm(t, b, e.abs(f.action), f.fields)
		if loc := resp.header.Get("Location"); loc != rpLogout+"?state=bye" {
			t.Fatalf("after confirming: %d Location=%q\n%s", resp.status, loc, resp.body)
		}
		if stillSignedIn(t, r, b) {
			t.Fatal("confirmed logout left the session active")
		}
		if ev, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{Type: "logout", UserID: alice.ID}); len(ev) == 0 {
			t.Error("no audit event for the confirmed logout")
		}
	})

	t.Run("cancelling keeps the session", func(t *testing.T) {
		b := signedIn(t, e, r)
		p := get(t, b, e.issuer+"/end_session?client_id=app")
		f := parseForm(t, p.body)
		f.fields.Set("decision", "stay")
		resp := postForm(t, b, e.abs(f.action), f.fields)
		if resp.status != http.StatusOK || !strings.Contains(resp.body, "still signed in") {
			t.Fatalf("cancel: %d\n%s", resp.status, resp.body)
		}
		if !stillSignedIn(t, r, b) {
			t.Fatal("cancelling signed the user out")
		}
	})

	t.Run("post_logout_redirect_uri needs a client that registered it", func(t *testing.T) {
		b := signedIn(t, e, r)
		p := get(t, b, e.issuer+"/end_session?"+url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {"http://127.0.0.1:9/elsewhere"}}.Encode())
		if p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
			t.Fatalf("unregistered post_logout_redirect_uri: %d Location=%q", p.status, p.header.Get("Location"))
		}
		// Without client_id the URI is ignored: the user lands on our page.
		p = get(t, b, e.issuer+"/end_session?"+url.Values{"post_logout_redirect_uri": {rpLogout}}.Encode())
		f := parseForm(t, p.body)
		f.fields.Set("decision", "logout")
		resp := postForm(t, b, e.abs(f.action), f.fields)
		if resp.status != http.StatusOK || resp.url.Path != "/login/logged-out" {
			t.Fatalf("logout without client_id ended at %d %s (Location %q)", resp.status, resp.url, resp.header.Get("Location"))
		}
		if stillSignedIn(t, r, b) {
			t.Fatal("still signed in after confirming")
		}
	})

	t.Run("with a valid id_token_hint there is no question", func(t *testing.T) {
		b := e.newBrowser()
		a := r.start()
		tok, err := r.cfg.Exchange(e.ctx, codeFrom(t, e.signIn(t, b, a.url, "alice", alicePW), a), oauth2.VerifierOption(a.verifier))
		if err != nil {
			t.Fatal(err)
		}
		q := url.Values{"id_token_hint": {tok.Extra("id_token").(string)}, "post_logout_redirect_uri": {rpLogout}}
		p := get(t, b, e.issuer+"/end_session?"+q.Encode())
		if p.status != http.StatusFound || p.header.Get("Location") != rpLogout {
			t.Fatalf("logout with hint: %d Location=%q", p.status, p.header.Get("Location"))
		}
		if stillSignedIn(t, r, b) {
			t.Fatal("logout with id_token_hint left the session active")
		}
	})

	t.Run("without a session there is nothing to confirm", func(t *testing.T) {
		p := get(t, e.newBrowser(), e.issuer+"/end_session?"+url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {rpLogout}}.Encode())
		if p.status != http.StatusFound || p.header.Get("Location") != rpLogout {
			t.Fatalf("logout without a session: %d Location=%q\n%s", p.status, p.header.Get("Location"), p.body)
		}
	})
}
