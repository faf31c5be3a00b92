// Package models holds the domain types shared by storage and the
// authentication logic. It has no dependencies on the rest of faceidp.
//
// Types carry gorm tags so that the storage package can persist them
// directly; list-valued fields are serialised as JSON so that the same
// schema works on SQLite and PostgreSQL.
package models
