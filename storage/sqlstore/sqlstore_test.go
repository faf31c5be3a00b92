package sqlstore_test

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faceidp/faceidp/internal/pgtest"
	"github.com/faceidp/faceidp/storage"
	"github.com/faceidp/faceidp/storage/sqlstore"
	"github.com/faceidp/faceidp/storage/storagetest"
)

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

func newPostgres(t testing.TB) *sqlstore.Store {
	t.Helper()
	return openMigrated(t, pgtest.SchemaURL(t))
}

func TestConformanceSQLite(t *testing.T) {
	storagetest.RunConformance(t, func(t *testing.T) storage.Storage { return newSQLite(t) })
}

func TestConformancePostgres(t *testing.T) {
	pgtest.SchemaURL(t) // fail once, with how to start PostgreSQL, if it is down
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
