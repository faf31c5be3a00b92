package idp

import (
	"path/filepath"
	"testing"

	"github.com/faceidp/faceidp/internal/pgtest"
)

// backends runs fn against a fresh SQLite file and a fresh PostgreSQL schema.
func backends(t *testing.T, fn func(t *testing.T, dbURL string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "sqlite://"+filepath.Join(t.TempDir(), "faceidp.db")) })
	t.Run("postgres", func(t *testing.T) { fn(t, pgtest.SchemaURL(t)) })
}
