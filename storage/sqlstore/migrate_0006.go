package sqlstore

import "gorm.io/gorm"

// v6UserAdmin and v6Client hold the columns added by migration 0006
// (frozen): the admin role, and service (client-credentials) clients with
// their allowed scopes and a disabled flag.
type v6UserAdmin struct {
	Admin bool
}

func (v6UserAdmin) TableName() string { return "users" }

type v6Client struct {
	Service  bool
	Scopes   []string `gorm:"serializer:json"`
	Disabled bool
}

func (v6Client) TableName() string { return "clients" }

func migrate0006(tx *gorm.DB) error {
	m := tx.Migrator()
	if err := m.AddColumn(&v6UserAdmin{}, "Admin"); err != nil {
		return err
	}
	for _, f := range []string{"Service", "Scopes", "Disabled"} {
		if err := m.AddColumn(&v6Client{}, f); err != nil {
			return err
		}
	}
	return nil
}
