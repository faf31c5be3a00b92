package sqlstore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// ReplaceRecoveryCodes swaps the user's whole set in one transaction.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, codes []models.RecoveryCode) error {
	for i := range codes {
		if codes[i].UserID != userID {
			return fmt.Errorf("replace recovery codes of user %s: code %d belongs to user %q", userID, i, codes[i].UserID)
		}
		normTimes(&codes[i])
	}
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("user_id = ?", userID).Delete(&models.RecoveryCode{}).Error; err != nil {
			return err
		}
		if len(codes) == 0 {
			return nil
		}
		return tx.Create(&codes).Error
	})
	return wrap("replace recovery codes", err)
}

func (s *Store) ListRecoveryCodes(ctx context.Context, userID string) ([]models.RecoveryCode, error) {
	var cs []models.RecoveryCode
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("created_at, code_hash").Find(&cs).Error; err != nil {
		return nil, wrap("list recovery codes", err)
	}
	return normAll(cs), nil
}

// ConsumeRecoveryCode is one conditional UPDATE (used_at IS NULL): of
// concurrent uses of one code, in any number of processes, one wins.
func (s *Store) ConsumeRecoveryCode(ctx context.Context, userID, codeHash string, now time.Time) error {
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&models.RecoveryCode{}).
			Where("user_id = ? AND code_hash = ? AND used_at IS NULL", userID, codeHash).
			Update("used_at", norm(now))
		if res.Error != nil || res.RowsAffected > 0 {
			return res.Error
		}
		var n int64
		if err := tx.Model(&models.RecoveryCode{}).Where("user_id = ? AND code_hash = ?", userID, codeHash).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return gorm.ErrRecordNotFound
		}
		return storage.ErrAlreadyUsed
	})
	return wrap("consume recovery code", err)
}

func (s *Store) DeleteRecoveryCodes(ctx context.Context, userID string) (int64, error) {
	res := s.write(ctx).Where("user_id = ?", userID).Delete(&models.RecoveryCode{})
	return res.RowsAffected, wrap("delete recovery codes", res.Error)
}

// usableBypass selects the bypasses of a user that can be used at now.
func usableBypass(tx *gorm.DB, userID string, now time.Time) *gorm.DB {
	return tx.Model(&models.FaceBypass{}).
		Where("user_id = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?", userID, norm(now))
}

func (s *Store) GrantFaceBypass(ctx context.Context, b *models.FaceBypass, now time.Time) error {
	normTimes(b)
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if err := usableBypass(tx, b.UserID, now).Update("revoked_at", norm(now)).Error; err != nil {
			return err
		}
		return tx.Create(b).Error
	})
	return wrap("grant face bypass", err)
}

func (s *Store) GetActiveFaceBypass(ctx context.Context, userID string, now time.Time) (*models.FaceBypass, error) {
	var b models.FaceBypass
	if err := usableBypass(s.db.WithContext(ctx), userID, now).Order("created_at DESC").Take(&b).Error; err != nil {
		return nil, wrap("get face bypass", err)
	}
	normTimes(&b)
	return &b, nil
}

// ConsumeFaceBypass finds the user's usable bypass and marks it used with
// an UPDATE that repeats the usability condition, so a concurrent consumer
// that read the same row changes nothing and gets ErrNotFound.
func (s *Store) ConsumeFaceBypass(ctx context.Context, userID string, now time.Time) (*models.FaceBypass, error) {
	var b models.FaceBypass
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if err := usableBypass(tx, userID, now).Order("created_at DESC").Take(&b).Error; err != nil {
			return err
		}
		res := usableBypass(tx, userID, now).Where("id = ?", b.ID).Update("used_at", norm(now))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		used := norm(now)
		b.UsedAt = &used
		return nil
	})
	if err != nil {
		return nil, wrap("consume face bypass", err)
	}
	normTimes(&b)
	return &b, nil
}

func (s *Store) RevokeFaceBypasses(ctx context.Context, userID string, now time.Time) (int64, error) {
	res := usableBypass(s.write(ctx), userID, now).Update("revoked_at", norm(now))
	return res.RowsAffected, wrap("revoke face bypasses", res.Error)
}
