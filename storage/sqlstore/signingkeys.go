package sqlstore

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/faceidp/faceidp/models"
)

func (s *Store) CreateSigningKey(ctx context.Context, k *models.SigningKey) error {
	normTimes(k)
	return wrap("create signing key", s.db.WithContext(ctx).Create(k).Error)
}

// ListSigningKeys returns every stored key, newest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]models.SigningKey, error) {
	var ks []models.SigningKey
	if err := s.db.WithContext(ctx).Order("created_at DESC, id DESC").Find(&ks).Error; err != nil {
		return nil, wrap("list signing keys", err)
	}
	return normAll(ks), nil
}

// RotateSigningKey inserts next and retires every other unretired key at now
// with RemoveAfter removeAfter, in one transaction.
func (s *Store) RotateSigningKey(ctx context.Context, next *models.SigningKey, now, removeAfter time.Time) error {
	normTimes(next)
	now, removeAfter = norm(now), norm(removeAfter)
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(next).Error; err != nil {
			return err
		}
		return tx.Model(&models.SigningKey{}).
			Where("id <> ? AND retired_at IS NULL", next.ID).
			Updates(map[string]any{"retired_at": now, "remove_after": removeAfter}).Error
	})
	return wrap("rotate signing key", err)
}

// ResealSigningKey replaces the key's sealed private key.
func (s *Store) ResealSigningKey(ctx context.Context, id string, sealed []byte) error {
	res := s.db.WithContext(ctx).Model(&models.SigningKey{}).Where("id = ?", id).
		Update("sealed_private_key", sealed)
	if res.Error == nil && res.RowsAffected == 0 {
		res.Error = gorm.ErrRecordNotFound
	}
	return wrap("reseal signing key "+id, res.Error)
}
