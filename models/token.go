package models

import "time"

// AccessToken is an opaque access token's server-side record. The token
// string handed to the client is derived from ID by the provider.
type AccessToken struct {
	ID             string   `gorm:"primaryKey;size:64"`
	ClientID       string   `gorm:"index;size:128;not null"`
	UserID         string   `gorm:"index;size:64;not null"`
	Scopes         []string `gorm:"serializer:json"`
	Audience       []string `gorm:"serializer:json"`
	RefreshTokenID string   `gorm:"index;size:64"`
	AuthTime       time.Time
	AMR            []string  `gorm:"serializer:json"`
	ExpiresAt      time.Time `gorm:"index"`
	CreatedAt      time.Time
}

// RefreshToken is one member of a rotation family. Only the SHA-256 of the
// token string is stored. When a token is exchanged it is marked rotated and
// a successor is created in the same family; presenting a rotated token again
// revokes the whole family (reuse detection).
type RefreshToken struct {
	ID        string   `gorm:"primaryKey;size:64"`
	TokenHash string   `gorm:"uniqueIndex;size:128;not null"`
	FamilyID  string   `gorm:"index;size:64;not null"`
	ClientID  string   `gorm:"index;size:128;not null"`
	UserID    string   `gorm:"index;size:64;not null"`
	Scopes    []string `gorm:"serializer:json"`
	Audience  []string `gorm:"serializer:json"`
	AuthTime  time.Time
	AMR       []string  `gorm:"serializer:json"`
	ACR       string    `gorm:"size:128"`
	ExpiresAt time.Time `gorm:"index"`
	RotatedAt *time.Time
	RevokedAt *time.Time
	CreatedAt time.Time
}

// Usable reports whether the token may be exchanged at now.
func (t *RefreshToken) Usable(now time.Time) bool {
	return t.RotatedAt == nil && t.RevokedAt == nil && now.Before(t.ExpiresAt)
}
