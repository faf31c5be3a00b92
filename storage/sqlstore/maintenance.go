package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/faceidp/faceidp/models"
)

// DeleteExpired removes, in one transaction, auth requests, access tokens,
// refresh tokens, sessions, face and WebAuthn challenges, face bypasses
// (used, revoked or not) and throttle counters whose ExpiresAt is at or
// before now, and signing keys whose RemoveAfter is. Revoked or rotated
// refresh tokens stay until they expire, so reuse of an old family member
// is still detected.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	now = norm(now)
	var total int64
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		for _, q := range []struct {
			model any
			where string
		}{
			{&models.AuthRequest{}, "expires_at <= ?"},
			{&models.AccessToken{}, "expires_at <= ?"},
			{&models.RefreshToken{}, "expires_at <= ?"},
			{&models.Session{}, "expires_at <= ?"},
			{&models.FaceChallenge{}, "expires_at <= ?"},
			{&models.WebAuthnSession{}, "expires_at <= ?"},
			{&models.FaceBypass{}, "expires_at <= ?"},
			{&models.FactorThrottle{}, "expires_at IS NOT NULL AND expires_at <= ?"},
			{&models.SigningKey{}, "remove_after IS NOT NULL AND remove_after <= ?"},
		} {
			res := tx.Where(q.where, now).Delete(q.model)
			if res.Error != nil {
				return fmt.Errorf("%T: %w", q.model, res.Error)
			}
			total += res.RowsAffected
		}
		return nil
	})
	if err != nil {
		return 0, wrap("delete expired", err)
	}
	return total, nil
}

// Health pings the database.
func (s *Store) Health(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return wrap("health", err)
	}
	return wrap("health: ping "+string(s.dialect), sqlDB.PingContext(ctx))
}

// Close releases the connection pool.
func (s *Store) Close() error {
	if s.stopCheckpoints != nil {
		s.stopCheckpoints()
	}
	s.closeHot()
	err := s.closeDB(s.db)
	if s.wdb != s.db {
		err = errors.Join(err, s.closeDB(s.wdb))
	}
	return wrap("close", err)
}

// Dialect reports which SQL backend the store uses.
func (s *Store) Dialect() Dialect { return s.dialect }
