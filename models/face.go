package models

import "time"

// FaceTemplate is a user's enrolled face template, sealed by the keyring.
// The plaintext (several 128-d descriptors) never leaves faceauth unsealed;
// no image is ever stored.
type FaceTemplate struct {
	UserID string `gorm:"primaryKey;size:64"`
	// KeyID names the keyring key that sealed Sealed.
	KeyID     string `gorm:"index;size:64;not null"`
	Sealed    []byte `gorm:"not null"`
	Samples   int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// FacePurpose says what a face challenge is for.
type FacePurpose string

const (
	FacePurposeVerify FacePurpose = "verify"
	FacePurposeEnrol  FacePurpose = "enrol"
)

// FaceChallenge is a single-use live challenge bound to one login flow.
type FaceChallenge struct {
	// ID is the challenge nonce handed to the browser.
	ID            string      `gorm:"primaryKey;size:64"`
	AuthRequestID string      `gorm:"index;size:64"`
	SessionID     string      `gorm:"index;size:64"`
	UserID        string      `gorm:"index;size:64;not null"`
	Purpose       FacePurpose `gorm:"size:16"`
	Actions       []string    `gorm:"serializer:json"`
	CreatedAt     time.Time
	ExpiresAt     time.Time `gorm:"index"`
	UsedAt        *time.Time
}
