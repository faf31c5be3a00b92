package models

import "time"

// FactorThrottle is one failure counter of the per-factor throttle
// (factors/throttle): the consecutive failed attempts at one factor
// ("pwd", "face", "hwk", "recovery") counted under one subject (a user
// account, a known device, an unknown login name or a source address).
// The throttle package owns its meaning; storage only keeps it atomically.
type FactorThrottle struct {
	// Subject names what is counted, e.g. "user:<id>", "device:<hash>",
	// "login:<hmac>" or "ip:<address>".
	Subject string `gorm:"primaryKey;size:200"`
	// Factor is the amr value of the factor, e.g. "pwd" or "face".
	Factor string `gorm:"primaryKey;size:32"`
	// UserID is the account the counter belongs to ("" for a source
	// address or a login name that names no account), so that an
	// administrator can clear every counter of a user.
	UserID string `gorm:"index;size:64"`
	// Failures is the number of consecutive failed attempts.
	Failures int
	// LastFailureAt is when the last failure was counted.
	LastFailureAt *time.Time
	// Pending counts attempts being checked right now (reserved, neither
	// failed nor passed yet); PendingUntil is when such reservations lapse
	// if their process died before settling them.
	Pending      int
	PendingUntil *time.Time
	// ExpiresAt is when the record may be deleted; nil keeps it.
	ExpiresAt *time.Time `gorm:"index"`
	UpdatedAt time.Time
}
