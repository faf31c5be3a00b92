package models

import "time"

// Session is a server-side browser login session. The browser's cookie holds
// only its ID; logout and admins revoke it here.
type Session struct {
	ID        string `gorm:"primaryKey;size:64"`
	UserID    string `gorm:"index;size:64;not null"`
	AuthTime  time.Time
	AMR       []string `gorm:"serializer:json"`
	UserAgent string   `gorm:"size:512"`
	RemoteIP  string   `gorm:"size:64"`
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time `gorm:"index"`
	RevokedAt *time.Time
}

// Active reports whether the session may be used at now.
func (s *Session) Active(now time.Time) bool {
	return s.RevokedAt == nil && now.Before(s.ExpiresAt)
}

// Consent records the scopes a user granted to a client.
type Consent struct {
	UserID    string   `gorm:"primaryKey;size:64"`
	ClientID  string   `gorm:"primaryKey;size:128"`
	Scopes    []string `gorm:"serializer:json"`
	CreatedAt time.Time
	UpdatedAt time.Time
}
