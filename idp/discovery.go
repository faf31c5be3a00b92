package idp

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// What faceidp implements. zitadel's op advertises more than that in
// discovery whatever the configuration (implicit, id_token response types,
// the jwt-bearer grant, a device endpoint), so the document is corrected
// here and the token endpoint refuses the other grants itself.
var (
	supportedResponseTypes = []string{string(oidc.ResponseTypeCode)}
	supportedGrantTypes    = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
	// supportedClaims are the claims faceidp's ID tokens and userinfo carry
	// (setUserinfo, op's ID token builder).
	supportedClaims = []string{
		"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "at_hash",
		"name", "preferred_username", "email", "email_verified",
	}
)

// discovery serves op's discovery document restricted to what faceidp
// supports. The request still goes through the provider, so CORS and the
// issuer handling stay op's.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.provider.ServeHTTP(w, r) // CORS preflight and 405s are op's
		return
	}
	rec := httptest.NewRecorder()
	s.provider.ServeHTTP(rec, r)
	var doc oidc.DiscoveryConfiguration
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &doc) != nil {
		s.log.ErrorContext(r.Context(), "discovery document from the provider", "status", rec.Code)
		http.Error(w, "discovery unavailable", http.StatusInternalServerError)
		return
	}
	restrictDiscovery(&doc)
	body, err := json.Marshal(&doc)
	if err != nil {
		s.log.ErrorContext(r.Context(), "encode discovery document", "err", err)
		http.Error(w, "discovery unavailable", http.StatusInternalServerError)
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = bytes.NewReader(body).WriteTo(w)
	}
}

func restrictDiscovery(d *oidc.DiscoveryConfiguration) {
	d.ResponseTypesSupported = slices.Clone(supportedResponseTypes)
	d.GrantTypesSupported = slices.Clone(supportedGrantTypes)
	d.DeviceAuthorizationEndpoint = ""
	d.CheckSessionIframe = ""
	d.ClaimsSupported = slices.Clone(supportedClaims)
	// No private_key_jwt client authentication anywhere, so no signing
	// algorithms for it; no request objects.
	d.TokenEndpointAuthSigningAlgValuesSupported = nil
	d.RevocationEndpointAuthSigningAlgValuesSupported = nil
	d.IntrospectionEndpointAuthSigningAlgValuesSupported = nil
	d.RequestObjectSigningAlgValuesSupported = nil
	d.RequestParameterSupported = false
}

// token refuses the grants op would otherwise attempt (jwt-bearer,
// token-exchange, client_credentials, device_code, implicit) with
// unsupported_grant_type before handing the request to the provider.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			op.RequestError(w, r, oidc.ErrInvalidRequest().WithDescription("the request body could not be read"), s.log)
			return
		}
		if gt := r.Form.Get("grant_type"); gt != "" && !slices.Contains(supportedGrantTypes, oidc.GrantType(gt)) {
			s.audit(r.Context(), "token", "failure", "", r.Form.Get("client_id"), "unsupported grant_type", map[string]any{"grant_type": gt})
			op.RequestError(w, r, oidc.ErrUnsupportedGrantType().WithDescription("only authorization_code and refresh_token are supported"), s.log)
			return
		}
	}
	s.provider.ServeHTTP(w, r)
}
