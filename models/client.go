package models

import "time"

// Client is a registered relying party.
type Client struct {
	ID   string `gorm:"primaryKey;size:128"`
	Name string `gorm:"size:256"`
	// SecretHash is a PHC-formatted argon2id hash of the client secret.
	// Empty means a public client (PKCE mandatory, no client authentication).
	SecretHash             string   `gorm:"size:256"`
	RedirectURIs           []string `gorm:"serializer:json"`
	PostLogoutRedirectURIs []string `gorm:"serializer:json"`
	// SkipConsent is for first-party clients that need no consent screen.
	SkipConsent bool
	// RequireFace makes the face factor mandatory for sign-ins to this client.
	RequireFace bool
	// IDTokenAlg is the ID token signing algorithm: "RS256" (default) or "ES256".
	IDTokenAlg string `gorm:"size:16"`
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Public reports whether the client has no secret.
func (c *Client) Public() bool { return c.SecretHash == "" }
