package idp

import (
	"errors"
	"net/http"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/faceidp/faceidp/storage"
)

// authorize checks what op cannot turn into a safe redirect before handing
// the request to the provider: an unknown client or an unregistered
// redirect_uri gets an error page (never a redirect, RFC 6749 §4.1.2.1),
// any response_type but code is unsupported_response_type, and PKCE is
// enforced: S256 only, mandatory for public clients.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "The sign-in request could not be read.")
		return
	}
	clientID, redirectURI := r.Form.Get("client_id"), r.Form.Get("redirect_uri")
	if clientID == "" {
		s.renderError(w, r, http.StatusBadRequest, "The sign-in request names no application (client_id is missing).")
		return
	}
	c, err := s.store.GetClient(r.Context(), clientID)
	if errors.Is(err, storage.ErrNotFound) {
		s.audit(r.Context(), "authorize", "failure", "", clientID, "unknown client", nil)
		s.renderError(w, r, http.StatusBadRequest, "The application that sent you here is not registered with this sign-in service.")
		return
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "load client", "client_id", clientID, "err", err)
		s.renderError(w, r, http.StatusInternalServerError, "The sign-in service is temporarily unavailable. Try again later.")
		return
	}
	if !slices.Contains(c.RedirectURIs, redirectURI) {
		s.audit(r.Context(), "authorize", "failure", "", clientID, "unregistered redirect_uri", nil)
		s.renderError(w, r, http.StatusBadRequest, "The application asked to return you to an address it has not registered (redirect_uri).")
		return
	}
	back := &errRequest{
		redirectURI:  redirectURI,
		responseType: oidc.ResponseType(r.Form.Get("response_type")),
		responseMode: oidc.ResponseMode(r.Form.Get("response_mode")),
		state:        r.Form.Get("state"),
	}
	// Only the code flow exists here (op would answer unauthorized_client).
	// An implicit or hybrid client reads errors from the fragment unless it
	// asked for another response_mode (OAuth 2.0 Multiple Response Types §5).
	if rt := back.responseType; rt != "" && rt != oidc.ResponseTypeCode {
		if back.responseMode == "" {
			back.responseMode = oidc.ResponseModeFragment
		}
		s.audit(r.Context(), "authorize", "failure", "", clientID, "unsupported response_type", map[string]any{"response_type": string(rt)})
		op.AuthRequestError(w, r, back, &oidc.Error{ErrorType: "unsupported_response_type",
			Description: "only response_type=code (the authorization code flow) is supported"}, s.provider)
		return
	}
	challenge, method := r.Form.Get("code_challenge"), r.Form.Get("code_challenge_method")
	switch {
	case c.Public() && challenge == "":
		op.AuthRequestError(w, r, back, oidc.ErrInvalidRequest().WithDescription("PKCE (code_challenge with S256) is required for public clients"), s.provider)
		return
	case challenge != "" && method != string(oidc.CodeChallengeMethodS256):
		op.AuthRequestError(w, r, back, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256"), s.provider)
		return
	}
	s.provider.ServeHTTP(w, r)
}

// errRequest is the minimum op needs to redirect an error to the client.
type errRequest struct {
	redirectURI  string
	responseType oidc.ResponseType
	responseMode oidc.ResponseMode
	state        string
}

func (e *errRequest) GetRedirectURI() string             { return e.redirectURI }
func (e *errRequest) GetResponseType() oidc.ResponseType { return e.responseType }
func (e *errRequest) GetResponseMode() oidc.ResponseMode { return e.responseMode }
func (e *errRequest) GetState() string                   { return e.state }

// authorizeCallback lets op issue the code only to the browser that owns
// the flow, so a leaked auth request ID is worthless elsewhere.
func (s *Server) authorizeCallback(w http.ResponseWriter, r *http.Request) {
	req, err := s.loadAuthRequest(r.Context(), r.URL.Query().Get("id"))
	if err != nil {
		s.renderError(w, r, http.StatusBadRequest, msgExpired)
		return
	}
	if !s.browserOwns(r, req) {
		s.audit(r.Context(), "authorize.callback", "failure", req.UserID, req.ClientID, "browser binding mismatch", nil)
		s.renderError(w, r, http.StatusForbidden, msgOtherBrowser)
		return
	}
	s.provider.ServeHTTP(w, r)
}
