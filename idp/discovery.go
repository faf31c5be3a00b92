package idp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/faceidp/faceidp/factors/policy"
)

// What faceidp implements. zitadel's op advertises more than that in
// discovery whatever the configuration (implicit, id_token response types,
// the jwt-bearer grant, a device endpoint), so the document is corrected
// here and the token endpoint refuses the other grants itself.
var (
	supportedResponseTypes = []string{string(oidc.ResponseTypeCode)}
	supportedResponseModes = []string{string(oidc.ResponseModeQuery), string(oidc.ResponseModeFragment), string(oidc.ResponseModeFormPost)}
	supportedGrantTypes    = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeClientCredentials}
	// supportedClaims are the claims faceidp's ID tokens and userinfo carry
	// (setUserinfo, op's ID token builder).
	supportedClaims = []string{
		"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "at_hash",
		"name", "preferred_username", "email", "email_verified",
	}
)

// buildDiscovery asks op for its discovery document once, restricts it to
// what faceidp supports and encodes it; discovery serves the bytes.
func (s *Server) buildDiscovery(ctx context.Context) ([]byte, error) {
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, s.issuer+oidc.DiscoveryEndpoint, nil)
	rec := httptest.NewRecorder()
	s.provider.ServeHTTP(rec, req)
	var doc oidc.DiscoveryConfiguration
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("discovery document from the provider: status %d", rec.Code)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		return nil, fmt.Errorf("discovery document from the provider: %w", err)
	}
	restrictDiscovery(&doc)
	body, err := json.Marshal(&doc)
	if err != nil {
		return nil, fmt.Errorf("encode discovery document: %w", err)
	}
	return body, nil
}

func restrictDiscovery(d *oidc.DiscoveryConfiguration) {
	d.ResponseTypesSupported = slices.Clone(supportedResponseTypes)
	d.ResponseModesSupported = slices.Clone(supportedResponseModes)
	d.GrantTypesSupported = slices.Clone(supportedGrantTypes)
	d.DeviceAuthorizationEndpoint = ""
	d.CheckSessionIframe = ""
	d.ClaimsSupported = slices.Clone(supportedClaims)
	d.ACRValuesSupported = policy.ACRValuesSupported()
	// No private_key_jwt client authentication anywhere, so no signing
	// algorithms for it; no request objects, by value or by reference.
	d.TokenEndpointAuthSigningAlgValuesSupported = nil
	d.RevocationEndpointAuthSigningAlgValuesSupported = nil
	d.IntrospectionEndpointAuthSigningAlgValuesSupported = nil
	d.RequestObjectSigningAlgValuesSupported = nil
	d.RequestParameterSupported = false
	d.RequestURIParameterSupported = false
}

// discovery serves the document built at start: it only changes with the
// configuration.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	serveStatic(w, r, s.discoveryDoc, "public, max-age=300")
}

// jwks serves the public signing keys from the key snapshot (keys.go).
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	serveStatic(w, r, s.keys.jwks(r.Context()), "public, max-age=30")
}

func serveStatic(w http.ResponseWriter, r *http.Request, body []byte, cacheControl string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", cacheControl)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

// token authenticates the client and refuses the grants op would
// otherwise attempt (jwt-bearer, token-exchange, client_credentials,
// device_code, implicit) with unsupported_grant_type before handing the
// request to the provider. Its responses are never cached.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if !parsePost(w, r) {
		return
	}
	if gt := r.Form.Get("grant_type"); gt != "" && !slices.Contains(supportedGrantTypes, oidc.GrantType(gt)) {
		s.metrics.refused.WithLabelValues("token", "unsupported_grant_type").Inc()
		writeJSON(w, http.StatusBadRequest, oidc.ErrUnsupportedGrantType().WithDescription("only authorization_code, refresh_token and client_credentials are supported"))
		return
	}
	if !s.clientFromRequest(w, r, false) {
		return
	}
	stateFrom(r.Context()).codeVerifier = r.Form.Get("code_verifier")
	s.serveOP(w, r, unavailableJSON)
}

// revoke authenticates the client before op revokes the token (RFC 7009).
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	if !parsePost(w, r) || !s.clientFromRequest(w, r, false) {
		return
	}
	s.serveOP(w, r, unavailableJSON)
}

// parsePost marks the response uncacheable and parses a form POST; other
// methods get 405 (credentials and tokens never travel in a URL).
func parsePost(w http.ResponseWriter, r *http.Request) bool {
	noStore(w.Header())
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, oidc.ErrInvalidRequest().WithDescription("use POST"))
		return false
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("the request body could not be read"))
		return false
	}
	return true
}
