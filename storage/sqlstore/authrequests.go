package sqlstore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func (s *Store) CreateAuthRequest(ctx context.Context, r *models.AuthRequest) error {
	normTimes(r)
	return wrap("create auth request", s.write(ctx).Create(r).Error)
}

func (s *Store) GetAuthRequest(ctx context.Context, id string) (*models.AuthRequest, error) {
	return s.getAuthRequest(ctx, "get auth request", getAuthRequestSQL, id)
}

// GetAuthRequestByCodeHash finds the request an authorization code was
// issued for. An empty hash never matches.
func (s *Store) GetAuthRequestByCodeHash(ctx context.Context, codeHash string) (*models.AuthRequest, error) {
	if codeHash == "" {
		return nil, notFound("get auth request by code")
	}
	return s.getAuthRequest(ctx, "get auth request by code", getAuthRequestByCodeHashSQL, codeHash)
}

// UpdateAuthRequest overwrites every column except ID and CreatedAt.
func (s *Store) UpdateAuthRequest(ctx context.Context, r *models.AuthRequest) error {
	normTimes(r)
	op := "update auth request " + r.ID
	args := setValues(authRequestColumns(r), "id", "created_at")
	n, err := s.hotExec(ctx, op, updateAuthRequestSQL, append(args, r.ID)...)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(op)
	}
	return nil
}

func (s *Store) DeleteAuthRequest(ctx context.Context, id string) error {
	return wrap("delete auth request "+id, deleteRow(s.write(ctx), &models.AuthRequest{}, id))
}

// RedeemAuthCode claims the code with a conditional UPDATE (code_used_at IS
// NULL), which row-locks the request until commit: a concurrent exchange
// waits, then finds the code used, and revokes what the winner recorded.
func (s *Store) RedeemAuthCode(ctx context.Context, id string, now time.Time, at *models.AccessToken, rt *models.RefreshToken) error {
	if at == nil {
		return fmt.Errorf("redeem auth code %s: no access token", id)
	}
	now = norm(now)
	normTimes(at)
	if rt != nil {
		normTimes(rt)
		if rt.FamilyID == "" {
			rt.FamilyID = rt.ID
		}
		if at.RefreshTokenID == "" {
			at.RefreshTokenID = rt.ID
		}
	}
	used := false
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		used = false // the transaction may be retried
		claim := map[string]any{"code_used_at": now, "code_access_token_id": at.ID, "code_refresh_family_id": ""}
		if rt != nil {
			claim["code_refresh_family_id"] = rt.FamilyID
		}
		res := tx.Model(&models.AuthRequest{}).Where("id = ? AND code_used_at IS NULL", id).UpdateColumns(claim)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			var r models.AuthRequest
			if err := tx.Where("id = ?", id).Take(&r).Error; err != nil {
				return err // not found
			}
			used = true
			return revokeCodeTokens(tx, &r, now)
		}
		if rt != nil {
			if err := tx.Create(rt).Error; err != nil {
				return err
			}
		}
		return tx.Create(at).Error
	})
	if err != nil {
		return wrap("redeem auth code", err)
	}
	if used {
		return fmt.Errorf("redeem auth code: %w", storage.ErrAuthCodeUsed)
	}
	return nil
}

// RevokeAuthCodeTokens revokes what a used code's exchange issued.
func (s *Store) RevokeAuthCodeTokens(ctx context.Context, id string, now time.Time) error {
	now = norm(now)
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		var r models.AuthRequest
		if err := tx.Where("id = ?", id).Take(&r).Error; err != nil {
			return err
		}
		return revokeCodeTokens(tx, &r, now)
	})
	return wrap("revoke auth code tokens", err)
}

func revokeCodeTokens(tx *gorm.DB, r *models.AuthRequest, now time.Time) error {
	if r.CodeUsedAt == nil {
		return nil
	}
	if r.CodeRefreshFamilyID != "" {
		if err := revokeFamily(tx, r.CodeRefreshFamilyID, now); err != nil {
			return err
		}
	}
	if r.CodeAccessTokenID != "" {
		return tx.Where("id = ?", r.CodeAccessTokenID).Delete(&models.AccessToken{}).Error
	}
	return nil
}

// updateRow writes every column of model (a pointer to a model with an ID
// primary key) except id and created_at; gorm.ErrRecordNotFound if no row.
func updateRow(db *gorm.DB, model any, id string) error {
	res := db.Model(model).Where("id = ?", id).Select("*").Omit("id", "created_at").Updates(model)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return gorm.ErrRecordNotFound
	}
	return nil
}

// deleteRow deletes the row with primary key id; gorm.ErrRecordNotFound if
// there was none.
func deleteRow(db *gorm.DB, model any, id string) error {
	res := db.Where("id = ?", id).Delete(model)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return gorm.ErrRecordNotFound
	}
	return nil
}
