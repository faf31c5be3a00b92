package idp

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"

	"github.com/faceidp/faceidp/models"
)

// aliceTokens signs alice in at client "app" and returns the RP, the browser
// and the tokens of the code exchange.
func aliceTokens(t *testing.T, e *env) (*rp, *http.Client, *oauth2.Token) {
	t.Helper()
	e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	r := e.rp(t, "app", "app-secret")
	b := e.newBrowser()
	a := r.start()
	tok, err := r.cfg.Exchange(e.ctx, codeFrom(t, e.signIn(t, b, a.url, "alice", alicePW), a), oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatal(err)
	}
	return r, b, tok
}

// RFC 6749 §5.1: responses carrying tokens or claims must not be cached.
func TestTokenUserinfoIntrospectionAreNotCached(t *testing.T) {
	e := newEnv(t, fastRefusals)
	r, _, tok := aliceTokens(t, e)
	check := func(what string, p page) {
		t.Helper()
		if p.header.Get("Cache-Control") != "no-store" || p.header.Get("Pragma") != "no-cache" {
			t.Errorf("%s (%d): Cache-Control=%q Pragma=%q", what, p.status, p.header.Get("Cache-Control"), p.header.Get("Pragma"))
		}
	}
	post := func(u string, v url.Values, id, secret string) page {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if id != "" {
			req.SetBasicAuth(id, secret)
		}
		return do(t, http.DefaultClient, req)
	}
	refresh := post(r.cfg.Endpoint.TokenURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, "app", "app-secret")
	if refresh.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", refresh.status, refresh.body)
	}
	check("token (success)", refresh)
	check("token (invalid_grant)", post(r.cfg.Endpoint.TokenURL, bogusRefresh, "app", "app-secret"))
	check("token (invalid_client)", post(r.cfg.Endpoint.TokenURL, bogusRefresh, "app", "wrong"))

	req, _ := http.NewRequest(http.MethodGet, e.issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	ui := do(t, http.DefaultClient, req)
	if ui.status != http.StatusOK || !strings.Contains(ui.body, `"sub":"user-alice"`) {
		t.Fatalf("userinfo: %d %s", ui.status, ui.body)
	}
	check("userinfo", ui)
	req, _ = http.NewRequest(http.MethodGet, e.issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer not-a-token")
	bad := do(t, http.DefaultClient, req)
	if bad.status != http.StatusUnauthorized || !strings.Contains(bad.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("userinfo with a bad token: %d %q", bad.status, bad.header.Get("WWW-Authenticate"))
	}
	check("userinfo (invalid_token)", bad)

	in := post(e.issuer+"/oauth/introspect", url.Values{"token": {tok.AccessToken}}, "app", "app-secret")
	if in.status != http.StatusOK || !strings.Contains(in.body, `"active":true`) {
		t.Fatalf("introspection: %d %s", in.status, in.body)
	}
	check("introspection", in)
	check("introspection (inactive)", post(e.issuer+"/oauth/introspect", url.Values{"token": {"nope"}}, "app", "app-secret"))
}

// OIDC Core §6: an OP without request objects answers request_uri and
// request with request_uri_not_supported / request_not_supported, at the
// registered redirect_uri; an unknown response_mode is invalid_request.
func TestRequestObjectsAndUnknownResponseModeRefused(t *testing.T) {
	e := newEnv(t)
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	r := e.rp(t, "app", "app-secret")
	for _, tc := range []struct{ param, value, want string }{
		{"request_uri", "https://app.example.com/req.jwt", "request_uri_not_supported"},
		{"request", "eyJhbGciOiJub25lIn0.e30.", "request_not_supported"},
		{"response_mode", "jwt", "invalid_request"},
		{"response_mode", "web_message", "invalid_request"},
	} {
		a := r.start(oauth2.SetAuthURLParam(tc.param, tc.value))
		p := get(t, e.newBrowser(), a.url)
		loc, _ := url.Parse(p.header.Get("Location"))
		if p.status != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), rpRedirect) {
			t.Errorf("%s=%s: %d to %q, want a redirect to the client", tc.param, tc.value, p.status, p.header.Get("Location"))
			continue
		}
		if q := loc.Query(); q.Get("error") != tc.want || q.Get("state") != a.state {
			t.Errorf("%s=%s: error=%q state=%q, want %s", tc.param, tc.value, q.Get("error"), q.Get("state"), tc.want)
		}
	}
	// The supported modes still work.
	a := r.start(oauth2.SetAuthURLParam("response_mode", "query"))
	if p := get(t, e.newBrowser(), a.url); p.status != http.StatusOK || !strings.Contains(p.body, `name="password"`) {
		t.Errorf("response_mode=query: %d %s", p.status, p.url)
	}
}

// rowCount counts a table's rows in the env's SQLite database.
func rowCount(t *testing.T, e *env, table string) int64 {
	t.Helper()
	db, err := gorm.Open(sqlite.Open(strings.TrimPrefix(e.dbURL, "sqlite://")), &gorm.Config{Logger: gormlogger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	var n int64
	if err := db.Table(table).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// Unauthenticated /authorize floods store nothing until a request is
// valid, and each address is limited (429 past AuthorizePerIP a minute).
func TestAuthorizeFloodWritesNothingAndIsLimited(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AuthorizePerIP = 8 })
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	r := e.rp(t, "app", "app-secret")
	rows := func() int64 { return rowCount(t, e, "auth_requests") + rowCount(t, e, "audit_events") }
	before := rows()
	invalid := []string{
		e.issuer + "/authorize?client_id=nobody&redirect_uri=" + url.QueryEscape(rpRedirect) + "&response_type=code&scope=openid",
		e.issuer + "/authorize?client_id=app&redirect_uri=" + url.QueryEscape("https://evil.example.com/cb") + "&response_type=code&scope=openid",
		r.start(oauth2.SetAuthURLParam("response_type", "token")).url,
		r.start(oauth2.SetAuthURLParam("request_uri", "https://x.example.com/r")).url,
		e.issuer + "/authorize?client_id=app&redirect_uri=" + url.QueryEscape(rpRedirect) + "&response_type=code", // no scope
		e.issuer + "/authorize?client_id=app&redirect_uri=" + url.QueryEscape(rpRedirect) + "&response_type=code&scope=openid&code_challenge=x&code_challenge_method=plain",
	}
	for _, u := range invalid {
		if p := get(t, e.newBrowser(), u); p.status == http.StatusOK {
			t.Errorf("invalid request %s was accepted", u)
		}
	}
	if after := rows(); after != before {
		t.Errorf("%d invalid /authorize requests wrote %d rows", len(invalid), after-before)
	}
	// Two valid requests fit under the limit of 8, the ninth request is
	// refused before anything is read.
	for i := range 2 {
		if p := get(t, e.newBrowser(), r.start().url); p.status != http.StatusOK {
			t.Fatalf("valid request %d: %d", i+1, p.status)
		}
	}
	p := get(t, e.newBrowser(), r.start().url)
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" {
		t.Fatalf("request past the per-address limit: %d Retry-After=%q", p.status, p.header.Get("Retry-After"))
	}
	if n := rowCount(t, e, "auth_requests"); n != 2 {
		t.Errorf("%d auth requests stored, want the 2 valid ones", n)
	}
}

// A code presented again revokes what it issued only when the client it
// was issued to presents it (authenticated, or with the PKCE verifier for
// a public client): someone who merely saw the callback URL cannot end
// the user's grant.
func TestCodeReplayRevokesOnlyForItsClient(t *testing.T) {
	e := newEnv(t, fastRefusals)
	e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	e.addClient(&models.Client{ID: "other", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "other-secret")
	e.addClient(&models.Client{ID: "spa", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "")
	userinfoOK := func(tok *oauth2.Token) bool {
		req, _ := http.NewRequest(http.MethodGet, e.issuer+"/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		return do(t, http.DefaultClient, req).status == http.StatusOK
	}
	exchange := func(id, secret string, a authStart, code string, verifier string) (int, map[string]any) {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}}
		if verifier != "" {
			form.Set("code_verifier", verifier)
		}
		if secret == "" {
			form.Set("client_id", id)
			id = ""
		}
		st, body, _ := e.tokenPost(t, id, secret, form)
		return st, body
	}

	t.Run("confidential", func(t *testing.T) {
		r := e.rp(t, "app", "app-secret")
		b := e.newBrowser()
		a := r.start()
		code := codeFrom(t, e.signIn(t, b, a.url, "alice", alicePW), a)
		tok, err := r.cfg.Exchange(e.ctx, code, oauth2.VerifierOption(a.verifier))
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := exchange("app", "wrong", a, code, a.verifier); st != http.StatusUnauthorized {
			t.Errorf("replay with a wrong secret: %d", st)
		}
		if st, body := exchange("other", "other-secret", a, code, a.verifier); st != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("replay by another client: %d %v", st, body)
		}
		if !userinfoOK(tok) {
			t.Fatal("a replay by someone else revoked the grant")
		}
		if st, body := exchange("app", "app-secret", a, code, a.verifier); st != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("replay by the client: %d %v", st, body)
		}
		if userinfoOK(tok) {
			t.Error("the client's own replay did not revoke the grant")
		}
	})
	t.Run("public", func(t *testing.T) {
		r := e.rp(t, "spa", "")
		b := e.newBrowser()
		a := r.start()
		code := codeFrom(t, e.signIn(t, b, a.url, "alice", alicePW), a)
		tok, err := r.cfg.Exchange(e.ctx, code, oauth2.VerifierOption(a.verifier))
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := exchange("spa", "", a, code, "a-wrong-verifier-that-is-long-enough-0123456789"); st != http.StatusBadRequest {
			t.Errorf("replay without the verifier: %d", st)
		}
		if !userinfoOK(tok) {
			t.Fatal("a replay without the PKCE verifier revoked the grant")
		}
		if st, _ := exchange("spa", "", a, code, a.verifier); st != http.StatusBadRequest {
			t.Errorf("replay with the verifier: %d", st)
		}
		if userinfoOK(tok) {
			t.Error("a replay proving PKCE did not revoke the grant")
		}
	})
}

// An id_token_hint names the user the relying party asks about. Another
// user's session in the browser must not answer for it: prompt=none gets
// login_required and otherwise the login form is shown, never a code for
// the session's user.
func TestIDTokenHintForAnotherUser(t *testing.T) {
	e := newEnv(t)
	e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addUser("user-bob", "bob", "bob@example.com", "Bob", "bob's password 123")
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	r := e.rp(t, "app", "app-secret")

	bobsBrowser := e.newBrowser()
	a := r.start()
	tok, err := r.cfg.Exchange(e.ctx, codeFrom(t, e.signIn(t, bobsBrowser, a.url, "bob", "bob's password 123"), a), oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatal(err)
	}
	bobsIDToken := tok.Extra("id_token").(string)

	alicesBrowser := e.newBrowser()
	a = r.start()
	codeFrom(t, e.signIn(t, alicesBrowser, a.url, "alice", alicePW), a)

	a = r.start(oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("id_token_hint", bobsIDToken))
	p := get(t, alicesBrowser, a.url)
	loc, _ := url.Parse(p.header.Get("Location"))
	if loc == nil || loc.Query().Get("error") != "login_required" || loc.Query().Get("code") != "" {
		t.Errorf("prompt=none with bob's hint in alice's browser: %d %s, want error=login_required", p.status, p.header.Get("Location"))
	}
	a = r.start(oauth2.SetAuthURLParam("id_token_hint", bobsIDToken))
	p = get(t, alicesBrowser, a.url)
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="password"`) {
		t.Errorf("bob's hint in alice's browser: %d at %s, want the login form", p.status, p.url)
	}
	// The hint for the session's own user still signs in silently.
	a = r.start(oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("id_token_hint", bobsIDToken))
	p = get(t, bobsBrowser, a.url)
	loc, _ = url.Parse(p.header.Get("Location"))
	if loc == nil || loc.Query().Get("code") == "" {
		t.Errorf("bob's hint in bob's browser: %d %s, want a code", p.status, p.header.Get("Location"))
	}
}
