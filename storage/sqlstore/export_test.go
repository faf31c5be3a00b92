package sqlstore

import "gorm.io/gorm"

// GormDB exposes the handle to this package's external tests only.
func GormDB(s *Store) *gorm.DB { return s.db }

// MigrationIDs lists the migration IDs in order.
func MigrationIDs() []string {
	var ids []string
	for _, m := range migrations() {
		ids = append(ids, m.ID)
	}
	return ids
}
