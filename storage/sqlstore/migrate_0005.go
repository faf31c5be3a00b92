package sqlstore

import "gorm.io/gorm"

// v5AuthRequestHint holds the auth_requests column added by migration 0005
// (frozen): the subject of a verified id_token_hint.
type v5AuthRequestHint struct {
	HintSubject string `gorm:"size:64"`
}

func (v5AuthRequestHint) TableName() string { return "auth_requests" }

func migrate0005(tx *gorm.DB) error {
	return tx.Migrator().AddColumn(&v5AuthRequestHint{}, "HintSubject")
}
