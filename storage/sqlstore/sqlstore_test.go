package sqlstore_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/faceidp/faceidp/internal/pgtest"
	"github.com/faceidp/faceidp/internal/teststore"
	"github.com/faceidp/faceidp/storage"
	"github.com/faceidp/faceidp/storage/storagetest"
)

func TestConformanceSQLite(t *testing.T) {
	storagetest.RunConformance(t, func(t *testing.T) storage.Storage { return teststore.SQLite(t) })
}

func TestConformancePostgres(t *testing.T) {
	pgtest.SchemaURL(t) // fail once, with how to start PostgreSQL, if it is down
	storagetest.RunConformance(t, func(t *testing.T) storage.Storage { return teststore.Open(t, pgtest.SchemaURL(t)) })
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
