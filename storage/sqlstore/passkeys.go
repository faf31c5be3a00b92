package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func (s *Store) CreatePasskey(ctx context.Context, p *models.Passkey) error {
	normTimes(p)
	return wrap("create passkey", s.write(ctx).Create(p).Error)
}

func (s *Store) GetPasskeyByCredentialID(ctx context.Context, credentialID []byte) (*models.Passkey, error) {
	if len(credentialID) == 0 {
		return nil, notFound("get passkey by credential id")
	}
	return takeOne[models.Passkey](ctx, s.db, "get passkey by credential id", "credential_id", credentialID)
}

// ListPasskeys returns the user's passkeys, oldest first.
func (s *Store) ListPasskeys(ctx context.Context, userID string) ([]models.Passkey, error) {
	var ps []models.Passkey
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("created_at, id").Find(&ps).Error; err != nil {
		return nil, wrap("list passkeys", err)
	}
	return normAll(ps), nil
}

func (s *Store) RenamePasskey(ctx context.Context, userID, id, name string) error {
	res := s.write(ctx).Model(&models.Passkey{}).Where("id = ? AND user_id = ?", id, userID).Update("name", name)
	if res.Error == nil && res.RowsAffected == 0 {
		return notFound("rename passkey " + id)
	}
	return wrap("rename passkey", res.Error)
}

func (s *Store) DeletePasskey(ctx context.Context, userID, id string) error {
	res := s.write(ctx).Where("id = ? AND user_id = ?", id, userID).Delete(&models.Passkey{})
	if res.Error == nil && res.RowsAffected == 0 {
		return notFound("delete passkey " + id)
	}
	return wrap("delete passkey", res.Error)
}

// RecordPasskeyUse is one conditional UPDATE: the row changes only if the
// new counter is higher than the stored one (or both are zero), which the
// database decides under the row lock, so two instances cannot both
// accept the same counter value.
func (s *Store) RecordPasskeyUse(ctx context.Context, id string, use models.PasskeyUse) error {
	count := int64(use.SignCount)
	increases := "sign_count < ?"
	if count == 0 { // an authenticator without a counter: only 0 -> 0
		increases = "sign_count = ?"
	}
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&models.Passkey{}).
			Where("id = ? AND "+increases, id, count).
			UpdateColumns(map[string]any{
				"sign_count":    count,
				"backup_state":  use.BackupState,
				"user_verified": use.UserVerified,
				"last_used_at":  norm(use.UsedAt),
			})
		if res.Error != nil || res.RowsAffected > 0 {
			return res.Error
		}
		var p models.Passkey
		if err := tx.Select("sign_count").Where("id = ?", id).Take(&p).Error; err != nil {
			return err
		}
		return fmt.Errorf("passkey %s: stored sign counter %d, presented %d: %w", id, p.SignCount, count, storage.ErrStale)
	})
	if errors.Is(err, storage.ErrStale) {
		return fmt.Errorf("record passkey use: %w", err)
	}
	return wrap("record passkey use", err)
}

func (s *Store) CreateWebAuthnSession(ctx context.Context, w *models.WebAuthnSession) error {
	normTimes(w)
	return wrap("create webauthn session", s.write(ctx).Create(w).Error)
}

func (s *Store) GetWebAuthnSession(ctx context.Context, id string) (*models.WebAuthnSession, error) {
	return takeOne[models.WebAuthnSession](ctx, s.db, "get webauthn session", "id", id)
}

// ConsumeWebAuthnSession marks the ceremony used with a conditional UPDATE
// (used_at IS NULL), so it is consumed once even across processes.
func (s *Store) ConsumeWebAuthnSession(ctx context.Context, id string, now time.Time) (*models.WebAuthnSession, error) {
	now = norm(now)
	var w models.WebAuthnSession
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&models.WebAuthnSession{}).Where("id = ? AND used_at IS NULL", id).Update("used_at", now)
		if res.Error != nil {
			return res.Error
		}
		if err := tx.Where("id = ?", id).Take(&w).Error; err != nil {
			return err
		}
		if res.RowsAffected == 0 {
			return storage.ErrChallengeUsed
		}
		return nil
	})
	if err != nil {
		return nil, wrap("consume webauthn session", err)
	}
	normTimes(&w)
	return &w, nil
}
