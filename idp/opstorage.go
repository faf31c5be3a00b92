package idp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

var (
	_ op.Storage                        = (*opStorage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*opStorage)(nil)
	_ op.CanTerminateSessionFromRequest = (*opStorage)(nil)
)

// opStorage adapts storage.Storage to op.Storage. It holds no protocol
// state of its own: everything lives in the database, so any instance can
// continue any flow.
type opStorage struct {
	s *Server
}

func (o *opStorage) now() time.Time { return o.s.clock() }

// fail marks a storage outage on the request (the response becomes a 503,
// see opWriter) and returns err for op.
func (o *opStorage) fail(ctx context.Context, err error) error {
	if errors.Is(err, storage.ErrUnavailable) {
		o.s.storageUnavailable(ctx, err)
	}
	return err
}

// --- clients ---------------------------------------------------------------

// GetClientByClientID returns the client this request already read (the
// token endpoint's client authentication, /authorize's checks) or reads it.
func (o *opStorage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	st := stateFrom(ctx)
	c := st.client
	if c == nil || c.ID != clientID {
		var err error
		c, err = o.s.client(ctx, clientID)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, oidc.ErrInvalidClient().WithDescription("client is not registered")
		}
		if err != nil {
			return nil, oidc.ErrServerError().WithParent(o.fail(ctx, err))
		}
		st.client = c
	}
	st.alg = idTokenAlg(c)
	return o.s.opClient(c), nil
}

// AuthorizeClientIDSecret is op's client authentication. faceidp's
// handlers authenticate the client before op runs (clientauth.go), so this
// only confirms it; a request that reached op another way is
// authenticated here, under the same limits.
func (o *opStorage) AuthorizeClientIDSecret(ctx context.Context, clientID, secret string) error {
	if authenticatedInRequest(ctx, clientID, secret) {
		return nil
	}
	c, refusal := o.s.authenticateClient(ctx, clientID, secret, true)
	if refusal != nil {
		if refusal.status == http.StatusServiceUnavailable {
			stateFrom(ctx).unavailable = true
			return oidc.ErrServerError()
		}
		return refusal.err
	}
	st := stateFrom(ctx)
	st.client, st.clientSecret, st.clientAuthenticated = c, secret, true
	st.alg = idTokenAlg(c)
	return nil
}

// --- auth requests ----------------------------------------------------------

// CreateAuthRequest stores a request op has validated. hintSubject is the
// sub of a verified id_token_hint (the login must then be that user's).
func (o *opStorage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, hintSubject string) (op.AuthRequest, error) {
	id, err := randomID(o.s.rand)
	if err != nil {
		return nil, err
	}
	now := o.now()
	r := &models.AuthRequest{
		ID:                  id,
		ClientID:            req.ClientID,
		RedirectURI:         req.RedirectURI,
		Scopes:              []string(req.Scopes),
		State:               req.State,
		Nonce:               req.Nonce,
		ResponseType:        string(req.ResponseType),
		ResponseMode:        string(req.ResponseMode),
		CodeChallenge:       req.CodeChallenge,
		CodeChallengeMethod: string(req.CodeChallengeMethod),
		Prompt:              []string(req.Prompt),
		LoginHint:           req.LoginHint,
		HintSubject:         hintSubject,
		ACRValues:           []string(req.ACRValues),
		Step:                models.StepFirstFactor,
		CreatedAt:           now,
		ExpiresAt:           now.Add(o.s.opts.AuthRequestTTL),
	}
	if req.MaxAge != nil {
		m := int64(*req.MaxAge)
		r.MaxAge = &m
	}
	for _, l := range req.UILocales {
		r.UILocales = append(r.UILocales, l.String())
	}
	if err := o.s.store.CreateAuthRequest(ctx, r); err != nil {
		return nil, fmt.Errorf("store auth request: %w", o.fail(ctx, err))
	}
	return &authRequest{r}, nil
}

func (o *opStorage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	r, err := o.authRequestByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return &authRequest{r}, nil
}

// authRequestByID is the pending auth request this request already read,
// or reads it.
func (o *opStorage) authRequestByID(ctx context.Context, id string) (*models.AuthRequest, error) {
	if r := stateFrom(ctx).authRequest; r != nil && r.ID == id {
		return r, nil
	}
	r, err := o.s.loadAuthRequest(ctx, id)
	if err != nil {
		return nil, o.fail(ctx, err)
	}
	return r, nil
}

// AuthRequestByCode finds the request by the SHA-256 of the code and
// refuses codes past their (short) lifetime. A code that was already
// exchanged is reuse (RFC 6749 §4.1.2): when the client it was issued to
// presents it again (authenticated, or proving PKCE for a public client),
// the tokens issued from it are revoked; from anyone else it is merely
// refused, so whoever saw a callback URL cannot end the user's grant. op
// answers invalid_grant either way.
func (o *opStorage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	r, err := o.s.store.GetAuthRequestByCodeHash(ctx, hashToken(code))
	if err != nil {
		return nil, fmt.Errorf("look up code: %w", o.fail(ctx, err))
	}
	if r.CodeUsedAt != nil {
		if !replayedByItsClient(ctx, r) {
			return nil, errors.New("authorization code already used")
		}
		if err := o.s.store.RevokeAuthCodeTokens(ctx, r.ID, o.now()); err != nil {
			return nil, fmt.Errorf("revoke tokens of reused code: %w", o.fail(ctx, err))
		}
		o.codeReused(ctx, r)
		return nil, errors.New("authorization code already used")
	}
	if !r.Done || !o.now().Before(r.ExpiresAt) {
		return nil, errors.New("authorization code expired")
	}
	if c := stateFrom(ctx).client; c != nil && c.ID == r.ClientID {
		stateFrom(ctx).alg = idTokenAlg(c)
	}
	return &authRequest{r}, nil
}

// replayedByItsClient reports whether this token request proves to be the
// client the code was issued to: a confidential client authenticated
// (clientFromRequest), a public one presented the code_verifier that
// matches the code's PKCE challenge.
func replayedByItsClient(ctx context.Context, r *models.AuthRequest) bool {
	st := stateFrom(ctx)
	if st.client == nil || st.client.ID != r.ClientID {
		return false
	}
	if st.clientAuthenticated {
		return true
	}
	return r.CodeChallenge != "" && st.codeVerifier != "" &&
		oidc.VerifyCodeChallenge(&oidc.CodeChallenge{Challenge: r.CodeChallenge, Method: oidc.CodeChallengeMethod(r.CodeChallengeMethod)}, st.codeVerifier)
}

// SaveAuthCode stores the code's hash; a request gets exactly one code, and
// the code lives CodeTTL from now.
func (o *opStorage) SaveAuthCode(ctx context.Context, id, code string) error {
	r, err := o.authRequestByID(ctx, id)
	if err != nil {
		return err
	}
	if r.CodeHash != "" {
		return oidc.ErrInvalidRequest().WithDescription("an authorization code was already issued for this request")
	}
	r.CodeHash = hashToken(code)
	r.ExpiresAt = o.now().Add(o.s.opts.CodeTTL)
	if err := o.s.store.UpdateAuthRequest(ctx, r); err != nil {
		return fmt.Errorf("store code: %w", o.fail(ctx, err))
	}
	return nil
}

// DeleteAuthRequest is op's hook after a code exchange. A request whose code
// was exchanged stays as the tombstone RedeemAuthCode wrote (it expires with
// the code), so a second exchange is recognised as reuse; anything else is
// deleted.
func (o *opStorage) DeleteAuthRequest(ctx context.Context, id string) error {
	if stateFrom(ctx).redeemed == id {
		return nil // this request just wrote the tombstone
	}
	r, err := o.s.store.GetAuthRequest(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load auth request: %w", o.fail(ctx, err))
	}
	if r.CodeUsedAt != nil {
		return nil
	}
	if err := o.s.store.DeleteAuthRequest(ctx, id); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("delete auth request: %w", o.fail(ctx, err))
	}
	return nil
}

// codeReused audits a second exchange of an authorization code.
func (o *opStorage) codeReused(ctx context.Context, r *models.AuthRequest) {
	o.s.audit(ctx, "token.code_reuse", "failure", r.UserID, r.ClientID, "authorization code presented again; tokens issued from it revoked", nil)
}

// redeemCode stores the tokens of a code exchange and marks the code used,
// atomically; a concurrent or later second exchange gets invalid_grant and
// revokes them.
func (o *opStorage) redeemCode(ctx context.Context, r *authRequest, at *models.AccessToken, rt *models.RefreshToken) error {
	err := o.s.store.RedeemAuthCode(ctx, r.r.ID, o.now(), at, rt)
	if errors.Is(err, storage.ErrAuthCodeUsed) {
		o.codeReused(ctx, r.r)
		return oidc.ErrInvalidGrant().WithDescription("authorization code already used")
	}
	if err != nil {
		return fmt.Errorf("redeem authorization code: %w", o.fail(ctx, err))
	}
	stateFrom(ctx).redeemed = r.r.ID
	return nil
}

// --- tokens -----------------------------------------------------------------

func (o *opStorage) accessTokenFor(req op.TokenRequest) (*models.AccessToken, error) {
	id, err := randomID(o.s.rand)
	if err != nil {
		return nil, err
	}
	now := o.now()
	at := &models.AccessToken{
		ID:        id,
		UserID:    req.GetSubject(),
		Scopes:    slices.Clone(req.GetScopes()),
		Audience:  slices.Clone(req.GetAudience()),
		CreatedAt: now,
		ExpiresAt: now.Add(o.s.opts.AccessTokenTTL),
	}
	switch r := req.(type) {
	case *authRequest:
		at.ClientID, at.AuthTime, at.AMR = r.r.ClientID, r.r.AuthTime, r.r.AMR
	case *refreshTokenRequest:
		at.ClientID, at.AuthTime, at.AMR = r.t.ClientID, r.t.AuthTime, r.t.AMR
	case *clientCredentialsRequest:
		at.ClientID, at.AuthTime = r.clientID, now
	default:
		return nil, oidc.ErrUnsupportedGrantType()
	}
	return at, nil
}

func (o *opStorage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	at, err := o.accessTokenFor(req)
	if err != nil {
		return "", time.Time{}, err
	}
	if r, ok := req.(*authRequest); ok {
		if err := o.redeemCode(ctx, r, at, nil); err != nil {
			return "", time.Time{}, err
		}
	} else if err := o.s.store.CreateAccessToken(ctx, at); err != nil {
		return "", time.Time{}, fmt.Errorf("store access token: %w", o.fail(ctx, err))
	}
	o.s.metrics.tokens.WithLabelValues("access").Inc()
	return at.ID, at.ExpiresAt, nil
}

// CreateAccessAndRefreshTokens issues a new refresh token: the first of a
// family for a code exchange, or the successor of currentRefreshToken
// (rotation). Rotating a token that was already rotated revokes the family.
func (o *opStorage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	at, err := o.accessTokenFor(req)
	if err != nil {
		return "", "", time.Time{}, err
	}
	token, err := randomID(o.s.rand)
	if err != nil {
		return "", "", time.Time{}, err
	}
	rtID, err := randomID(o.s.rand)
	if err != nil {
		return "", "", time.Time{}, err
	}
	now := o.now()
	rt := &models.RefreshToken{
		ID:        rtID,
		TokenHash: hashToken(token),
		ClientID:  at.ClientID,
		UserID:    at.UserID,
		Audience:  at.Audience,
		AuthTime:  at.AuthTime,
		AMR:       at.AMR,
		CreatedAt: now,
		ExpiresAt: now.Add(o.s.opts.RefreshTokenTTL),
	}
	at.RefreshTokenID = rtID
	switch r := req.(type) {
	case *authRequest:
		if current != "" {
			return "", "", time.Time{}, oidc.ErrInvalidRequest()
		}
		if rt.FamilyID, err = randomID(o.s.rand); err != nil {
			return "", "", time.Time{}, err
		}
		rt.Scopes, rt.ACR = at.Scopes, r.r.ACR
		if err := o.redeemCode(ctx, r, at, rt); err != nil {
			return "", "", time.Time{}, err
		}
	case *refreshTokenRequest:
		// The successor keeps the family's granted scopes even when this
		// exchange narrowed the access token's scopes (RFC 6749 §6).
		rt.FamilyID, rt.Scopes, rt.ACR = r.t.FamilyID, r.t.Scopes, r.t.ACR
		err := o.s.store.RotateRefreshToken(ctx, hashToken(current), now, rt, at)
		if errors.Is(err, storage.ErrRefreshTokenReused) {
			o.s.audit(ctx, "token.refresh_reuse", "failure", r.t.UserID, r.t.ClientID, "rotated refresh token presented again; family revoked", nil)
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("refresh token was already used")
		}
		if err != nil {
			return "", "", time.Time{}, fmt.Errorf("rotate refresh token: %w", o.fail(ctx, err))
		}
		// A successful refresh is not audited: it decides nothing about
		// the user's authentication (the family's sign-in was audited) and
		// would write a row per request.
	default:
		return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	o.s.metrics.tokens.WithLabelValues("access").Inc()
	o.s.metrics.tokens.WithLabelValues("refresh").Inc()
	return at.ID, token, at.ExpiresAt, nil
}

// TokenRequestByRefreshToken loads a usable refresh token. A rotated or
// revoked one is reuse: the whole family is revoked.
func (o *opStorage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	t, u, err := o.s.store.GetRefreshTokenWithUser(ctx, hashToken(token))
	if err != nil {
		return nil, fmt.Errorf("look up refresh token: %w", o.fail(ctx, err))
	}
	now := o.now()
	st := stateFrom(ctx)
	if t.RotatedAt != nil || t.RevokedAt != nil {
		if st.client == nil || st.client.ID != t.ClientID {
			// Only the client the family belongs to revokes it; op refuses
			// the mismatch anyway.
			return nil, errors.New("refresh token was issued to another client")
		}
		if err := o.s.store.RevokeRefreshFamily(ctx, t.FamilyID, now); err != nil {
			return nil, fmt.Errorf("revoke refresh token family: %w", o.fail(ctx, err))
		}
		o.s.audit(ctx, "token.refresh_reuse", "failure", t.UserID, t.ClientID, "rotated or revoked refresh token presented; family revoked", nil)
		return nil, errors.New("refresh token was already used")
	}
	if !now.Before(t.ExpiresAt) {
		return nil, errors.New("refresh token expired")
	}
	if u.Disabled {
		return nil, errors.New("user cannot sign in")
	}
	st.user = u
	if st.client != nil && st.client.ID == t.ClientID {
		st.alg = idTokenAlg(st.client)
	}
	return &refreshTokenRequest{t: t, scopes: slices.Clone(t.Scopes)}, nil
}

func (o *opStorage) GetRefreshTokenInfo(ctx context.Context, _ string, token string) (string, string, error) {
	t, err := o.s.store.GetRefreshTokenByHash(ctx, hashToken(token))
	if errors.Is(err, storage.ErrNotFound) {
		return "", "", op.ErrInvalidRefreshToken
	}
	if err != nil {
		return "", "", o.fail(ctx, err)
	}
	return t.UserID, t.ID, nil
}

// RevokeToken revokes a refresh token (and its family) or an access token.
// Unknown tokens are not an error (RFC 7009 §2.2).
func (o *opStorage) RevokeToken(ctx context.Context, tokenOrID, _ string, clientID string) *oidc.Error {
	now := o.now()
	if t, err := o.s.store.GetRefreshToken(ctx, tokenOrID); err == nil {
		if t.ClientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
		}
		if err := o.s.store.RevokeRefreshFamily(ctx, t.FamilyID, now); err != nil {
			return oidc.ErrServerError().WithParent(o.fail(ctx, err))
		}
		o.s.audit(ctx, "token.revoke", "success", t.UserID, clientID, "refresh token family", nil)
		return nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return oidc.ErrServerError().WithParent(o.fail(ctx, err))
	}
	at, err := o.s.store.GetAccessToken(ctx, tokenOrID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(o.fail(ctx, err))
	}
	if at.ClientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
	}
	if err := o.s.store.DeleteAccessToken(ctx, at.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return oidc.ErrServerError().WithParent(o.fail(ctx, err))
	}
	o.s.audit(ctx, "token.revoke", "success", at.UserID, clientID, "access token", nil)
	return nil
}

// TerminateSession is the fallback end_session hook; the provider calls
// TerminateSessionFromRequest instead.
func (o *opStorage) TerminateSession(ctx context.Context, userID, clientID string) error {
	if userID == "" || clientID == "" {
		return nil
	}
	return o.s.store.DeleteUserClientTokens(ctx, userID, clientID)
}

// TerminateSessionFromRequest ends the browser's login session (the one
// named by its session cookie) and the user's tokens for the client.
func (o *opStorage) TerminateSessionFromRequest(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	st := stateFrom(ctx)
	userID := req.UserID
	if st.sessionID != "" {
		sess, err := o.s.store.GetSession(ctx, st.sessionID)
		if err == nil && (userID == "" || sess.UserID == userID) {
			if err := o.s.store.RevokeSession(ctx, sess.ID, o.now()); err != nil {
				return "", fmt.Errorf("revoke session: %w", o.fail(ctx, err))
			}
			userID = sess.UserID
			if st.clearSession != nil {
				st.clearSession()
			}
		}
	}
	if userID != "" && req.ClientID != "" {
		if err := o.s.store.DeleteUserClientTokens(ctx, userID, req.ClientID); err != nil {
			return "", fmt.Errorf("delete tokens: %w", o.fail(ctx, err))
		}
	}
	o.s.audit(ctx, "logout", "success", userID, req.ClientID, "", nil)
	return req.RedirectURI, nil
}

// --- keys -------------------------------------------------------------------

func (o *opStorage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	alg := stateFrom(ctx).alg
	if alg == "" {
		alg = AlgRS256
	}
	return o.s.keys.signingKey(ctx, alg)
}

func (o *opStorage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256, jose.ES256}, nil
}

func (o *opStorage) KeySet(ctx context.Context) ([]op.Key, error) {
	return o.s.keys.publicKeys(ctx), nil
}

// --- claims -----------------------------------------------------------------

// SetUserinfoFromScopes is deprecated in op; claims are set in
// SetUserinfoFromRequest.
func (o *opStorage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (o *opStorage) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	u := stateFrom(ctx).user // read with the refresh token
	if u == nil || u.ID != req.GetSubject() {
		var err error
		if u, err = o.s.store.GetUser(ctx, req.GetSubject()); err != nil {
			return fmt.Errorf("load user for ID token: %w", o.fail(ctx, err))
		}
	}
	setUserinfo(ui, u, scopes)
	// op only copies acr into ID tokens for auth requests; a refresh
	// carries the acr of the sign-in that started the family. It is added
	// as an extra claim, which op's registered (empty, omitted) acr leaves
	// alone.
	if rt, ok := req.(*refreshTokenRequest); ok && rt.t.ACR != "" {
		ui.AppendClaims("acr", rt.t.ACR)
	}
	return nil
}

// SetUserinfoFromToken and SetIntrospectionFromToken complete op.Storage;
// faceidp serves /userinfo and /oauth/introspect itself (userinfo.go), so
// op calls them only if it is mounted differently. They apply the same
// rules through activeToken's read.
func (o *opStorage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, subject, _ string) error {
	at, u, err := o.activeAccessToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	setUserinfo(ui, u, at.Scopes)
	return nil
}

func (o *opStorage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	at, u, err := o.activeAccessToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	if at.ClientID != clientID && !slices.Contains(at.Audience, clientID) {
		return errors.New("token belongs to another client")
	}
	ui := new(oidc.UserInfo)
	setUserinfo(ui, u, at.Scopes)
	resp.SetUserInfo(ui)
	resp.Scope = at.Scopes
	resp.ClientID = at.ClientID
	resp.TokenType = oidc.BearerToken
	resp.Expiration = oidc.FromTime(at.ExpiresAt)
	resp.IssuedAt = oidc.FromTime(at.CreatedAt)
	resp.AuthTime = oidc.FromTime(at.AuthTime)
	resp.Audience = at.Audience
	resp.AuthenticationMethodsReferences = at.AMR
	resp.Issuer = o.s.issuer
	return nil
}

func (o *opStorage) activeAccessToken(ctx context.Context, tokenID, subject string) (*models.AccessToken, *models.User, error) {
	at, u, err := o.s.store.GetAccessTokenWithUser(ctx, tokenID)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil, oidc.ErrAccessDenied().WithDescription("%s", errInvalidToken)
		}
		return nil, nil, o.fail(ctx, err)
	}
	if at.UserID != subject || !o.now().Before(at.ExpiresAt) || u.Disabled {
		return nil, nil, oidc.ErrAccessDenied().WithDescription("%s", errInvalidToken)
	}
	return at, u, nil
}

func setUserinfo(ui *oidc.UserInfo, u *models.User, scopes []string) {
	ui.Subject = u.ID
	for _, s := range scopes {
		switch s {
		case oidc.ScopeEmail:
			ui.Email = u.Email
			ui.EmailVerified = oidc.Bool(u.EmailVerified)
		case oidc.ScopeProfile:
			ui.Name = u.Name
			ui.PreferredUsername = u.Username
		}
	}
}

func (o *opStorage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (o *opStorage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("JWT client authentication is not supported")
}

func (o *opStorage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("JWT profile grant is not supported")
}

func (o *opStorage) Health(ctx context.Context) error { return o.s.store.Health(ctx) }
