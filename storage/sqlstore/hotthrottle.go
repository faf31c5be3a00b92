package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/faceidp/faceidp/models"
)

// A password sign-in reserves an attempt in two throttle counters and
// settles both: three read-modify-write transactions and a delete, the
// most statements of any sign-in step. They are plain SQL on statements
// prepared once on the writer, as the refresh rotation is (hotwrite.go).

func throttleColumns(t *models.FactorThrottle) []hotColumn {
	return []hotColumn{
		{"subject", str{&t.Subject}}, {"factor", str{&t.Factor}}, {"user_id", str{&t.UserID}},
		{"failures", integer{&t.Failures}}, {"last_failure_at", stampPtr{&t.LastFailureAt}},
		{"pending", integer{&t.Pending}}, {"pending_until", stampPtr{&t.PendingUntil}},
		{"expires_at", stampPtr{&t.ExpiresAt}}, {"updated_at", stamp{&t.UpdatedAt}},
	}
}

// The throttle statements. The seed inserts the zero counter gorm's
// Create wrote (updated_at set), so there is always a row to lock.
var (
	throttleKey           = " WHERE subject = ? AND factor = ?"
	throttleSeedSQL       = "INSERT INTO factor_throttles (subject, factor, user_id, failures, pending, updated_at) VALUES (?, ?, '', 0, 0, ?) ON CONFLICT DO NOTHING"
	throttleSelectSQL     = "SELECT " + columnList("t", throttleColumns(&models.FactorThrottle{})) + " FROM factor_throttles t" + throttleKey
	throttleSelectLockSQL = throttleSelectSQL + " FOR UPDATE"
	throttleUpdateSQL     = "UPDATE factor_throttles SET user_id = ?, failures = ?, last_failure_at = ?, pending = ?, pending_until = ?, expires_at = ?, updated_at = ?" + throttleKey
	throttleDeleteSQL     = "DELETE FROM factor_throttles" + throttleKey
)

// throttleStatements are the statements of UpdateThrottle's transaction.
func (s *Store) throttleStatements() []string {
	sel := throttleSelectSQL
	if s.dialect == DialectPostgres {
		sel = throttleSelectLockSQL
	}
	return []string{throttleSeedSQL, sel, throttleUpdateSQL}
}

// UpdateThrottle is a read-modify-write under an exclusive hold of the row.
// The row is first inserted if missing (INSERT ... ON CONFLICT DO NOTHING),
// so there is always a row to lock: on PostgreSQL SELECT ... FOR UPDATE
// then makes concurrent updaters of the same counter queue; SQLite
// transactions take the database write lock at BEGIN (_txlock=immediate),
// which serialises them anyway.
func (s *Store) UpdateThrottle(ctx context.Context, subject, factor string, fn func(t *models.FactorThrottle) error) (*models.FactorThrottle, error) {
	var out models.FactorThrottle
	stmts := s.throttleStatements()
	err := s.rawTransactionOf(ctx, stmts, func(tx *sql.Tx) error {
		sel, err := s.txStmt(ctx, tx, stmts[1])
		if err != nil {
			return err
		}
		var t models.FactorThrottle
		// On PostgreSQL a concurrent DeleteThrottle (a reset) may remove
		// the row between the insert-if-missing, which does not lock an
		// existing row, and the locking read: then insert it afresh.
		for try := 0; ; try++ {
			if _, err := s.txExec(ctx, tx, stmts[0], subject, factor, norm(time.Now())); err != nil {
				return err
			}
			err = sel.QueryRowContext(ctx, subject, factor).Scan(dests(throttleColumns(&t))...)
			if !errors.Is(err, sql.ErrNoRows) || try == 2 {
				break
			}
		}
		if err != nil {
			return err
		}
		normTimes(&t)
		if err := fn(&t); err != nil {
			return &errFnAborted{err}
		}
		t.Subject, t.Factor = subject, factor
		t.UpdatedAt = time.Now() // as gorm's autoUpdateTime wrote it
		normTimes(&t)
		args := setValues(throttleColumns(&t), "subject", "factor")
		if _, err := s.txExec(ctx, tx, stmts[2], append(args, subject, factor)...); err != nil {
			return err
		}
		out = t
		return nil
	})
	var aborted *errFnAborted
	if errors.As(err, &aborted) {
		return nil, aborted.err
	}
	if err != nil {
		return nil, wrap("update throttle "+factor, err)
	}
	return &out, nil
}

// DeleteThrottle removes one counter.
func (s *Store) DeleteThrottle(ctx context.Context, subject, factor string) error {
	_, err := s.hotExec(ctx, "delete throttle "+factor, throttleDeleteSQL, subject, factor)
	return err
}

// integer is an int column.
type integer struct{ p *int }

func (d integer) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*d.p = 0
	case int64:
		*d.p = int(v)
	default:
		return fmt.Errorf("scan %T into an integer", v)
	}
	return nil
}

func (d integer) value() any { return int64(*d.p) }
