package idp

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"
)

const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// newPostgresURL creates a uniquely named schema on the test PostgreSQL
// server (FACEIDP_TEST_POSTGRES_URL, default 127.0.0.1:5432/test), drops it
// when the test ends, and returns a URL whose search_path points at it, as
// the storage/sqlstore tests do. An unreachable server fails the test:
// PostgreSQL is production's database, so these tests are never skipped
// silently (FACEIDP_TEST_POSTGRES_URL=skip skips them on request).
func newPostgresURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("FACEIDP_TEST_POSTGRES_URL")
	if base == "skip" {
		t.Skip("FACEIDP_TEST_POSTGRES_URL=skip: PostgreSQL tests skipped on request")
	}
	if base == "" {
		base = defaultPostgresURL
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse FACEIDP_TEST_POSTGRES_URL: %v", err)
	}
	admin, err := gorm.Open(postgres.Open(base), &gorm.Config{Logger: gormlogger.Discard})
	if err == nil {
		var sqlDB interface{ Close() error }
		if sqlDB, err = admin.DB(); err == nil {
			t.Cleanup(func() { _ = sqlDB.Close() })
		}
	}
	if err != nil {
		t.Fatalf("PostgreSQL is not reachable at %s: %v\n"+
			"Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"+
			"or point FACEIDP_TEST_POSTGRES_URL at a server.", u.Redacted(), err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "faceidp_idp_test_" + hex.EncodeToString(b)
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if err := admin.Exec("DROP SCHEMA " + schema + " CASCADE").Error; err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// backends runs fn against a fresh SQLite file and a fresh PostgreSQL schema.
func backends(t *testing.T, fn func(t *testing.T, dbURL string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "sqlite://"+filepath.Join(t.TempDir(), "faceidp.db")) })
	t.Run("postgres", func(t *testing.T) { fn(t, newPostgresURL(t)) })
}
