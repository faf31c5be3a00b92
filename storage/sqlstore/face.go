package sqlstore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func (s *Store) GetFaceTemplate(ctx context.Context, userID string) (*models.FaceTemplate, error) {
	return takeOne[models.FaceTemplate](ctx, s.db, "get face template", "user_id", userID)
}

// SaveFaceTemplate inserts the user's template or replaces it entirely
// (a re-enrolment: CreatedAt becomes the new template's).
func (s *Store) SaveFaceTemplate(ctx context.Context, t *models.FaceTemplate) error {
	normTimes(t)
	if t.CreatedAt.IsZero() {
		t.CreatedAt = norm(s.now())
	}
	err := s.write(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "user_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"key_id", "sealed", "samples", "created_at", "updated_at"}),
	}).Create(t).Error
	return wrap("save face template", err)
}

func (s *Store) DeleteFaceTemplate(ctx context.Context, userID string) error {
	res := s.write(ctx).Where("user_id = ?", userID).Delete(&models.FaceTemplate{})
	if res.Error == nil && res.RowsAffected == 0 {
		res.Error = gorm.ErrRecordNotFound
	}
	return wrap("delete face template", res.Error)
}

// ListFaceTemplateKeys returns userID -> KeyID for every template.
func (s *Store) ListFaceTemplateKeys(ctx context.Context) (map[string]string, error) {
	var rows []struct {
		UserID string
		KeyID  string
	}
	if err := s.db.WithContext(ctx).Model(&models.FaceTemplate{}).Select("user_id, key_id").
		Find(&rows).Error; err != nil {
		return nil, wrap("list face template keys", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.UserID] = r.KeyID
	}
	return out, nil
}

// ResealFaceTemplate swaps in a blob sealed under newKeyID only if the
// stored template still holds exactly oldSealed under oldKeyID
// (compare-and-swap; sealing uses a random nonce, so a re-enrolment under
// the same key never compares equal); otherwise storage.ErrStale, or
// ErrNotFound if there is no template.
func (s *Store) ResealFaceTemplate(ctx context.Context, userID, oldKeyID string, oldSealed []byte, newKeyID string, sealed []byte) error {
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&models.FaceTemplate{}).
			Where("user_id = ? AND key_id = ? AND sealed = ?", userID, oldKeyID, oldSealed).
			Updates(map[string]any{"key_id": newKeyID, "sealed": sealed, "updated_at": norm(s.now())})
		if res.Error != nil || res.RowsAffected > 0 {
			return res.Error
		}
		var n int64
		if err := tx.Model(&models.FaceTemplate{}).Where("user_id = ?", userID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return gorm.ErrRecordNotFound
		}
		return fmt.Errorf("template of user %s changed since it was read (key %s): %w", userID, oldKeyID, storage.ErrStale)
	})
	return wrap("reseal face template", err)
}

func (s *Store) CreateFaceChallenge(ctx context.Context, c *models.FaceChallenge) error {
	normTimes(c)
	return wrap("create face challenge", s.write(ctx).Create(c).Error)
}

func (s *Store) GetFaceChallenge(ctx context.Context, id string) (*models.FaceChallenge, error) {
	return takeOne[models.FaceChallenge](ctx, s.db, "get face challenge", "id", id)
}

// ConsumeFaceChallenge marks the challenge used with a conditional UPDATE
// (used_at IS NULL), so it is consumed once even across processes.
func (s *Store) ConsumeFaceChallenge(ctx context.Context, id string, now time.Time) (*models.FaceChallenge, error) {
	now = norm(now)
	var c models.FaceChallenge
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&models.FaceChallenge{}).Where("id = ? AND used_at IS NULL", id).Update("used_at", now)
		if res.Error != nil {
			return res.Error
		}
		if err := tx.Where("id = ?", id).Take(&c).Error; err != nil {
			return err
		}
		if res.RowsAffected == 0 {
			return storage.ErrChallengeUsed
		}
		return nil
	})
	if err != nil {
		return nil, wrap("consume face challenge", err)
	}
	normTimes(&c)
	return &c, nil
}
