// Package sqlstore implements storage.Storage with gorm on SQLite (the
// embedded default) and PostgreSQL.
//
// Open picks the dialect from the database URL:
//
//	sqlite:///var/lib/faceidp/faceidp.db   absolute path
//	sqlite://faceidp.db                    path relative to the working directory
//	file:faceidp.db                        same, SQLite URI style
//	postgres://user@host:5432/db?sslmode=disable
//	host=127.0.0.1 user=postgres dbname=faceidp   (libpq key=value DSN)
//
// Every operation the interface calls atomic is atomic in the database
// (conditional UPDATEs and transactions), never in Go memory, so several
// faceidp processes may share one database.
//
// Times are stored in UTC truncated to microseconds (PostgreSQL's precision)
// on every backend; the structs passed to Create/Update methods are
// normalised in place so the caller sees exactly what was stored.
//
// # Schema changes
//
// The schema is versioned with gormigrate (table schema_migrations). The
// first migration creates tables from frozen copies of the models
// (migrate_0001.go), so adding a field to a model does NOT change an existing
// database: append a new migration to migrations() in migrate.go (e.g.
// tx.Migrator().AddColumn(&models.User{}, "NewField")). TestSchemaMatchesModels
// fails until the migration exists.
//
// # Adding a backend
//
// A new backend (another SQL dialect or a non-SQL store) implements
// storage.Storage, adds `var _ storage.Storage = (*Store)(nil)`, and runs
// storagetest.RunConformance against a fresh, empty store per test from its
// own _test.go, as sqlstore_test.go does for SQLite and PostgreSQL. Another
// gorm dialect only needs a case in Open (dialector + connection settings),
// an advisory-lock equivalent in lockMigrations, and the conformance run.
package sqlstore
