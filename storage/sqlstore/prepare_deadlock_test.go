package sqlstore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/faceidp/faceidp/internal/pgtest"
)

// A statement that a caller outside any transaction is about to prepare
// on a pool whose connections are all held by transactions must not stall
// those transactions when they run the same statement (gorm's statement
// cache made them wait for that caller, which waited for their
// connections: go-gorm/gorm#7465). On SQLite the writer is one
// connection, so one open transaction is enough; on PostgreSQL the pool
// is capped at one connection to reach the same state.
func TestStatementOutsideTxDoesNotStallTx(t *testing.T) {
	for name, dbURL := range map[string]string{
		"sqlite":   "sqlite://" + filepath.Join(t.TempDir(), "faceidp.db"),
		"postgres": pgtest.SchemaURL(t),
	} {
		t.Run(name, func(t *testing.T) {
			s, err := Open(t.Context(), dbURL, WithMaxOpenConns(1))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			const q = "UPDATE face_challenges SET used_at = ? WHERE id = ?"
			// A stalled statement gives up when ctx ends; the test then
			// fails instead of hanging.
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			outside := make(chan error, 1)
			err = s.transaction(ctx, func(tx *gorm.DB) error {
				go func() { outside <- s.write(ctx).Exec(q, time.Now(), "x").Error }()
				time.Sleep(200 * time.Millisecond) // the caller outside now waits for the connection
				return tx.Exec(q, time.Now(), "y").Error
			})
			if err != nil {
				t.Fatalf("transaction stalled behind a statement waiting for its connection: %v", err)
			}
			if err := <-outside; err != nil {
				t.Fatalf("statement outside the transaction: %v", err)
			}
		})
	}
}
