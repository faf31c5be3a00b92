package models

import "time"

// User is an account that can sign in. ID is the stable, opaque OIDC `sub`.
type User struct {
	ID            string `gorm:"primaryKey;size:64"`
	Username      string `gorm:"uniqueIndex;size:128;not null"`
	Email         string `gorm:"uniqueIndex;size:320;not null"`
	EmailVerified bool
	Name          string `gorm:"size:256"`
	// PasswordHash is a PHC-formatted argon2id hash; empty means no password set.
	PasswordHash string `gorm:"size:256"`
	Disabled     bool
	// RequireFace forces the face factor for this user regardless of client policy.
	RequireFace bool
	// Admin grants the admin role: the console at /admin and its
	// operations (faceidp user set-admin).
	Admin     bool
	CreatedAt time.Time
	UpdatedAt time.Time
}
