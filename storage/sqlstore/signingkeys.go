package sqlstore

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/faceidp/faceidp/models"
)

func (s *Store) CreateSigningKey(ctx context.Context, k *models.SigningKey) error {
	normTimes(k)
	return wrap("create signing key", s.write(ctx).Create(k).Error)
}

// ListSigningKeys returns every stored key, newest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]models.SigningKey, error) {
	var ks []models.SigningKey
	if err := s.db.WithContext(ctx).Order("created_at DESC, id DESC").Find(&ks).Error; err != nil {
		return nil, wrap("list signing keys", err)
	}
	return normAll(ks), nil
}

// RotateSigningKeys inserts every key of next and retires every other
// unretired key at now with RemoveAfter removeAfter, in one transaction, so
// a failure (or a crash) leaves the previous keys active and no successor
// half-stored.
func (s *Store) RotateSigningKeys(ctx context.Context, next []*models.SigningKey, now, removeAfter time.Time) error {
	if len(next) == 0 {
		return errors.New("rotate signing keys: no successor keys")
	}
	ids := make([]string, 0, len(next))
	for _, k := range next {
		normTimes(k)
		ids = append(ids, k.ID)
	}
	now, removeAfter = norm(now), norm(removeAfter)
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		for _, k := range next {
			if err := tx.Create(k).Error; err != nil {
				return err
			}
		}
		return tx.Model(&models.SigningKey{}).
			Where("id NOT IN ? AND retired_at IS NULL", ids).
			Updates(map[string]any{"retired_at": now, "remove_after": removeAfter}).Error
	})
	return wrap("rotate signing keys", err)
}

// ResealSigningKey replaces the key's sealed private key.
func (s *Store) ResealSigningKey(ctx context.Context, id string, sealed []byte) error {
	res := s.write(ctx).Model(&models.SigningKey{}).Where("id = ?", id).
		Update("sealed_private_key", sealed)
	if res.Error == nil && res.RowsAffected == 0 {
		res.Error = gorm.ErrRecordNotFound
	}
	return wrap("reseal signing key "+id, res.Error)
}
