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
// any response_type but code is unsupported_response_type, request objects
// are not supported, an unknown response_mode is invalid_request, and PKCE
// is enforced: S256 only, mandatory for public clients.
//
// Anyone can send /authorize requests, so they are limited per address
// (AuthorizePerIP a minute) before anything is read, and a request writes
// nothing to the database until it is valid: refusals are counted in
// faceidp_requests_refused_total, not audited; op stores the auth request
// only after its own checks pass.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if s.count(ctx, s.authorizeLimit, "authorize:ip:"+stateFrom(ctx).remoteIP) {
		s.metrics.refused.WithLabelValues("authorize", "rate_limited").Inc()
		w.Header().Set("Retry-After", "60")
		s.renderError(w, r, http.StatusTooManyRequests, "Too many sign-in requests from your network. Wait a minute and try again.")
		return
	}
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "The sign-in request could not be read.")
		return
	}
	clientID, redirectURI := r.Form.Get("client_id"), r.Form.Get("redirect_uri")
	if clientID == "" {
		s.metrics.refused.WithLabelValues("authorize", "no_client_id").Inc()
		s.renderError(w, r, http.StatusBadRequest, "The sign-in request names no application (client_id is missing).")
		return
	}
	c, err := s.client(ctx, clientID)
	if errors.Is(err, storage.ErrNotFound) {
		s.metrics.refused.WithLabelValues("authorize", "unknown_client").Inc()
		s.renderError(w, r, http.StatusBadRequest, "The application that sent you here is not registered with this sign-in service.")
		return
	}
	if err != nil {
		s.storageUnavailable(ctx, err)
		s.renderUnavailable(w, r)
		return
	}
	if !slices.Contains(c.RedirectURIs, redirectURI) {
		s.metrics.refused.WithLabelValues("authorize", "unregistered_redirect_uri").Inc()
		s.renderError(w, r, http.StatusBadRequest, "The application asked to return you to an address it has not registered (redirect_uri).")
		return
	}
	stateFrom(ctx).client = c // op's GetClientByClientID reuses it
	back := &errRequest{
		redirectURI:  redirectURI,
		responseType: oidc.ResponseType(r.Form.Get("response_type")),
		responseMode: oidc.ResponseMode(r.Form.Get("response_mode")),
		state:        r.Form.Get("state"),
	}
	refuse := func(reason string, e *oidc.Error) {
		s.metrics.refused.WithLabelValues("authorize", reason).Inc()
		op.AuthRequestError(w, r, back, e, s.provider)
	}
	if back.responseMode != "" && !slices.Contains(supportedResponseModes, string(back.responseMode)) {
		// Answered in the response type's default mode.
		back.responseMode = ""
		refuse("unsupported_response_mode", oidc.ErrInvalidRequest().WithDescription("response_mode must be query, fragment or form_post"))
		return
	}
	// Only the code flow exists here (op would answer unauthorized_client).
	// An implicit or hybrid client reads errors from the fragment unless it
	// asked for another response_mode (OAuth 2.0 Multiple Response Types §5).
	if rt := back.responseType; rt != "" && rt != oidc.ResponseTypeCode {
		if back.responseMode == "" {
			back.responseMode = oidc.ResponseModeFragment
		}
		refuse("unsupported_response_type", &oidc.Error{ErrorType: "unsupported_response_type",
			Description: "only response_type=code (the authorization code flow) is supported"})
		return
	}
	// OIDC Core §6: an OP that does not support request objects answers
	// these errors.
	if r.Form.Get("request_uri") != "" {
		refuse("request_uri", &oidc.Error{ErrorType: "request_uri_not_supported", Description: "request_uri is not supported"})
		return
	}
	if r.Form.Get("request") != "" {
		refuse("request", oidc.ErrRequestNotSupported().WithDescription("request objects are not supported"))
		return
	}
	challenge, method := r.Form.Get("code_challenge"), r.Form.Get("code_challenge_method")
	switch {
	case c.Public() && challenge == "":
		refuse("pkce_missing", oidc.ErrInvalidRequest().WithDescription("PKCE (code_challenge with S256) is required for public clients"))
		return
	case challenge != "" && method != string(oidc.CodeChallengeMethodS256):
		refuse("pkce_method", oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256"))
		return
	}
	s.serveOP(w, r, func(w http.ResponseWriter) { s.renderUnavailable(w, r) })
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
	if errors.Is(err, storage.ErrUnavailable) {
		s.storageUnavailable(r.Context(), err)
		s.renderUnavailable(w, r)
		return
	}
	if err != nil {
		s.renderError(w, r, http.StatusBadRequest, msgExpired)
		return
	}
	if !s.browserOwns(r, req) {
		s.audit(r.Context(), "authorize.callback", "failure", req.UserID, req.ClientID, "browser binding mismatch", nil)
		s.renderError(w, r, http.StatusForbidden, msgOtherBrowser)
		return
	}
	stateFrom(r.Context()).authRequest = req // op reads it again (AuthRequestByID, SaveAuthCode)
	s.serveOP(w, r, func(w http.ResponseWriter) { s.renderUnavailable(w, r) })
}

// renderUnavailable is the page for a storage outage: 503, no detail.
func (s *Server) renderUnavailable(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "5")
	s.renderError(w, r, http.StatusServiceUnavailable, msgUnavailable)
}
