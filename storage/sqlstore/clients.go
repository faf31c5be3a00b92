package sqlstore

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func (s *Store) CreateClient(ctx context.Context, c *models.Client) error {
	normTimes(c)
	return wrap("create client", s.write(ctx).Create(c).Error)
}

// ListClients returns every client ordered by ID.
func (s *Store) ListClients(ctx context.Context) ([]models.Client, error) {
	var cs []models.Client
	if err := s.db.WithContext(ctx).Order("id").Find(&cs).Error; err != nil {
		return nil, wrap("list clients", err)
	}
	return normAll(cs), nil
}

// DeleteClient removes the client together with its tokens, consents and
// pending auth requests, in one transaction, so nothing issued to a deleted
// client stays usable.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Where("id = ?", id).Delete(&models.Client{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		for _, m := range []any{&models.AccessToken{}, &models.RefreshToken{}, &models.Consent{}, &models.AuthRequest{}} {
			if err := tx.Where("client_id = ?", id).Delete(m).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("delete client "+id, err)
}

// UpdateClientPolicy replaces the client's factor policy overrides.
func (s *Store) UpdateClientPolicy(ctx context.Context, id string, p models.ClientPolicy) error {
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		c := models.Client{ID: id, Policy: p, UpdatedAt: norm(s.now())}
		res := tx.Model(&c).Where("id = ?", id).
			Select("first_factors", "face_mode", "face_enrolment", "passkey_skips_face", "updated_at").Updates(&c)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return nil
	})
	return wrap("update client policy "+id, err)
}

// UpdateClientSecretHash swaps the secret hash with a conditional UPDATE,
// so a rehash after authentication never overwrites a secret an
// administrator replaced meanwhile.
func (s *Store) UpdateClientSecretHash(ctx context.Context, id, current, next string) error {
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&models.Client{}).Where("id = ? AND secret_hash = ?", id, current).
			Updates(map[string]any{"secret_hash": next, "updated_at": norm(s.now())})
		if res.Error != nil || res.RowsAffected > 0 {
			return res.Error
		}
		var n int64
		if err := tx.Model(&models.Client{}).Where("id = ?", id).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return gorm.ErrRecordNotFound
		}
		return fmt.Errorf("secret of client %s changed meanwhile: %w", id, storage.ErrStale)
	})
	return wrap("update client secret hash", err)
}

// UpdateClient writes the administrator-editable columns of c.
func (s *Store) UpdateClient(ctx context.Context, c *models.Client) error {
	c.UpdatedAt = s.now()
	normTimes(c)
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Model(c).Where("id = ?", c.ID).
			Select("name", "redirect_uris", "post_logout_redirect_uris", "skip_consent", "require_face", "scopes", "disabled", "updated_at").
			Updates(c)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return nil
	})
	return wrap("update client "+c.ID, err)
}

// DeleteClientTokens removes the client's access and refresh tokens.
func (s *Store) DeleteClientTokens(ctx context.Context, clientID string) error {
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		for _, m := range []any{&models.AccessToken{}, &models.RefreshToken{}} {
			if err := tx.Where("client_id = ?", clientID).Delete(m).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("delete tokens of client "+clientID, err)
}
