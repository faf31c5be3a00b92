package idp

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// Userinfo (OIDC Core §5.3) and introspection (RFC 7662) are served here
// rather than by op: each is one indexed read of the access token joined
// to its user, and their failures get the status the specifications ask
// for (401 with WWW-Authenticate for a bad bearer token, 503 without
// detail when the database is down) instead of op's 403 or inactive-token
// answers. faceidp issues only opaque access tokens (op's bearer tokens:
// the token ID and subject, encrypted under the token key).

var (
	errInvalidToken = errors.New("access token is invalid, expired or revoked")
	errNoToken      = errors.New("no access token")
)

// activeToken decrypts an opaque access token and returns its record and
// user if it is still usable: not expired, its user not disabled.
func (s *Server) activeToken(ctx context.Context, token string) (*models.AccessToken, *models.User, error) {
	if token == "" {
		return nil, nil, errNoToken
	}
	plain, err := s.provider.Crypto().Decrypt(token)
	if err != nil {
		return nil, nil, errInvalidToken
	}
	id, subject, ok := strings.Cut(plain, ":")
	if !ok || id == "" || strings.Contains(subject, ":") {
		return nil, nil, errInvalidToken
	}
	at, u, err := s.store.GetAccessTokenWithUser(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, nil, errInvalidToken
	case err != nil:
		s.storageUnavailable(ctx, err)
		return nil, nil, err
	}
	if at.UserID != subject || !s.clock().Before(at.ExpiresAt) || u.Disabled {
		return nil, nil, errInvalidToken
	}
	return at, u, nil
}

// bearerToken returns the access token from the Authorization header or,
// for a form POST, the access_token field (RFC 6750 §2.1, §2.2).
func bearerToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return ""
		}
		return strings.TrimSpace(token)
	}
	if r.Method == http.MethodPost && r.ParseForm() == nil {
		return r.PostForm.Get("access_token")
	}
	return ""
}

func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	noStore(h)
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		h.Set("Allow", "GET, POST")
		writeJSON(w, http.StatusMethodNotAllowed, oidc.ErrInvalidRequest().WithDescription("use GET or POST"))
		return
	}
	at, u, err := s.activeToken(r.Context(), bearerToken(r))
	switch {
	case errors.Is(err, errNoToken):
		h.Set("WWW-Authenticate", `Bearer realm="`+s.issuer+`"`)
		writeJSON(w, http.StatusUnauthorized, oidc.ErrInvalidRequest().WithDescription("an access token is required"))
		return
	case errors.Is(err, errInvalidToken):
		h.Set("WWW-Authenticate", `Bearer realm="`+s.issuer+`", error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, &oidc.Error{ErrorType: "invalid_token", Description: errInvalidToken.Error()})
		return
	case err != nil:
		unavailableJSON(w)
		return
	}
	info := new(oidc.UserInfo)
	setUserinfo(info, u, at.Scopes)
	writeJSON(w, http.StatusOK, info)
}

// introspect answers for access tokens issued to the calling client or
// naming it in their audience; any other token is inactive to it.
func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	if !parsePost(w, r) || !s.clientFromRequest(w, r, true) {
		return
	}
	caller := stateFrom(r.Context()).client.ID
	resp := new(oidc.IntrospectionResponse)
	at, u, err := s.activeToken(r.Context(), r.PostForm.Get("token"))
	switch {
	case errors.Is(err, errNoToken), errors.Is(err, errInvalidToken):
	case err != nil:
		unavailableJSON(w)
		return
	case at.ClientID == caller || slices.Contains(at.Audience, caller):
		ui := new(oidc.UserInfo)
		setUserinfo(ui, u, at.Scopes)
		resp.SetUserInfo(ui)
		resp.Active = true
		resp.Scope = at.Scopes
		resp.ClientID = at.ClientID
		resp.TokenType = oidc.BearerToken
		resp.Expiration = oidc.FromTime(at.ExpiresAt)
		resp.IssuedAt = oidc.FromTime(at.CreatedAt)
		resp.AuthTime = oidc.FromTime(at.AuthTime)
		resp.Audience = at.Audience
		resp.AuthenticationMethodsReferences = at.AMR
		resp.Issuer = s.issuer
	}
	writeJSON(w, http.StatusOK, resp)
}
