package models

import "time"

// RecoveryCode is one of a user's one-time recovery codes, which stand in
// for the face step once. Only a keyed hash is stored (see
// factors/recovery); the code itself is shown to the user once.
type RecoveryCode struct {
	UserID string `gorm:"primaryKey;size:64"`
	// CodeHash is HMAC-SHA256 (hex) of the user id and the normalised code
	// under a key derived from the master key KeyID.
	CodeHash string `gorm:"primaryKey;size:64"`
	KeyID    string `gorm:"size:64;not null"`
	// SetID names the generation the code belongs to; regenerating
	// replaces the whole set.
	SetID     string `gorm:"size:64;not null"`
	CreatedAt time.Time
	UsedAt    *time.Time
}

// FaceBypass is an administrator's permission for a user to skip the face
// step once, before ExpiresAt (a broken camera, a changed appearance). The
// sign-in that uses it must enrol the face again.
type FaceBypass struct {
	ID     string `gorm:"primaryKey;size:64"`
	UserID string `gorm:"index;size:64;not null"`
	// GrantedBy names the administrator (for the CLI: "cli:" + OS user).
	GrantedBy string `gorm:"size:128"`
	Reason    string `gorm:"size:256"`
	CreatedAt time.Time
	ExpiresAt time.Time `gorm:"index"`
	UsedAt    *time.Time
	RevokedAt *time.Time
}

// Active reports whether the bypass may be used at now.
func (b *FaceBypass) Active(now time.Time) bool {
	return b.UsedAt == nil && b.RevokedAt == nil && now.Before(b.ExpiresAt)
}
