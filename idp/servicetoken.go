package idp

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// The client-credentials grant (RFC 6749 §4.4) for service clients
// (models.Client.Service): a token for the client itself, with no user,
// carrying only scopes the client is allowed (the admin API's "admin").
// Its access token names no subject, so userinfo and introspection, which
// answer about a user, never accept it.

var _ op.ClientCredentialsStorage = (*opStorage)(nil)

// clientCredentialsRequest is op.TokenRequest for the grant.
type clientCredentialsRequest struct {
	clientID string
	scopes   []string
}

func (r *clientCredentialsRequest) GetSubject() string           { return "" }
func (r *clientCredentialsRequest) GetAudience() []string        { return []string{r.clientID} }
func (r *clientCredentialsRequest) GetScopes() []string          { return r.scopes }
func (r *clientCredentialsRequest) SetCurrentScopes(sc []string) { r.scopes = sc }

// ClientCredentials authenticates a service client (faceidp's handler has
// usually done so already, under the client authentication limits).
func (o *opStorage) ClientCredentials(ctx context.Context, clientID, secret string) (op.Client, error) {
	st := stateFrom(ctx)
	c := st.client
	if !authenticatedInRequest(ctx, clientID, secret) {
		var refusal *authRefusal
		if c, refusal = o.s.authenticateClient(ctx, clientID, secret, true); refusal != nil {
			if refusal.status == http.StatusServiceUnavailable {
				st.unavailable = true
				return nil, oidc.ErrServerError()
			}
			return nil, refusal.err
		}
		st.client, st.clientSecret, st.clientAuthenticated = c, secret, true
	}
	// A client that is no service client lacks the grant type: op answers
	// unauthorized_client.
	return o.s.opClient(c), nil
}

// ClientCredentialsTokenRequest grants the requested scopes if the client
// is allowed every one of them.
func (o *opStorage) ClientCredentialsTokenRequest(ctx context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	c := stateFrom(ctx).client
	if c == nil || c.ID != clientID || !c.Service {
		return nil, oidc.ErrUnauthorizedClient()
	}
	for _, sc := range scopes {
		if !slices.Contains(c.Scopes, sc) {
			return nil, oidc.ErrInvalidScope().WithDescription("scope %q is not allowed for this client", sc)
		}
	}
	o.s.audit(ctx, "token.client_credentials", "success", "", clientID, "", map[string]any{"scopes": scopes})
	return &clientCredentialsRequest{clientID: clientID, scopes: slices.Clone(scopes)}, nil
}

// ErrInvalidToken is returned by ServiceToken and UserToken for a token
// that is malformed, unknown, expired, revoked or of the wrong kind.
var ErrInvalidToken = errInvalidToken

// ServiceToken checks an access token issued by the client-credentials
// grant and returns it with its (enabled) service client. A storage
// failure is returned wrapped (answer 503), anything else is
// ErrInvalidToken.
func (s *Server) ServiceToken(ctx context.Context, token string) (*models.AccessToken, *models.Client, error) {
	plain, err := s.provider.Crypto().Decrypt(token)
	if token == "" || err != nil {
		return nil, nil, errInvalidToken
	}
	id, subject, ok := strings.Cut(plain, ":")
	if !ok || id == "" || subject != "" {
		return nil, nil, errInvalidToken
	}
	at, err := s.store.GetAccessToken(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, nil, errInvalidToken
	case err != nil:
		s.storageUnavailable(ctx, err)
		return nil, nil, err
	}
	if at.UserID != "" || !s.clock().Before(at.ExpiresAt) {
		return nil, nil, errInvalidToken
	}
	c, err := s.client(ctx, at.ClientID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, nil, errInvalidToken
	case err != nil:
		s.storageUnavailable(ctx, err)
		return nil, nil, err
	}
	if !c.Service {
		return nil, nil, errInvalidToken
	}
	return at, c, nil
}

// UserToken checks an access token issued to a user (as userinfo does) and
// returns it with the user.
func (s *Server) UserToken(ctx context.Context, token string) (*models.AccessToken, *models.User, error) {
	return s.activeToken(ctx, token)
}

// Now is the provider's clock.
func (s *Server) Now() time.Time { return s.clock() }
