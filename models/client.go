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
	// Service marks a machine client: it signs nobody in and only obtains
	// access tokens for itself with the client-credentials grant.
	Service bool
	// Scopes are the extra scopes a service client may be granted (for
	// example "admin", for the admin API).
	Scopes []string `gorm:"serializer:json"`
	// Disabled stops every grant and sign-in of the client; its tokens
	// were deleted when it was disabled.
	Disabled  bool
	CreatedAt time.Time
	UpdatedAt time.Time

	// Policy overrides the global factor policy for this client.
	Policy ClientPolicy `gorm:"embedded"`
}

// ClientPolicy holds a client's overrides of the global factor policy
// (factors/policy.Resolve). The zero value of each field keeps the global
// default from the configuration.
type ClientPolicy struct {
	// FirstFactors lists the first factors allowed ("password",
	// "passkey"); empty means the global default.
	FirstFactors []string `gorm:"serializer:json"`
	// FaceMode is "off", "optional" or "required"; empty means the global
	// face.mode. Client.RequireFace true is the same as "required".
	FaceMode string `gorm:"size:16"`
	// FaceEnrolment is "offer", "force" or "never"; empty means the global
	// default.
	FaceEnrolment string `gorm:"size:16"`
	// PasskeySkipsFace says whether a user-verified passkey alone satisfies
	// the client's face requirement; nil means the global default.
	PasskeySkipsFace *bool
}

// Public reports whether the client has no secret.
func (c *Client) Public() bool { return c.SecretHash == "" }
