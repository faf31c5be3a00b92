package sqlstore

import "gorm.io/gorm"

// v3AuthRequestHint holds the auth_requests column added by migration 0003
// (frozen): the subject of a verified id_token_hint.
type v3AuthRequestHint struct {
	HintSubject string `gorm:"size:64"`
}

func (v3AuthRequestHint) TableName() string { return "auth_requests" }

func migrate0003(tx *gorm.DB) error {
	return tx.Migrator().AddColumn(&v3AuthRequestHint{}, "HintSubject")
}
