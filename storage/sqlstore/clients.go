package sqlstore

import (
	"context"

	"gorm.io/gorm"

	"github.com/faceidp/faceidp/models"
)

func (s *Store) CreateClient(ctx context.Context, c *models.Client) error {
	normTimes(c)
	return wrap("create client", s.db.WithContext(ctx).Create(c).Error)
}

func (s *Store) GetClient(ctx context.Context, id string) (*models.Client, error) {
	return takeOne[models.Client](ctx, s.db, "get client", "id", id)
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
