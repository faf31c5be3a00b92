package idp

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// The relying party's addresses are never contacted: the test browser
// stops at the first redirect that leaves the provider.
const (
	rpRedirect = "http://127.0.0.1:9/callback"
	rpLogout   = "http://127.0.0.1:9/logged-out"
	alicePW    = "correct horse battery"
)

type rp struct {
	provider *gooidc.Provider
	cfg      oauth2.Config
	verifier *gooidc.IDTokenVerifier
}

func (e *env) rp(t *testing.T, clientID, secret string) *rp {
	t.Helper()
	p, err := gooidc.NewProvider(e.ctx, e.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &rp{
		provider: p,
		cfg: oauth2.Config{
			ClientID: clientID, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: rpRedirect,
			Scopes: []string{gooidc.ScopeOpenID, "profile", "email", gooidc.ScopeOfflineAccess},
		},
		verifier: p.Verifier(&gooidc.Config{ClientID: clientID, SupportedSigningAlgs: []string{"RS256", "ES256"}}),
	}
}

type authStart struct {
	url, state, nonce, verifier string
}

func (r *rp) start(opts ...oauth2.AuthCodeOption) authStart {
	a := authStart{state: oauth2.GenerateVerifier(), nonce: oauth2.GenerateVerifier(), verifier: oauth2.GenerateVerifier()}
	opts = append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(a.verifier), gooidc.Nonce(a.nonce)}, opts...)
	a.url = r.cfg.AuthCodeURL(a.state, opts...)
	return a
}

// signIn opens the authorize URL, fills in the login form and returns the
// redirect back to the relying party.
func (e *env) signIn(t *testing.T, b *http.Client, authURL, username, pw string) *url.URL {
	t.Helper()
	p := get(t, b, authURL)
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="password"`) {
		t.Fatalf("authorize: want the login form, got %d at %s:\n%s", p.status, p.url, p.body)
	}
	f := parseForm(t, p.body)
	f.fields.Set("username", username)
	f.fields.Set("password", pw)
	r := postForm(t, b, e.abs(f.action), f.fields)
	if r.status != http.StatusFound && r.status != http.StatusSeeOther {
		t.Fatalf("login: want a redirect to the client, got %d at %s:\n%s", r.status, r.url, r.body)
	}
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func codeFrom(t *testing.T, loc *url.URL, a authStart) string {
	t.Helper()
	if !strings.HasPrefix(loc.String(), rpRedirect) {
		t.Fatalf("redirected to %s, want %s", loc, rpRedirect)
	}
	q := loc.Query()
	if q.Get("error") != "" {
		t.Fatalf("authorize error %s: %s", q.Get("error"), q.Get("error_description"))
	}
	if q.Get("state") != a.state {
		t.Fatalf("state = %q, want %q", q.Get("state"), a.state)
	}
	if q.Get("code") == "" {
		t.Fatal("no code in redirect")
	}
	return q.Get("code")
}

func oauthErrorCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

// refresh posts a refresh_token grant and returns the status and body.
func (e *env) refresh(t *testing.T, r *rp, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.cfg.Endpoint.TokenURL, strings.NewReader(url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {token},
	}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(r.cfg.ClientID, r.cfg.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func jwsAlg(t *testing.T, raw string) string {
	t.Helper()
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Header.Algorithm
}

// TestCodeFlowEndToEnd runs the happy path on SQLite and on PostgreSQL.
func TestCodeFlowEndToEnd(t *testing.T) {
	backends(t, func(t *testing.T, dbURL string) { codeFlowEndToEnd(t, newEnvDB(t, dbURL)) })
}

func codeFlowEndToEnd(t *testing.T, e *env) {
	alice := e.addUser("user-alice", "alice", "alice@example.com", "Alice Liddell", alicePW)
	e.addClient(&models.Client{ID: "app", Name: "Demo App", RedirectURIs: []string{rpRedirect},
		PostLogoutRedirectURIs: []string{rpLogout}, SkipConsent: true}, "app-secret")
	r := e.rp(t, "app", "app-secret")

	// Discovery advertises what the issue promises.
	var disc struct {
		CodeChallengeMethods []string `json:"code_challenge_methods_supported"`
		IDTokenAlgs          []string `json:"id_token_signing_alg_values_supported"`
		TokenAuthMethods     []string `json:"token_endpoint_auth_methods_supported"`
		EndSession           string   `json:"end_session_endpoint"`
		Revocation           string   `json:"revocation_endpoint"`
		Introspection        string   `json:"introspection_endpoint"`
	}
	if err := r.provider.Claims(&disc); err != nil {
		t.Fatal(err)
	}
	for _, want := range [][2]any{{disc.CodeChallengeMethods, "S256"}, {disc.IDTokenAlgs, "RS256"}, {disc.IDTokenAlgs, "ES256"},
		{disc.TokenAuthMethods, "client_secret_basic"}, {disc.TokenAuthMethods, "client_secret_post"}} {
		if !slices.Contains(want[0].([]string), want[1].(string)) {
			t.Errorf("discovery: %v lacks %v", want[0], want[1])
		}
	}
	if disc.EndSession == "" || disc.Revocation == "" || disc.Introspection == "" {
		t.Errorf("discovery lacks an endpoint: %+v", disc)
	}

	// The login form: username, password, one submit button.
	b := e.newBrowser()
	a := r.start()
	p := get(t, b, a.url)
	f := parseForm(t, p.body)
	if !slices.Contains(f.names, "username") || !slices.Contains(f.names, "password") || f.buttons != 1 {
		t.Fatalf("login form has inputs %v and %d submit buttons", f.names, f.buttons)
	}
	f.fields.Set("username", "alice@example.com") // email works as the login name too
	f.fields.Set("password", alicePW)
	resp := postForm(t, b, e.abs(f.action), f.fields)
	loc, _ := url.Parse(resp.header.Get("Location"))
	code := codeFrom(t, loc, a)

	tok, err := r.cfg.Exchange(e.ctx, code, oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(e.ctx, rawID)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	if idt.Nonce != a.nonce || idt.Subject != alice.ID {
		t.Fatalf("ID token nonce=%q sub=%q", idt.Nonce, idt.Subject)
	}
	if alg := jwsAlg(t, rawID); alg != "RS256" {
		t.Errorf("default ID token alg = %s, want RS256", alg)
	}
	var claims struct {
		AMR               []string `json:"amr"`
		ACR               string   `json:"acr"`
		AuthTime          int64    `json:"auth_time"`
		Email             string   `json:"email"`
		EmailVerified     bool     `json:"email_verified"`
		Name              string   `json:"name"`
		PreferredUsername string   `json:"preferred_username"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(claims.AMR, "pwd") || claims.ACR != policy.ACRSingleFactor {
		t.Errorf("amr=%v acr=%q", claims.AMR, claims.ACR)
	}
	if claims.AuthTime != e.clock.Now().Unix() {
		t.Errorf("auth_time = %d, want %d", claims.AuthTime, e.clock.Now().Unix())
	}
	if claims.Email != "alice@example.com" || !claims.EmailVerified || claims.Name != "Alice Liddell" || claims.PreferredUsername != "alice" {
		t.Errorf("profile claims: %+v", claims)
	}

	// Userinfo with the opaque access token.
	ui, err := r.provider.UserInfo(e.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if ui.Subject != alice.ID || ui.Email != "alice@example.com" {
		t.Errorf("userinfo: %+v", ui)
	}

	// Introspection by the client itself.
	req, _ := http.NewRequest(http.MethodPost, disc.Introspection, strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("app", "app-secret")
	ir := do(t, http.DefaultClient, req)
	var intro struct {
		Active bool   `json:"active"`
		Sub    string `json:"sub"`
	}
	_ = json.Unmarshal([]byte(ir.body), &intro)
	if !intro.Active || intro.Sub != alice.ID {
		t.Errorf("introspection: %d %s", ir.status, ir.body)
	}

	// Refresh with rotation and reuse detection.
	rt1 := tok.RefreshToken
	if rt1 == "" {
		t.Fatal("no refresh token for offline_access")
	}
	st, body := e.refresh(t, r, rt1)
	rt2, _ := body["refresh_token"].(string)
	if st != http.StatusOK || rt2 == "" || rt2 == rt1 {
		t.Fatalf("refresh: %d %v", st, body)
	}
	if st, body = e.refresh(t, r, rt1); st != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("rotated refresh token accepted again: %d %v", st, body)
	}
	if st, body = e.refresh(t, r, rt2); st != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("reuse did not revoke the family: %d %v", st, body)
	}
	if ev, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{Type: "token.refresh_reuse"}); len(ev) == 0 {
		t.Error("no audit event for refresh token reuse")
	}

	// A second authorize is satisfied by the session: no form, straight back.
	a2 := r.start()
	p = get(t, b, a2.url)
	if p.status != http.StatusSeeOther && p.status != http.StatusFound {
		t.Fatalf("authorize with a session: got %d at %s:\n%s", p.status, p.url, p.body)
	}
	loc, _ = url.Parse(p.header.Get("Location"))
	tok2, err := r.cfg.Exchange(e.ctx, codeFrom(t, loc, a2), oauth2.VerifierOption(a2.verifier))
	if err != nil {
		t.Fatalf("exchange 2: %v", err)
	}

	// Revocation: the access token stops working at userinfo; the refresh
	// token stops working at the token endpoint.
	revoke := func(token, hint string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, disc.Revocation, strings.NewReader(url.Values{"token": {token}, "token_type_hint": {hint}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("app", "app-secret")
		if p := do(t, http.DefaultClient, req); p.status != http.StatusOK {
			t.Fatalf("revoke %s: %d %s", hint, p.status, p.body)
		}
	}
	revoke(tok2.AccessToken, "access_token")
	if _, err := r.provider.UserInfo(e.ctx, oauth2.StaticTokenSource(tok2)); err == nil {
		t.Error("userinfo accepted a revoked access token")
	}
	revoke(tok2.RefreshToken, "refresh_token")
	if st, _ := e.refresh(t, r, tok2.RefreshToken); st != http.StatusBadRequest {
		t.Errorf("revoked refresh token: status %d", st)
	}

	// RP-initiated logout: an unregistered post_logout_redirect_uri is refused...
	bad := e.issuer + "/end_session?" + url.Values{"id_token_hint": {rawID}, "post_logout_redirect_uri": {"http://127.0.0.1:9/elsewhere"}}.Encode()
	if p := get(t, b, bad); p.status != http.StatusBadRequest {
		t.Errorf("unregistered post_logout_redirect_uri: %d at %s", p.status, p.url)
	}
	// ...a registered one is used, and the session is gone afterwards.
	out := e.issuer + "/end_session?" + url.Values{"id_token_hint": {rawID}, "post_logout_redirect_uri": {rpLogout}, "state": {"bye"}}.Encode()
	p = get(t, b, out)
	if loc := p.header.Get("Location"); p.status != http.StatusFound || loc != rpLogout+"?state=bye" {
		t.Fatalf("end_session: %d Location=%q", p.status, loc)
	}
	p = get(t, b, r.start().url)
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="password"`) {
		t.Fatalf("after logout, authorize did not show the login form: %d %s", p.status, p.url)
	}
	if ev, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{Type: "logout", UserID: alice.ID}); len(ev) == 0 {
		t.Error("no audit event for logout")
	}
}

func TestES256ClientGetsES256IDToken(t *testing.T) {
	e := newEnv(t)
	e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "ec-app", RedirectURIs: []string{rpRedirect}, SkipConsent: true, IDTokenAlg: "ES256"}, "s3cret-s3cret")
	r := e.rp(t, "ec-app", "s3cret-s3cret")
	a := r.start()
	code := codeFrom(t, e.signIn(t, e.newBrowser(), a.url, "alice", alicePW), a)
	tok, err := r.cfg.Exchange(e.ctx, code, oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw := tok.Extra("id_token").(string)
	if alg := jwsAlg(t, raw); alg != "ES256" {
		t.Fatalf("ID token alg = %s, want ES256", alg)
	}
	if _, err := r.verifier.Verify(e.ctx, raw); err != nil {
		t.Fatalf("verify ES256 ID token against JWKS: %v", err)
	}
	// Refreshing keeps the client's algorithm.
	st, body := e.refresh(t, r, tok.RefreshToken)
	if st != http.StatusOK {
		t.Fatalf("refresh: %d %v", st, body)
	}
	if alg := jwsAlg(t, body["id_token"].(string)); alg != "ES256" {
		t.Errorf("refreshed ID token alg = %s", alg)
	}
}

func TestAuthorizeRejections(t *testing.T) {
	e := newEnv(t)
	e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	e.addClient(&models.Client{ID: "spa", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "")
	authz := func(v url.Values) page {
		return get(t, e.newBrowser(), e.issuer+"/authorize?"+v.Encode())
	}
	base := func(client, redirect string) url.Values {
		return url.Values{"client_id": {client}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid"}, "state": {"st"}}
	}

	t.Run("unknown client gets an error page, not a redirect", func(t *testing.T) {
		p := authz(base("nobody", rpRedirect))
		if p.status != http.StatusBadRequest || p.header.Get("Location") != "" || !strings.Contains(p.body, "not registered") {
			t.Fatalf("got %d Location=%q:\n%s", p.status, p.header.Get("Location"), p.body)
		}
	})
	t.Run("unregistered redirect_uri gets an error page", func(t *testing.T) {
		p := authz(base("app", "http://127.0.0.1:9/evil"))
		if p.status != http.StatusBadRequest || p.header.Get("Location") != "" || !strings.Contains(p.body, "redirect_uri") {
			t.Fatalf("got %d Location=%q:\n%s", p.status, p.header.Get("Location"), p.body)
		}
	})
	t.Run("public client without PKCE is refused", func(t *testing.T) {
		p := authz(base("spa", rpRedirect))
		loc, _ := url.Parse(p.header.Get("Location"))
		if p.status != http.StatusFound || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("state") != "st" {
			t.Fatalf("got %d Location=%q", p.status, p.header.Get("Location"))
		}
	})
	t.Run("plain PKCE is refused", func(t *testing.T) {
		v := base("app", rpRedirect)
		v.Set("code_challenge", "abcdefghijabcdefghijabcdefghijabcdefghij123")
		v.Set("code_challenge_method", "plain")
		p := authz(v)
		loc, _ := url.Parse(p.header.Get("Location"))
		if loc == nil || loc.Query().Get("error") != "invalid_request" {
			t.Fatalf("got %d Location=%q", p.status, p.header.Get("Location"))
		}
	})
	t.Run("prompt=none without a session is login_required", func(t *testing.T) {
		r := e.rp(t, "app", "app-secret")
		a := r.start(oauth2.SetAuthURLParam("prompt", "none"))
		p := get(t, e.newBrowser(), a.url)
		loc, _ := url.Parse(p.header.Get("Location"))
		if !strings.HasPrefix(loc.String(), rpRedirect) || loc.Query().Get("error") != "login_required" || loc.Query().Get("state") != a.state {
			t.Fatalf("got %d Location=%q", p.status, p.header.Get("Location"))
		}
	})
	t.Run("prompt=login asks again despite a session", func(t *testing.T) {
		r := e.rp(t, "app", "app-secret")
		b := e.newBrowser()
		a := r.start()
		codeFrom(t, e.signIn(t, b, a.url, "alice", alicePW), a)
		e.clock.Advance(time.Minute)
		a2 := r.start(oauth2.SetAuthURLParam("prompt", "login"))
		loc := e.signIn(t, b, a2.url, "alice", alicePW) // fails unless the form is shown
		codeFrom(t, loc, a2)
		// max_age that the session exceeds also forces the form.
		e.clock.Advance(time.Minute)
		a3 := r.start(oauth2.SetAuthURLParam("max_age", "30"))
		codeFrom(t, e.signIn(t, b, a3.url, "alice", alicePW), a3)
	})
	t.Run("a flow cannot be continued from another browser", func(t *testing.T) {
		r := e.rp(t, "app", "app-secret")
		a := r.start()
		p := get(t, e.newBrowser(), a.url)
		if p.status != http.StatusOK {
			t.Fatalf("authorize: %d", p.status)
		}
		other := get(t, e.newBrowser(), p.url.String())
		if other.status != http.StatusForbidden || !strings.Contains(other.body, "another browser") {
			t.Fatalf("other browser got %d:\n%s", other.status, other.body)
		}
	})
}

func TestTokenEndpointRejections(t *testing.T) {
	e := newEnv(t)
	e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	e.addClient(&models.Client{ID: "spa", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "")
	r := e.rp(t, "app", "app-secret")
	b := e.newBrowser()
	newCode := func(r *rp) (string, authStart) {
		a := r.start()
		p := get(t, b, a.url)
		var loc *url.URL
		if p.status == http.StatusOK {
			loc = e.signIn(t, b, a.url, "alice", alicePW)
		} else {
			loc, _ = url.Parse(p.header.Get("Location"))
		}
		return codeFrom(t, loc, a), a
	}

	t.Run("code reuse", func(t *testing.T) {
		code, a := newCode(r)
		if _, err := r.cfg.Exchange(e.ctx, code, oauth2.VerifierOption(a.verifier)); err != nil {
			t.Fatal(err)
		}
		_, err := r.cfg.Exchange(e.ctx, code, oauth2.VerifierOption(a.verifier))
		if oauthErrorCode(err) != "invalid_grant" {
			t.Fatalf("second exchange: %v", err)
		}
	})
	t.Run("wrong PKCE verifier", func(t *testing.T) {
		code, _ := newCode(r)
		_, err := r.cfg.Exchange(e.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if oauthErrorCode(err) != "invalid_grant" {
			t.Fatalf("exchange with wrong verifier: %v", err)
		}
	})
	t.Run("bad client secret", func(t *testing.T) {
		code, a := newCode(r)
		bad := r.cfg
		bad.ClientSecret = "not-the-secret"
		_, err := bad.Exchange(e.ctx, code, oauth2.VerifierOption(a.verifier))
		if oauthErrorCode(err) != "invalid_client" {
			t.Fatalf("exchange with bad secret: %v", err)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		code, a := newCode(r)
		e.clock.Advance(DefaultCodeTTL + time.Second)
		_, err := r.cfg.Exchange(e.ctx, code, oauth2.VerifierOption(a.verifier))
		if oauthErrorCode(err) != "invalid_grant" {
			t.Fatalf("exchange of expired code: %v", err)
		}
	})
	t.Run("client_secret_post", func(t *testing.T) {
		code, a := newCode(r)
		post := r.cfg
		post.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		if _, err := post.Exchange(e.ctx, code, oauth2.VerifierOption(a.verifier)); err != nil {
			t.Fatalf("client_secret_post exchange: %v", err)
		}
	})
	t.Run("public client with PKCE needs no secret", func(t *testing.T) {
		pub := e.rp(t, "spa", "")
		pub.cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		code, a := newCode(pub)
		if _, err := pub.cfg.Exchange(e.ctx, code, oauth2.VerifierOption(a.verifier)); err != nil {
			t.Fatalf("public exchange: %v", err)
		}
	})
}

func TestLoginFormErrors(t *testing.T) {
	e := newEnv(t)
	alice := e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	r := e.rp(t, "app", "app-secret")

	try := func(b *http.Client, username, pw string) page {
		p := get(t, b, r.start().url)
		f := parseForm(t, p.body)
		f.fields.Set("username", username)
		f.fields.Set("password", pw)
		return postForm(t, b, e.abs(f.action), f.fields)
	}
	t.Run("wrong password and unknown user look the same", func(t *testing.T) {
		b := e.newBrowser()
		wrong := try(b, "alice", "not her password")
		unknown := try(b, "mallory", "whatever-password")
		for _, p := range []page{wrong, unknown} {
			if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "Wrong username or password.") {
				t.Fatalf("got %d:\n%s", p.status, p.body)
			}
		}
		for _, leak := range []string{"unknown", "not found", "no such", "does not exist"} {
			if strings.Contains(strings.ToLower(unknown.body), leak) {
				t.Errorf("unknown-user page says %q", leak)
			}
		}
	})
	t.Run("missing CSRF token is refused", func(t *testing.T) {
		b := e.newBrowser()
		p := get(t, b, r.start().url)
		f := parseForm(t, p.body)
		f.fields.Del("csrf_token")
		f.fields.Set("username", "alice")
		f.fields.Set("password", alicePW)
		if resp := postForm(t, b, e.abs(f.action), f.fields); resp.status != http.StatusForbidden {
			t.Fatalf("POST without CSRF token: %d", resp.status)
		}
	})
	t.Run("throttle after repeated failures, never a wrong-password message for the right one", func(t *testing.T) {
		b := e.newBrowser()
		for i := 1; i <= throttle.DefaultPasswordAfter; i++ {
			p := try(b, "alice", "wrong-password-"+string(rune('a'+i)))
			if i == throttle.DefaultPasswordAfter && !strings.Contains(p.body, "Try again in 1 minute.") {
				t.Fatalf("the failure that starts the wait does not say so: %d\n%s", p.status, p.body)
			}
		}
		// Throttled: the right password is not even checked, and the owner
		// is told when to try again, not that the password is wrong.
		p := try(b, "alice", alicePW)
		if p.status != http.StatusTooManyRequests || strings.Contains(p.body, "Wrong username or password.") ||
			!strings.Contains(p.body, "Too many sign-in attempts. Try again in 1 minute.") || p.header.Get("Retry-After") != "60" {
			t.Fatalf("throttled account with the right password: %d Retry-After=%q\n%s", p.status, p.header.Get("Retry-After"), p.body)
		}
		if ev, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: alice.ID, Type: "throttle.pwd"}); len(ev) < 2 {
			t.Errorf("throttle audit events: %+v, want the wait engaged and the refusal", ev)
		}
		e.clock.Advance(time.Minute)
		pg := get(t, b, r.start().url)
		f := parseForm(t, pg.body)
		f.fields.Set("username", "alice")
		f.fields.Set("password", alicePW)
		resp := postForm(t, b, e.abs(f.action), f.fields)
		if loc := resp.header.Get("Location"); !strings.HasPrefix(loc, rpRedirect+"?code=") {
			t.Fatalf("after the wait: %d Location=%q\n%s", resp.status, loc, resp.body)
		}
	})
}

func TestConsentIsAskedOnceAndRemembered(t *testing.T) {
	e := newEnv(t)
	e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "third", Name: "Third Party", RedirectURIs: []string{rpRedirect}}, "third-secret")
	r := e.rp(t, "third", "third-secret")
	b := e.newBrowser()
	a := r.start()
	p := get(t, b, a.url)
	f := parseForm(t, p.body)
	f.fields.Set("username", "alice")
	f.fields.Set("password", alicePW)
	p = postForm(t, b, e.abs(f.action), f.fields)
	if p.url.Path != "/login/consent" || !strings.Contains(p.body, "Third Party") || !strings.Contains(p.body, `href="/login/account/"`) {
		t.Fatalf("consent page (with the account page link):\n%s", p.body)
	}
	f = parseForm(t, p.body)
	f.fields.Set("decision", "allow")
	resp := postForm(t, b, e.abs(f.action), f.fields)
	rl, _ := url.Parse(resp.header.Get("Location"))
	codeFrom(t, rl, a)

	// Remembered: the next sign-in goes straight back.
	a2 := r.start()
	p = get(t, b, a2.url)
	rl, _ = url.Parse(p.header.Get("Location"))
	codeFrom(t, rl, a2)

	// prompt=consent asks again; denying returns access_denied.
	a3 := r.start(oauth2.SetAuthURLParam("prompt", "consent"))
	p = get(t, b, a3.url)
	if !strings.Contains(p.body, `value="deny"`) {
		t.Fatalf("prompt=consent did not show the consent page: %d %s", p.status, p.url)
	}
	f = parseForm(t, p.body)
	f.fields.Set("decision", "deny")
	resp = postForm(t, b, e.abs(f.action), f.fields)
	rl, _ = url.Parse(resp.header.Get("Location"))
	if rl.Query().Get("error") != "access_denied" || rl.Query().Get("state") != a3.state {
		t.Fatalf("deny: %d Location=%s", resp.status, rl)
	}
}

func TestSigningKeyRotation(t *testing.T) {
	e := newEnv(t)
	e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	r := e.rp(t, "app", "app-secret")
	b := e.newBrowser()
	a := r.start()
	tok, err := r.cfg.Exchange(e.ctx, codeFrom(t, e.signIn(t, b, a.url, "alice", alicePW), a), oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatal(err)
	}
	oldRaw := tok.Extra("id_token").(string)

	e.clock.Advance(time.Minute)
	if err := RotateSigningKeys(e.ctx, RotateSigningKeysOptions{Store: e.store, Keyring: e.kr, Clock: e.clock.Now, Rand: e.idp.opts.Rand, KeepFor: time.Hour}); err != nil {
		t.Fatal(err)
	}
	jwks := func() []string {
		var set struct {
			Keys []struct {
				Kid string `json:"kid"`
			} `json:"keys"`
		}
		p := get(t, http.DefaultClient, e.issuer+"/keys")
		_ = json.Unmarshal([]byte(p.body), &set)
		var ids []string
		for _, k := range set.Keys {
			ids = append(ids, k.Kid)
		}
		return ids
	}
	kid := func(raw string) string {
		jws, _ := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
		return jws.Signatures[0].Header.KeyID
	}
	signIn := func() string {
		a := r.start()
		p := get(t, b, a.url)
		rl, _ := url.Parse(p.header.Get("Location"))
		tok, err := r.cfg.Exchange(e.ctx, codeFrom(t, rl, a), oauth2.VerifierOption(a.verifier))
		if err != nil {
			t.Fatal(err)
		}
		return tok.Extra("id_token").(string)
	}
	// Every instance publishes the new keys within one refresh interval...
	e.clock.Advance(keyRefreshInterval)
	if n := len(jwks()); n != 4 {
		t.Fatalf("JWKS a refresh interval after rotation has %d keys, want 4 (2 new + 2 retired)", n)
	}
	// ...and only then may any of them sign with a new key.
	if got := kid(signIn()); got != kid(oldRaw) {
		t.Errorf("a new key signed before every instance could publish it")
	}
	e.clock.Advance(keyPublishDelay)
	if kid(signIn()) == kid(oldRaw) {
		t.Error("new ID token signed with the retired key after the publish delay")
	}
	if _, err := r.verifier.Verify(e.ctx, oldRaw); err != nil {
		t.Errorf("token signed by the retired key no longer verifies: %v", err)
	}
	e.clock.Advance(time.Hour + time.Second)
	if ids := jwks(); len(ids) != 2 || slices.Contains(ids, kid(oldRaw)) {
		t.Errorf("retired keys still published after KeepFor: %v", ids)
	}
}

func TestHealthMetricsAndBodyLimit(t *testing.T) {
	e := newEnv(t)
	if p := get(t, http.DefaultClient, e.issuer+"/healthz"); p.status != http.StatusOK {
		t.Fatalf("healthz: %d %s", p.status, p.body)
	}
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	r := e.rp(t, "app", "app-secret")
	e.refresh(t, r, "not-a-refresh-token")
	b := e.newBrowser()
	p := get(t, b, r.start().url)
	f := parseForm(t, p.body)
	f.fields.Set("username", "ghost")
	f.fields.Set("password", "whatever-password")
	postForm(t, b, e.abs(f.action), f.fields)
	m := get(t, http.DefaultClient, e.issuer+"/metrics")
	if !strings.Contains(m.body, `faceidp_login_attempts_total{factor="pwd",outcome="failure"} 1`) {
		t.Errorf("metrics lack the failed login:\n%.2000s", m.body)
	}
	// A body over the limit is refused, not read.
	huge := strings.NewReader("grant_type=refresh_token&refresh_token=" + strings.Repeat("a", DefaultMaxBodyBytes))
	req, _ := http.NewRequest(http.MethodPost, r.cfg.Endpoint.TokenURL, huge)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("app", "app-secret")
	if p := do(t, http.DefaultClient, req); p.status != http.StatusBadRequest || !strings.Contains(p.body, "invalid_request") {
		t.Errorf("oversized token request: %d %s", p.status, p.body)
	}
}
