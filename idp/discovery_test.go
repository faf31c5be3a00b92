package idp

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/faceidp/faceidp/models"
)

// Discovery advertises only what faceidp implements: the code flow with
// refresh tokens, no implicit, hybrid, device, token-exchange or jwt-bearer.
func TestDiscoveryAdvertisesOnlyTheCodeFlow(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest(http.MethodGet, e.issuer+"/.well-known/openid-configuration", nil)
	req.Header.Set("Origin", "https://spa.example.com")
	p := do(t, e.newBrowser(), req)
	if p.status != http.StatusOK || !strings.HasPrefix(p.header.Get("Content-Type"), "application/json") {
		t.Fatalf("discovery: %d %s\n%s", p.status, p.header.Get("Content-Type"), p.body)
	}
	if p.header.Get("Access-Control-Allow-Origin") == "" {
		t.Error("discovery lost op's CORS headers (browser apps read it cross-origin)")
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(p.body), &doc); err != nil {
		t.Fatal(err)
	}
	strs := func(key string) []string {
		var out []string
		for _, v := range doc[key].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	if got := strs("response_types_supported"); !slices.Equal(got, []string{"code"}) {
		t.Errorf("response_types_supported = %v, want [code]", got)
	}
	if got := strs("grant_types_supported"); !slices.Equal(got, []string{"authorization_code", "refresh_token", "client_credentials"}) {
		t.Errorf("grant_types_supported = %v, want [authorization_code refresh_token client_credentials]", got)
	}
	for _, absent := range []string{"implicit", "id_token token", "device_code", "device_authorization", "token-exchange", "jwt-bearer", "phone_number", "given_name"} {
		if strings.Contains(p.body, absent) {
			t.Errorf("discovery mentions %q:\n%s", absent, p.body)
		}
	}
	// What the code flow needs is still there.
	if doc["issuer"] != e.issuer || doc["token_endpoint"] != e.issuer+"/oauth/token" || !slices.Contains(strs("claims_supported"), "amr") ||
		!slices.Equal(strs("code_challenge_methods_supported"), []string{"S256"}) {
		t.Errorf("discovery lost a field:\n%s", p.body)
	}
}

// /authorize answers any response_type but code with
// unsupported_response_type at the redirect_uri (in the fragment, where an
// implicit or hybrid client looks), state included, and starts no sign-in.
func TestAuthorizeRefusesResponseTypesOtherThanCode(t *testing.T) {
	e := newEnv(t)
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	for _, rt := range []string{"id_token", "token", "id_token token", "code id_token", "none"} {
		v := url.Values{"client_id": {"app"}, "redirect_uri": {rpRedirect}, "response_type": {rt},
			"scope": {"openid"}, "state": {"st-1"}, "nonce": {"n"}}
		p := get(t, e.newBrowser(), e.issuer+"/authorize?"+v.Encode())
		loc, err := url.Parse(p.header.Get("Location"))
		if p.status != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), rpRedirect) {
			t.Errorf("response_type=%s: %d Location=%q, want a redirect to the client", rt, p.status, p.header.Get("Location"))
			continue
		}
		params, _ := url.ParseQuery(loc.Fragment)
		if params.Get("error") != "unsupported_response_type" || params.Get("state") != "st-1" {
			t.Errorf("response_type=%s: Location=%q, want error=unsupported_response_type and the state in the fragment", rt, loc)
		}
		if loc.Query().Get("code") != "" || params.Get("id_token") != "" || params.Get("access_token") != "" {
			t.Errorf("response_type=%s: something was issued: %q", rt, loc)
		}
	}
	// response_mode=query is honoured for the error.
	v := url.Values{"client_id": {"app"}, "redirect_uri": {rpRedirect}, "response_type": {"token"}, "response_mode": {"query"}, "state": {"st-2"}}
	p := get(t, e.newBrowser(), e.issuer+"/authorize?"+v.Encode())
	loc, _ := url.Parse(p.header.Get("Location"))
	if loc == nil || loc.Query().Get("error") != "unsupported_response_type" || loc.Query().Get("state") != "st-2" {
		t.Errorf("response_mode=query: Location=%q", p.header.Get("Location"))
	}
}

// The token endpoint refuses every grant but authorization_code,
// refresh_token and client_credentials with unsupported_grant_type; a
// client that is no service client gets unauthorized_client for
// client_credentials.
func TestTokenEndpointRefusesOtherGrants(t *testing.T) {
	e := newEnv(t)
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	for _, gt := range []string{"urn:ietf:params:oauth:grant-type:jwt-bearer", "urn:ietf:params:oauth:grant-type:token-exchange",
		"urn:ietf:params:oauth:grant-type:device_code", "client_credentials", "implicit", "password"} {
		want := "unsupported_grant_type"
		if gt == "client_credentials" {
			want = "unauthorized_client"
		}
		v := url.Values{"grant_type": {gt}, "assertion": {"x.y.z"}, "subject_token": {"t"}, "device_code": {"d"}}
		req, _ := http.NewRequest(http.MethodPost, e.issuer+"/oauth/token", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("app", "app-secret")
		p := do(t, http.DefaultClient, req)
		var body struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal([]byte(p.body), &body)
		if p.status != http.StatusBadRequest || body.Error != want {
			t.Errorf("grant_type=%s: %d %s, want 400 %s", gt, p.status, p.body, want)
		}
	}
}

// The device authorization endpoint, which discovery does not advertise,
// does not exist either.
func TestNoDeviceAuthorizationEndpoint(t *testing.T) {
	e := newEnv(t)
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	req, _ := http.NewRequest(http.MethodPost, e.issuer+"/device_authorization", strings.NewReader(url.Values{"scope": {"openid"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("app", "app-secret")
	if p := do(t, http.DefaultClient, req); p.status != http.StatusNotFound {
		t.Fatalf("POST /device_authorization: %d %s, want 404", p.status, p.body)
	}
}

// Browsers ask every site for /favicon.ico and the pages link an SVG icon:
// both are served (a 404 for each page view filled the logs).
func TestFaviconIsServed(t *testing.T) {
	e := newEnv(t)
	e.addClient(&models.Client{ID: "app", Name: "App", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	b := e.newBrowser()
	ico := get(t, b, e.issuer+"/favicon.ico")
	if ico.status != http.StatusOK || !strings.HasPrefix(ico.body, "\x00\x00\x01\x00") || !strings.Contains(ico.header.Get("Content-Type"), "icon") {
		t.Fatalf("/favicon.ico: %d %q, want 200 and an icon", ico.status, ico.header.Get("Content-Type"))
	}
	svg := get(t, b, e.issuer+"/login/static/favicon.svg")
	if svg.status != http.StatusOK || svg.header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(svg.body, "<svg") {
		t.Fatalf("favicon.svg: %d %q", svg.status, svg.header.Get("Content-Type"))
	}
	login := get(t, b, e.rp(t, "app", "app-secret").start().url)
	if !strings.Contains(login.body, `<link rel="icon" href="/login/static/favicon.svg" type="image/svg+xml">`) {
		t.Fatalf("the login page does not link the icon:\n%s", login.body)
	}
}
