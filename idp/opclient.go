package idp

import (
	"net/url"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/faceidp/faceidp/models"
)

var _ op.Client = (*opClient)(nil)

// opClient adapts a registered models.Client to op.Client.
type opClient struct {
	c          *models.Client
	loginURL   func(authRequestID string) string
	idTokenTTL time.Duration
}

func (c *opClient) GetID() string                    { return c.c.ID }
func (c *opClient) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c *opClient) PostLogoutRedirectURIs() []string { return c.c.PostLogoutRedirectURIs }

// ApplicationType: confidential clients are web apps; public clients are
// native apps (RFC 8252 rules: loopback http, https or private schemes).
func (c *opClient) ApplicationType() op.ApplicationType {
	if c.c.Public() {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

// AuthMethod is none for public clients. Confidential clients report
// client_secret_basic; the token endpoint accepts the same secret in the
// form body too (client_secret_post is enabled in the provider config).
func (c *opClient) AuthMethod() oidc.AuthMethod {
	if c.c.Public() {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

// ResponseTypes and GrantTypes: a service client only uses the
// client-credentials grant; every other client the code flow.
func (c *opClient) ResponseTypes() []oidc.ResponseType {
	if c.c.Service {
		return nil
	}
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (c *opClient) GrantTypes() []oidc.GrantType {
	if c.c.Service {
		return []oidc.GrantType{oidc.GrantTypeClientCredentials}
	}
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}

func (c *opClient) LoginURL(id string) string            { return c.loginURL(id) }
func (c *opClient) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *opClient) IDTokenLifetime() time.Duration       { return c.idTokenTTL }
func (c *opClient) DevMode() bool                        { return false }
func (c *opClient) IsScopeAllowed(string) bool           { return false }
func (c *opClient) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *opClient) ClockSkew() time.Duration             { return 0 }

func (c *opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// idTokenAlg is the client's ID token signing algorithm (default RS256).
func idTokenAlg(c *models.Client) string {
	if c.IDTokenAlg == "ES256" {
		return "ES256"
	}
	return "RS256"
}

func loginURL(issuer string) func(string) string {
	return func(id string) string {
		return issuer + "/login/?authRequestID=" + url.QueryEscape(id)
	}
}
