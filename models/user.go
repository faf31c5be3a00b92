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
	// FailedLogins counts consecutive failed first- or second-factor attempts.
	FailedLogins int
	// LockedUntil, when in the future, refuses sign-in (lockout).
	LockedUntil *time.Time
	// RequireFace forces the face factor for this user regardless of client policy.
	RequireFace bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Locked reports whether the account is locked out at now.
func (u *User) Locked(now time.Time) bool {
	return u.LockedUntil != nil && now.Before(*u.LockedUntil)
}
