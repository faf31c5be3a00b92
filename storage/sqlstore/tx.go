package sqlstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// transaction runs fn in a database transaction. PostgreSQL may abort a
// transaction that lost a deadlock or serialization race (two replays of a
// refresh token revoking the same family at once); those are retried a few
// times, so callers see the domain outcome rather than a transient error.
// fn must therefore be safe to run again from the start.
func (s *Store) transaction(ctx context.Context, fn func(tx *gorm.DB) error) error {
	const attempts = 3
	var err error
	for range attempts {
		err = s.write(ctx).Transaction(fn)
		if !retryable(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// write is the handle for statements that write. On SQLite it is one
// connection of its own: SQLite has a single writer, and writers queued in
// Go wait for the connection instead of sleeping in SQLite's busy handler
// (which retries on a timer, not when the lock is released), and statements
// prepared on it stay prepared. On PostgreSQL it is the shared pool.
func (s *Store) write(ctx context.Context) *gorm.DB {
	return s.wdb.WithContext(ctx)
}

func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}
