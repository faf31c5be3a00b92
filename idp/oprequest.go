package idp

import (
	"log/slog"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/faceidp/faceidp/models"
)

var (
	_ op.AuthRequest         = (*authRequest)(nil)
	_ op.LogAuthRequest      = (*authRequest)(nil)
	_ op.RefreshTokenRequest = (*refreshTokenRequest)(nil)
)

// authRequest adapts models.AuthRequest to op.AuthRequest.
type authRequest struct{ r *models.AuthRequest }

func (a *authRequest) GetID() string          { return a.r.ID }
func (a *authRequest) GetACR() string         { return a.r.ACR }
func (a *authRequest) GetAMR() []string       { return a.r.AMR }
func (a *authRequest) GetAudience() []string  { return []string{a.r.ClientID} }
func (a *authRequest) GetAuthTime() time.Time { return a.r.AuthTime }
func (a *authRequest) GetClientID() string    { return a.r.ClientID }
func (a *authRequest) GetNonce() string       { return a.r.Nonce }
func (a *authRequest) GetRedirectURI() string { return a.r.RedirectURI }
func (a *authRequest) GetScopes() []string    { return a.r.Scopes }
func (a *authRequest) GetState() string       { return a.r.State }
func (a *authRequest) GetSubject() string     { return a.r.UserID }
func (a *authRequest) Done() bool             { return a.r.Done }

func (a *authRequest) GetResponseType() oidc.ResponseType {
	return oidc.ResponseType(a.r.ResponseType)
}

func (a *authRequest) GetResponseMode() oidc.ResponseMode {
	return oidc.ResponseMode(a.r.ResponseMode)
}

func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.r.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.r.CodeChallenge, Method: oidc.CodeChallengeMethod(a.r.CodeChallengeMethod)}
}

// LogValue keeps state, nonce and PKCE values out of the logs.
func (a *authRequest) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", a.r.ID),
		slog.String("client_id", a.r.ClientID),
		slog.String("redirect_uri", a.r.RedirectURI),
		slog.Any("scopes", a.r.Scopes),
	)
}

// refreshTokenRequest adapts a stored refresh token to op.RefreshTokenRequest.
type refreshTokenRequest struct {
	t      *models.RefreshToken
	scopes []string
}

func (r *refreshTokenRequest) GetAMR() []string       { return r.t.AMR }
func (r *refreshTokenRequest) GetAudience() []string  { return r.t.Audience }
func (r *refreshTokenRequest) GetAuthTime() time.Time { return r.t.AuthTime }
func (r *refreshTokenRequest) GetClientID() string    { return r.t.ClientID }
func (r *refreshTokenRequest) GetScopes() []string    { return r.scopes }
func (r *refreshTokenRequest) GetSubject() string     { return r.t.UserID }

// SetCurrentScopes narrows the scopes of the new tokens (RFC 6749 §6).
func (r *refreshTokenRequest) SetCurrentScopes(scopes []string) {
	r.scopes = slices.Clone(scopes)
}
