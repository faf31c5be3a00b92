// Package pgtest gives tests a fresh PostgreSQL schema of their own on the
// test server, so runs never see each other's rows and leave nothing behind.
package pgtest

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"
)

// DefaultURL is the test server used when FACEIDP_TEST_POSTGRES_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// SchemaURL creates a uniquely named schema on the test PostgreSQL server
// (FACEIDP_TEST_POSTGRES_URL, default DefaultURL), drops it when the test
// ends, and returns a URL whose search_path points at it. An unreachable
// server fails the test with how to start it: PostgreSQL is production's
// database, so these tests are never skipped silently
// (FACEIDP_TEST_POSTGRES_URL=skip skips them on request).
func SchemaURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("FACEIDP_TEST_POSTGRES_URL")
	if base == "skip" {
		t.Skip("FACEIDP_TEST_POSTGRES_URL=skip: PostgreSQL tests skipped on request")
	}
	if base == "" {
		base = DefaultURL
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal("parse FACEIDP_TEST_POSTGRES_URL: not a URL")
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
			"or point FACEIDP_TEST_POSTGRES_URL at a server (FACEIDP_TEST_POSTGRES_URL=skip skips these tests).",
			u.Redacted(), err)
	}
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	schema := "faceidp_test_" + hex.EncodeToString(b)
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
