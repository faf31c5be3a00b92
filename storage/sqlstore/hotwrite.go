package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/faceidp/faceidp/models"
)

// The refresh grant's transaction (claim the old token, store its successor
// and the new access token) runs once per refresh and, on SQLite, holds the
// single writer while it runs, so it is plain SQL on statements prepared
// once on the writer connection: gorm re-prepares every statement of a
// transaction, and its reflection would lengthen the time the writer is
// held (docs/performance.md).

// The statements of the raw transactions. They are prepared on the writer
// before a transaction begins: on SQLite the writer is one connection,
// which the transaction then holds.
const (
	claimSQL       = "UPDATE refresh_tokens SET rotated_at = ? WHERE token_hash = ? AND rotated_at IS NULL AND revoked_at IS NULL"
	claimFamilySQL = claimSQL + " AND family_id = ?"
	familyOfSQL    = "SELECT family_id FROM refresh_tokens WHERE token_hash = ?"
	// revokeFamilySQL and deleteFamilyTokensSQL revoke a refresh token
	// family: every unrevoked member, and their access tokens.
	revokeFamilySQL       = "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL"
	deleteFamilyTokensSQL = "DELETE FROM access_tokens WHERE refresh_token_id IN (SELECT id FROM refresh_tokens WHERE family_id = ?)"
)

// writeStatements are the statements of the refresh grant's transaction,
// built once.
var writeStatements = func() []string {
	rt, _ := insertSQL("refresh_tokens", refreshTokenColumns(&models.RefreshToken{}))
	at, _ := insertSQL("access_tokens", accessTokenColumns(&models.AccessToken{}))
	return []string{claimSQL, claimFamilySQL, familyOfSQL, revokeFamilySQL, deleteFamilyTokensSQL, rt, at}
}()

// rawTransaction runs fn in a transaction on the writer, retried like
// transaction; fn may use writeStatements.
func (s *Store) rawTransaction(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.rawTransactionOf(ctx, writeStatements, fn)
}

// rawTransactionOf runs fn in a transaction on the writer, retried like
// transaction; fn may use the statements of queries (txStmt).
func (s *Store) rawTransactionOf(ctx context.Context, queries []string, fn func(tx *sql.Tx) error) error {
	sqlDB, err := s.wdb.DB()
	if err != nil {
		return err
	}
	for _, q := range queries {
		if _, err := s.hotW.prepared(ctx, s.wdb, s.dialect, q); err != nil {
			return err
		}
	}
	const attempts = 3
	for range attempts {
		err = func() error {
			tx, err := sqlDB.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			if err := fn(tx); err != nil {
				_ = tx.Rollback()
				return err
			}
			return tx.Commit()
		}()
		if !retryable(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// txStmt is query (prepared by rawTransactionOf) for tx.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	st, ok := s.hotW.get(query)
	if !ok {
		return nil, fmt.Errorf("statement %q was not prepared before the transaction", query)
	}
	return tx.StmtContext(ctx, st), nil
}

// txExec runs query in tx and returns the rows affected.
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (int64, error) {
	st, err := s.txStmt(ctx, tx, query)
	if err != nil {
		return 0, err
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// insertSQL is "INSERT INTO table (cols) VALUES (?, ...)" and its values.
func insertSQL(table string, cols []hotColumn) (string, []any) {
	var names, marks strings.Builder
	args := make([]any, 0, len(cols))
	for i, c := range cols {
		if i > 0 {
			names.WriteString(", ")
			marks.WriteString(", ")
		}
		names.WriteString(c.name)
		marks.WriteString("?")
		args = append(args, c.dest.(valuer).value())
	}
	return "INSERT INTO " + table + " (" + names.String() + ") VALUES (" + marks.String() + ")", args
}

func (s *Store) txInsert(ctx context.Context, tx *sql.Tx, table string, cols []hotColumn) error {
	q, args := insertSQL(table, cols)
	_, err := s.txExec(ctx, tx, q, args...)
	return err
}

// insertTokens stores a refresh token and, unless nil, its access token.
func (s *Store) insertTokens(ctx context.Context, tx *sql.Tx, rt *models.RefreshToken, at *models.AccessToken) error {
	if err := s.txInsert(ctx, tx, "refresh_tokens", refreshTokenColumns(rt)); err != nil {
		return err
	}
	if at != nil {
		return s.txInsert(ctx, tx, "access_tokens", accessTokenColumns(at))
	}
	return nil
}

// familyOf returns the family of the refresh token with hash; sql.ErrNoRows
// if there is none.
func (s *Store) familyOf(ctx context.Context, tx *sql.Tx, hash string) (string, error) {
	st, err := s.txStmt(ctx, tx, familyOfSQL)
	if err != nil {
		return "", err
	}
	var fam string
	err = st.QueryRowContext(ctx, hash).Scan(&fam)
	return fam, err
}

// revokeFamilyTx revokes a family in a raw transaction.
func (s *Store) revokeFamilyTx(ctx context.Context, tx *sql.Tx, familyID string, now time.Time) error {
	if _, err := s.txExec(ctx, tx, revokeFamilySQL, now, familyID); err != nil {
		return err
	}
	_, err := s.txExec(ctx, tx, deleteFamilyTokensSQL, familyID)
	return err
}

// revokeFamily revokes a family in a gorm transaction.
func revokeFamily(tx *gorm.DB, familyID string, now time.Time) error {
	if err := tx.Exec(revokeFamilySQL, now, familyID).Error; err != nil {
		return err
	}
	return tx.Exec(deleteFamilyTokensSQL, familyID).Error
}
