// Package teststore opens the real databases tests run against: migrated,
// and closed when the test ends.
package teststore

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/faceidp/faceidp/storage/sqlstore"
)

// Open opens and migrates the database at dbURL.
func Open(t testing.TB, dbURL string, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, dbURL, opts...)
	if err != nil {
		t.Fatalf("open %s: %v", dbURL, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

// SQLite opens and migrates a fresh SQLite database in t.TempDir().
func SQLite(t testing.TB, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	return Open(t, SQLiteURL(t), opts...)
}

// SQLiteURL names a fresh SQLite database file in t.TempDir().
func SQLiteURL(t testing.TB) string {
	return "sqlite://" + filepath.Join(t.TempDir(), "faceidp.db")
}
