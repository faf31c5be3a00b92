package sqlstore

import (
	"time"

	"gorm.io/gorm"
)

// v4FactorThrottle is the factor_throttles table of migration 0004 (frozen).
type v4FactorThrottle struct {
	Subject       string `gorm:"primaryKey;size:200"`
	Factor        string `gorm:"primaryKey;size:32"`
	UserID        string `gorm:"index;size:64"`
	Failures      int    `gorm:"not null;default:0"`
	LastFailureAt *time.Time
	Pending       int `gorm:"not null;default:0"`
	PendingUntil  *time.Time
	ExpiresAt     *time.Time `gorm:"index"`
	UpdatedAt     time.Time
}

func (v4FactorThrottle) TableName() string { return "factor_throttles" }

// migrate0004 replaces the account-wide lockout (users.failed_logins and
// users.locked_until: one counter for password and face failures, which a
// correct password reset and anyone could trigger) with per-factor
// counters. The old counts mixed factors and cannot be split, and an old
// lockout is exactly what a stranger could have caused, so they are not
// carried over: every counter starts at zero. The columns are dropped;
// instances of the previous release write them, so upgrade every instance
// together.
func migrate0004(tx *gorm.DB) error {
	if err := tx.Migrator().CreateTable(&v4FactorThrottle{}); err != nil {
		return err
	}
	// Plain DDL rather than gorm's Migrator.DropColumn, which on SQLite
	// rebuilds the table and loses the lower() unique indexes of 0001.
	for _, col := range []string{"failed_logins", "locked_until"} {
		if err := tx.Exec("ALTER TABLE users DROP COLUMN " + col).Error; err != nil {
			return err
		}
	}
	return nil
}
