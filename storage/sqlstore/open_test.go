package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faceidp/faceidp/internal/pgtest"
	"github.com/faceidp/faceidp/internal/teststore"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
	"github.com/faceidp/faceidp/storage/sqlstore"
)

func TestOpenRejectsBadURLs(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		url  string
		want string
	}{
		{"", "empty database URL"},
		{"mysql://root@localhost/faceidp", `unknown scheme "mysql"`},
		{"/var/lib/faceidp.db", "unknown scheme"},
		{"sqlite://", "no file path"},
		{"sqlite://" + filepath.Join(t.TempDir(), "missing-dir", "x.db"), "missing-dir"},
		{"postgres://postgres:hunter2@127.0.0.1:1/test?sslmode=disable&connect_timeout=2", "127.0.0.1:1"},
	} {
		s, err := sqlstore.Open(ctx, tc.url)
		if err == nil {
			_ = s.Close()
			t.Errorf("Open(%q) succeeded", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q) = %q, want it to mention %q", tc.url, err, tc.want)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open error leaks the password: %q", err)
		}
	}
}

func TestOpenSQLiteURLForms(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, u := range []string{
		"sqlite://" + filepath.Join(dir, "abs.db"),
		"sqlite://relative.db",
		"file:" + filepath.Join(dir, "file.db"),
		"file:plain.db?_busy_timeout=2000",
		"sqlite://:memory:",
	} {
		s := teststore.Open(t, u)
		must(t, u, s.CreateUser(t.Context(), &models.User{ID: "u1", Username: "a", Email: "a@example.com"}))
		if _, err := s.GetUserByLogin(t.Context(), "A"); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, f := range []string{"abs.db", "relative.db", "file.db", "plain.db"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("database file %s not created where the URL says: %v", f, err)
		}
	}
}

func TestSQLitePragmas(t *testing.T) {
	s := teststore.SQLite(t)
	db := sqlstore.GormDB(s)
	for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000"} {
		var got string
		must(t, pragma, db.Raw("PRAGMA "+pragma).Scan(&got).Error)
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}

func TestOpenPostgresKeyValueDSN(t *testing.T) {
	u := pgtest.SchemaURL(t)
	// Same server and schema as u, written the libpq key=value way.
	dsn := keyValueDSN(t, u)
	s := teststore.Open(t, dsn)
	if s.Dialect() != sqlstore.DialectPostgres {
		t.Fatalf("dialect %s", s.Dialect())
	}
	must(t, "health", s.Health(t.Context()))
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// backends runs fn against a fresh database URL of each backend.
func backends(t *testing.T, fn func(t *testing.T, dbURL string)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, "sqlite://"+filepath.Join(t.TempDir(), "faceidp.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, pgtest.SchemaURL(t))
	})
}

// Two instances starting at once both migrate without error and the
// schema is applied once.
func TestMigrateConcurrentInstances(t *testing.T) {
	backends(t, func(t *testing.T, dbURL string) {
		const n = 3
		stores := make([]*sqlstore.Store, n)
		for i := range stores {
			s, err := sqlstore.Open(t.Context(), dbURL)
			must(t, "open", err)
			t.Cleanup(func() { _ = s.Close() })
			stores[i] = s
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i, s := range stores {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = s.Migrate(context.Background()) }()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("instance %d: %v", i, err)
			}
		}
		var ids []string
		must(t, "read schema_migrations", sqlstore.GormDB(stores[0]).Raw("SELECT id FROM schema_migrations ORDER BY id").Scan(&ids).Error)
		if want := sqlstore.MigrationIDs(); !slices.Equal(ids, want) {
			t.Errorf("schema_migrations = %v, want each migration once: %v", ids, want)
		}
	})
}

// TestSchemaMatchesModels fails when a model gains a field or index that
// no migration creates: add a migration (see the package doc).
func TestSchemaMatchesModels(t *testing.T) {
	backends(t, func(t *testing.T, dbURL string) {
		s := teststore.Open(t, dbURL)
		m := sqlstore.GormDB(s).Migrator()
		for _, model := range []any{
			&models.User{}, &models.Client{}, &models.AuthRequest{}, &models.AccessToken{}, &models.RefreshToken{},
			&models.Session{}, &models.Consent{}, &models.SigningKey{}, &models.FaceTemplate{}, &models.FaceChallenge{},
			&models.AuditEvent{}, &models.Passkey{}, &models.WebAuthnSession{}, &models.RecoveryCode{}, &models.FaceBypass{},
		} {
			stmt := sqlstore.GormDB(s).Model(model).Statement
			must(t, "parse", stmt.Parse(model))
			sch := stmt.Schema
			if !m.HasTable(model) {
				t.Errorf("no table %s for %T", sch.Table, model)
				continue
			}
			for _, f := range sch.Fields {
				if f.DBName != "" && !m.HasColumn(model, f.DBName) {
					t.Errorf("%s.%s (%T.%s) has no column: add a migration", sch.Table, f.DBName, model, f.Name)
				}
			}
			for _, idx := range sch.ParseIndexes() {
				if !m.HasIndex(model, idx.Name) {
					t.Errorf("%s: index %s missing: add a migration", sch.Table, idx.Name)
				}
			}
		}
	})
}

// Two faceidp instances sharing one database: rotation and challenge
// consumption stay single-use across connection pools.
func TestAtomicAcrossInstances(t *testing.T) {
	backends(t, func(t *testing.T, dbURL string) {
		a := teststore.Open(t, dbURL)
		b, err := sqlstore.Open(t.Context(), dbURL)
		must(t, "open second instance", err)
		t.Cleanup(func() { _ = b.Close() })
		ctx := t.Context()
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		must(t, "create", a.CreateRefreshToken(ctx, &models.RefreshToken{ID: "r0", TokenHash: "h0", ClientID: "c", UserID: "u", ExpiresAt: now.Add(time.Hour)}, nil))
		must(t, "challenge", a.CreateFaceChallenge(ctx, &models.FaceChallenge{ID: "c0", UserID: "u", ExpiresAt: now.Add(time.Hour)}))

		const n = 16
		var wg sync.WaitGroup
		rotErrs, chErrs := make([]error, n), make([]error, n)
		for i := range n {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("r%d", i+1)
				rotErrs[i] = s.RotateRefreshToken(ctx, "h0", now, &models.RefreshToken{ID: id, TokenHash: "h" + id, ClientID: "c", UserID: "u", ExpiresAt: now.Add(time.Hour)}, nil)
				_, chErrs[i] = s.ConsumeFaceChallenge(ctx, "c0", now)
			}()
		}
		wg.Wait()
		count := func(errs []error, loser error) int {
			wins := 0
			for _, err := range errs {
				if err == nil {
					wins++
				} else if !errors.Is(err, loser) {
					t.Errorf("unexpected error: %v", err)
				}
			}
			return wins
		}
		if w := count(rotErrs, storage.ErrRefreshTokenReused); w != 1 {
			t.Errorf("%d rotations won across two instances, want 1", w)
		}
		if w := count(chErrs, storage.ErrChallengeUsed); w != 1 {
			t.Errorf("challenge consumed %d times across two instances, want 1", w)
		}
	})
}

// gorm errors reach the log without the statement's values: they include
// token hashes and sealed keys.
func TestLoggerOmitsSQLValues(t *testing.T) {
	backends(t, func(t *testing.T, dbURL string) {
		var buf bytes.Buffer
		var mu sync.Mutex
		h := slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug})
		s, err := sqlstore.Open(t.Context(), dbURL, sqlstore.WithLogger(slog.New(h)))
		must(t, "open", err)
		t.Cleanup(func() { _ = s.Close() })
		must(t, "migrate", s.Migrate(t.Context()))

		// Sealed is NOT NULL: this insert fails inside the database.
		err = s.SaveFaceTemplate(t.Context(), &models.FaceTemplate{UserID: "SECRET-USER-VALUE", KeyID: "SECRET-KEY-VALUE"})
		if err == nil {
			t.Fatal("insert violating NOT NULL succeeded")
		}
		mu.Lock()
		out := buf.String()
		mu.Unlock()
		if !strings.Contains(out, "sql error") {
			t.Fatalf("database error not logged; log: %s", out)
		}
		if strings.Contains(out, "SECRET") {
			t.Errorf("log contains statement values: %s", out)
		}
	})
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestHealthAfterClose(t *testing.T) {
	s, err := sqlstore.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "x.db"))
	must(t, "open", err)
	must(t, "health", s.Health(t.Context()))
	must(t, "close", s.Close())
	if err := s.Health(t.Context()); err == nil {
		t.Error("Health succeeded on a closed store")
	}
}
