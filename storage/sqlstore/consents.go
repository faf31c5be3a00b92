package sqlstore

import (
	"context"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/faceidp/faceidp/models"
)

func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (*models.Consent, error) {
	var c models.Consent
	if err := s.db.WithContext(ctx).Where("user_id = ? AND client_id = ?", userID, clientID).
		Take(&c).Error; err != nil {
		return nil, wrap("get consent", err)
	}
	normTimes(&c)
	return &c, nil
}

// SaveConsent inserts the consent or replaces the scopes of an existing one
// (CreatedAt of the first grant is kept).
func (s *Store) SaveConsent(ctx context.Context, c *models.Consent) error {
	normTimes(c)
	err := s.write(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "user_id"}, {Name: "client_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"scopes", "updated_at"}),
	}).Create(c).Error
	return wrap("save consent", err)
}

func (s *Store) DeleteConsent(ctx context.Context, userID, clientID string) error {
	res := s.write(ctx).Where("user_id = ? AND client_id = ?", userID, clientID).Delete(&models.Consent{})
	if res.Error == nil && res.RowsAffected == 0 {
		res.Error = gorm.ErrRecordNotFound
	}
	return wrap("delete consent", res.Error)
}
