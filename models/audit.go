package models

import "time"

// AuditEvent records an authentication decision or an administrative act.
// It never holds secrets, images or face descriptors.
type AuditEvent struct {
	ID       uint64    `gorm:"primaryKey;autoIncrement"`
	Time     time.Time `gorm:"index"`
	Type     string    `gorm:"index;size:64;not null"` // e.g. login.password, login.face, token.refresh_reuse
	Outcome  string    `gorm:"size:16"`                // success | failure | info
	UserID   string    `gorm:"index;size:64"`
	ClientID string    `gorm:"size:128"`
	Reason   string    `gorm:"size:256"`
	RemoteIP string    `gorm:"size:64"`
	// Details holds decision scores and other non-secret context.
	Details map[string]any `gorm:"serializer:json"`
}
