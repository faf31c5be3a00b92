package idp

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func acrValues(v ...string) oauth2.AuthCodeOption {
	return oauth2.SetAuthURLParam("acr_values", strings.Join(v, " "))
}

// wantUnmet checks a redirect to the client carrying
// unmet_authentication_requirements and the request's state.
func wantUnmet(t *testing.T, what string, loc *url.URL, a authStart) {
	t.Helper()
	if loc == nil || !strings.HasPrefix(loc.String(), rpRedirect) || loc.Query().Get("error") != "unmet_authentication_requirements" ||
		loc.Query().Get("state") != a.state || loc.Query().Get("code") != "" {
		t.Fatalf("%s: redirected to %v, want error=unmet_authentication_requirements with the state", what, loc)
	}
}

// acr_values the client's policy can never reach are answered at once,
// before the login page, with unmet_authentication_requirements at the
// redirect_uri; ones it can reach are honoured (face is asked for acr
// face even where the client would not ask), and the ID token's acr is the
// value met.
func TestACRValues(t *testing.T) {
	e := newEnv(t, withFakeFace)
	alice := e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "noface", RedirectURIs: []string{rpRedirect}, SkipConsent: true, Policy: models.ClientPolicy{FaceMode: "off"}}, "secret-secret-1")
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "secret-secret-2")
	noface, app := e.rp(t, "noface", "secret-secret-1"), e.rp(t, "app", "secret-secret-2")

	a := noface.start(acrValues(policy.ACRFace))
	p := get(t, e.newBrowser(), a.url)
	wantUnmet(t, "acr face at a client with face off", mustURL(t, p.header.Get("Location")), a)
	if evs, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{Type: "login.unmet"}); len(evs) != 1 || evs[0].Reason != policy.UnmetACR {
		t.Fatalf("login.unmet audit: %+v", evs)
	}

	// 2fa at the face-off client of a server without passkeys: nothing
	// can reach it (with passkeys, a user-verified one could: see
	// idp/passkeyweb's tests).
	a = noface.start(acrValues(policy.ACRMultiFactor))
	wantUnmet(t, "acr 2fa at a face-off client without passkeys", mustURL(t, get(t, e.newBrowser(), a.url).header.Get("Location")), a)

	// Unknown values are ignored; a preference list takes the first
	// reachable value: 2fa by face here.
	b := e.newBrowser()
	p, a = e.signInPw(t, b, app, "alice", alicePW, acrValues("urn:example:gold", policy.ACRMultiFactor, policy.ACRSingleFactor))
	_, body := e.faceTry(t, b, p, e.issuer, "pass")
	if c := e.redeem(t, app, leave(t, b, body["next"].(string)), a); c.ACR != policy.ACRMultiFactor || !slices.Contains(c.AMR, "face") || c.Sub != alice.ID {
		t.Fatalf("acr_values 2fa: %+v", c)
	}
	// acr face, from the session that passed face: no new step, acr face.
	a = app.start(acrValues(policy.ACRFace))
	if c := e.redeem(t, app, leave(t, b, a.url), a); c.ACR != policy.ACRFace {
		t.Fatalf("acr_values face from a face session: %+v", c)
	}
	// 1fa from the same session: 1fa is met (reported as asked).
	a = app.start(acrValues(policy.ACRSingleFactor))
	if c := e.redeem(t, app, leave(t, b, a.url), a); c.ACR != policy.ACRSingleFactor {
		t.Fatalf("acr_values 1fa: %+v", c)
	}
}

// A client that needs face where the user has none and enrolment during
// sign-in is "never" ends with unmet_authentication_requirements after the
// password; so does a client that requires face on a server without it.
func TestUnmetFacePolicies(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.SecondFactors = []SecondFactor{&fakeFace{notEnrolled: true}} })
	e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "strict", RedirectURIs: []string{rpRedirect}, SkipConsent: true,
		Policy: models.ClientPolicy{FaceMode: "required", FaceEnrolment: "never"}}, "secret-secret-1")
	r := e.rp(t, "strict", "secret-secret-1")
	p, a := e.signInPw(t, e.newBrowser(), r, "alice", alicePW)
	wantUnmet(t, "face required, not enrolled, enrolment never", mustURL(t, p.header.Get("Location")), a)
	if evs, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{Type: "login.unmet"}); len(evs) != 1 || evs[0].Reason != policy.UnmetFaceNotEnrolled {
		t.Fatalf("login.unmet audit: %+v", evs)
	}

	noFace := newEnv(t) // no face factor at all
	noFace.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	noFace.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true, RequireFace: true}, "secret-secret-1")
	r = noFace.rp(t, "app", "secret-secret-1")
	p, a = noFace.signInPw(t, noFace.newBrowser(), r, "alice", alicePW)
	wantUnmet(t, "client requires face, server has none", mustURL(t, p.header.Get("Location")), a)
}

// max_age: an existing session older than max_age does not count (the
// login page is shown again); a younger one signs in at once with the
// session's auth_time.
func TestMaxAge(t *testing.T) {
	e := newEnv(t)
	e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "secret-secret-1")
	r := e.rp(t, "app", "secret-secret-1")
	b := e.newBrowser()
	a := r.start()
	tok, err := r.cfg.Exchange(e.ctx, codeFrom(t, e.signIn(t, b, a.url, "alice", alicePW), a), oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatal(err)
	}
	type authTime struct {
		AuthTime int64 `json:"auth_time"`
	}
	var first authTime
	idt, _ := r.verifier.Verify(e.ctx, tok.Extra("id_token").(string))
	_ = idt.Claims(&first)
	e.clock.Advance(10 * time.Minute)

	a = r.start(oauth2.SetAuthURLParam("max_age", "3600"))
	if c := e.redeem(t, r, leave(t, b, a.url), a); c.Sub != "user-alice" {
		t.Fatalf("max_age 3600 with a 10-minute-old session: %+v", c)
	}
	a = r.start(oauth2.SetAuthURLParam("max_age", "300"))
	if p := get(t, b, a.url); p.status != http.StatusOK || !strings.Contains(p.body, `name="password"`) {
		t.Fatalf("max_age 300 with a 10-minute-old session: %d at %s, want the login form", p.status, p.url)
	}
	// Signing in again gives a fresh auth_time.
	tok, err = r.cfg.Exchange(e.ctx, codeFrom(t, e.signIn(t, b, a.url, "alice", alicePW), a), oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatal(err)
	}
	idt, _ = r.verifier.Verify(e.ctx, tok.Extra("id_token").(string))
	var again authTime
	_ = idt.Claims(&again)
	if again.AuthTime != first.AuthTime+600 {
		t.Fatalf("auth_time %d after re-authentication, want %d", again.AuthTime, first.AuthTime+600)
	}
}

// Discovery advertises every acr value and the acr and amr claims.
func TestDiscoveryACRValuesSupported(t *testing.T) {
	e := newEnv(t)
	p := get(t, e.newBrowser(), e.issuer+"/.well-known/openid-configuration")
	var doc struct {
		ACR    []string `json:"acr_values_supported"`
		Claims []string `json:"claims_supported"`
	}
	if err := json.Unmarshal([]byte(p.body), &doc); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(doc.ACR, []string{policy.ACRSingleFactor, policy.ACRMultiFactor, policy.ACRFace}) ||
		!slices.Contains(doc.Claims, "acr") || !slices.Contains(doc.Claims, "amr") {
		t.Fatalf("discovery: acr_values_supported %v, claims %v", doc.ACR, doc.Claims)
	}
}

// Every form POST of the provider's pages needs the CSRF token; without
// it nothing happens and the refusal is audited.
func TestFormsNeedCSRF(t *testing.T) {
	e := newEnv(t, withFakeFace, withRecovery)
	alice := e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	faceClient(e)
	r := e.rp(t, "app", "app-secret")
	if _, err := e.opts.Recovery.GrantBypass(e.ctx, alice.ID, "cli:admin", "", time.Hour); err != nil {
		t.Fatal(err)
	}
	b := e.newBrowser()
	p, _ := e.signInPw(t, b, r, "alice", alicePW)
	id := p.url.Query().Get("authRequestID")
	for _, path := range []string{"/login/password", "/login/consent", "/login/cancel", "/login/logout",
		"/login/account/reauth", "/login/account/recovery-codes", "/login/fallback/recovery-code", "/login/fallback/bypass"} {
		resp := postForm(t, b, e.issuer+path, url.Values{"authRequestID": {id}, "password": {alicePW}, "username": {"alice"}, "code": {"aaaaa-aaaaa"}})
		if resp.status != http.StatusForbidden {
			t.Errorf("POST %s without a CSRF token: %d", path, resp.status)
		}
	}
	if _, err := e.opts.Recovery.ActiveBypass(e.ctx, alice.ID); err != nil {
		t.Fatalf("a POST without CSRF used the bypass: %v", err)
	}
	if req, _ := e.store.GetAuthRequest(e.ctx, id); req == nil || req.Step != models.StepSecondFactor {
		t.Fatalf("a POST without CSRF moved the sign-in: %+v", req)
	}
	if evs, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{Type: "csrf"}); len(evs) != 8 {
		t.Fatalf("%d csrf refusals audited, want 8", len(evs))
	}
}
