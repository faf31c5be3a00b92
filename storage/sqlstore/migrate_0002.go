package sqlstore

import (
	"time"

	"gorm.io/gorm"
)

// v2AuthRequestCode holds the auth_requests columns added by migration
// 0002 (frozen): the used-code tombstone.
type v2AuthRequestCode struct {
	CodeUsedAt          *time.Time
	CodeAccessTokenID   string `gorm:"size:64"`
	CodeRefreshFamilyID string `gorm:"size:64"`
}

func (v2AuthRequestCode) TableName() string { return "auth_requests" }

func migrate0002(tx *gorm.DB) error {
	for _, col := range []string{"CodeUsedAt", "CodeAccessTokenID", "CodeRefreshFamilyID"} {
		if err := tx.Migrator().AddColumn(&v2AuthRequestCode{}, col); err != nil {
			return err
		}
	}
	return nil
}
