package sqlstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"

	"github.com/faceidp/faceidp/storage"
	"github.com/faceidp/faceidp/storage/sqlstore"
	"github.com/faceidp/faceidp/storage/storagetest"
)

const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// newSQLite opens and migrates a fresh SQLite database in t.TempDir().
func newSQLite(t testing.TB) *sqlstore.Store {
	t.Helper()
	return openMigrated(t, "sqlite://"+filepath.Join(t.TempDir(), "faceidp.db"))
}

func openMigrated(t testing.TB, dbURL string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

// postgresBase returns the server URL for PostgreSQL tests. An unreachable
// server fails the test: PostgreSQL is production's database, so its tests
// are never skipped silently.
func postgresBase(t testing.TB) string {
	t.Helper()
	base := os.Getenv("FACEIDP_TEST_POSTGRES_URL")
	if base == "skip" {
		t.Skip("FACEIDP_TEST_POSTGRES_URL=skip: PostgreSQL tests skipped on request")
	}
	if base == "" {
		base = defaultPostgresURL
	}
	return base
}

// newPostgresURL creates a uniquely named schema, drops it when the test
// ends, and returns a URL whose search_path points at it.
func newPostgresURL(t testing.TB) string {
	t.Helper()
	base := postgresBase(t)
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
			redact(base), err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "faceidp_test_" + hex.EncodeToString(b)
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if err := admin.Exec("DROP SCHEMA " + schema + " CASCADE").Error; err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse FACEIDP_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}

func newPostgres(t testing.TB) *sqlstore.Store {
	t.Helper()
	return openMigrated(t, newPostgresURL(t))
}

func TestConformanceSQLite(t *testing.T) {
	storagetest.RunConformance(t, func(t *testing.T) storage.Storage { return newSQLite(t) })
}

func TestConformancePostgres(t *testing.T) {
	newPostgresURL(t) // fail once, with how to start PostgreSQL, if it is down
	storagetest.RunConformance(t, func(t *testing.T) storage.Storage { return newPostgres(t) })
}

// keyValueDSN rewrites a postgres:// URL as a libpq key=value DSN.
func keyValueDSN(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	parts := []string{"host=" + u.Hostname(), "port=" + u.Port(), "user=" + u.User.Username(), "dbname=" + strings.TrimPrefix(u.Path, "/")}
	if p, ok := u.User.Password(); ok {
		parts = append(parts, "password="+p)
	}
	for k, v := range u.Query() {
		parts = append(parts, k+"="+v[0])
	}
	return strings.Join(parts, " ")
}
