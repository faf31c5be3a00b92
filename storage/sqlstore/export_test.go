package sqlstore

import "gorm.io/gorm"

// GormDB exposes the handle to this package's external tests only.
func GormDB(s *Store) *gorm.DB { return s.db }
