package sqlstore

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/faceidp/faceidp/models"
)

func (s *Store) CreateSession(ctx context.Context, sess *models.Session) error {
	normTimes(sess)
	return wrap("create session", s.write(ctx).Create(sess).Error)
}

func (s *Store) GetSession(ctx context.Context, id string) (*models.Session, error) {
	return takeOne[models.Session](ctx, s.db, "get session", "id", id)
}

// UpdateSession overwrites every column except ID and CreatedAt.
func (s *Store) UpdateSession(ctx context.Context, sess *models.Session) error {
	normTimes(sess)
	return wrap("update session", updateRow(s.write(ctx), sess, sess.ID))
}

// RevokeSession marks the session revoked at now. Revoking an already
// revoked session keeps the first RevokedAt and is not an error; an unknown
// session is ErrNotFound.
func (s *Store) RevokeSession(ctx context.Context, id string, now time.Time) error {
	now = norm(now)
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&models.Session{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", now)
		if res.Error != nil || res.RowsAffected > 0 {
			return res.Error
		}
		var n int64
		if err := tx.Model(&models.Session{}).Where("id = ?", id).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return gorm.ErrRecordNotFound
		}
		return nil
	})
	return wrap("revoke session", err)
}

// RevokeUserSessions revokes the user's unrevoked sessions and returns how
// many it revoked.
func (s *Store) RevokeUserSessions(ctx context.Context, userID string, now time.Time) (int64, error) {
	res := s.write(ctx).Model(&models.Session{}).
		Where("user_id = ? AND revoked_at IS NULL", userID).Update("revoked_at", norm(now))
	if res.Error != nil {
		return 0, wrap("revoke user sessions", res.Error)
	}
	return res.RowsAffected, nil
}

// ListUserSessions returns the user's sessions, newest first, revoked and
// expired ones included (until DeleteExpired removes them).
func (s *Store) ListUserSessions(ctx context.Context, userID string) ([]models.Session, error) {
	var ss []models.Session
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).
		Order("created_at DESC, id").Find(&ss).Error; err != nil {
		return nil, wrap("list user sessions", err)
	}
	return normAll(ss), nil
}
