package models

import "time"

// SigningKey is a token signing key. The private key is stored sealed by the
// keyring (see package keyring); the public part is recomputed on load.
type SigningKey struct {
	ID        string `gorm:"primaryKey;size:64"`
	Algorithm string `gorm:"size:16;not null"` // RS256 or ES256
	// SealedPrivateKey is the keyring-sealed PKCS#8 DER private key.
	SealedPrivateKey []byte
	CreatedAt        time.Time
	// RetiredAt is set when a newer key replaces this one for signing.
	RetiredAt *time.Time
	// RemoveAfter is when a retired key may leave the JWKS: after every token
	// it signed has expired.
	RemoveAfter *time.Time `gorm:"index"`
}
