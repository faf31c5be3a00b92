package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func (s *Store) CreateAccessToken(ctx context.Context, t *models.AccessToken) error {
	normTimes(t)
	return wrap("create access token", s.write(ctx).Create(t).Error)
}

func (s *Store) GetAccessToken(ctx context.Context, id string) (*models.AccessToken, error) {
	return takeOne[models.AccessToken](ctx, s.db, "get access token", "id", id)
}

func (s *Store) DeleteAccessToken(ctx context.Context, id string) error {
	return wrap("delete access token", deleteRow(s.write(ctx), &models.AccessToken{}, id))
}

// CreateRefreshToken stores the first token of a family and, when at is not
// nil, its access token (RefreshTokenID set to rt.ID if empty), atomically.
func (s *Store) CreateRefreshToken(ctx context.Context, rt *models.RefreshToken, at *models.AccessToken) error {
	normTimes(rt)
	if rt.FamilyID == "" {
		rt.FamilyID = rt.ID
	}
	if at != nil {
		normTimes(at)
		if at.RefreshTokenID == "" {
			at.RefreshTokenID = rt.ID
		}
	}
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(rt).Error; err != nil {
			return err
		}
		if at != nil {
			return tx.Create(at).Error
		}
		return nil
	})
	return wrap("create refresh token", err)
}

// RotateRefreshToken exchanges the token with oldHash for next. The claim on
// the old token is a conditional UPDATE, so of several concurrent exchanges
// (in any number of processes) exactly one wins; the others, and any later
// presentation of the old token, revoke the whole family and get
// storage.ErrRefreshTokenReused. next.FamilyID is set to the old token's
// family (a different non-empty family is an error) and at.RefreshTokenID to
// next.ID when empty. Expiry of the old token is the caller's check.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, now time.Time, next *models.RefreshToken, at *models.AccessToken) error {
	now = norm(now)
	normTimes(next)
	if at != nil {
		normTimes(at)
		if at.RefreshTokenID == "" {
			at.RefreshTokenID = next.ID
		}
	}
	reused := false
	err := s.rawTransaction(ctx, func(tx *sql.Tx) error {
		reused = false // the transaction may be retried
		claim, args := claimSQL, []any{now, oldHash}
		if next.FamilyID != "" {
			claim, args = claimFamilySQL, append(args, next.FamilyID)
		}
		n, err := s.txExec(ctx, tx, claim, args...)
		if err != nil {
			return err
		}
		if n == 1 && next.FamilyID != "" {
			// The common case: the caller named the family, the claim
			// succeeded, nothing else to read.
			return s.insertTokens(ctx, tx, next, at)
		}
		fam, err := s.familyOf(ctx, tx, oldHash)
		if err != nil {
			return err // not found: nothing was updated either
		}
		if next.FamilyID != "" && next.FamilyID != fam {
			return fmt.Errorf("next token is in family %s, not the old token's family %s", next.FamilyID, fam)
		}
		if n == 0 {
			// Already rotated or revoked: a replay. Revoke the family and
			// commit that, then report the reuse.
			reused = true
			return s.revokeFamilyTx(ctx, tx, fam, now)
		}
		next.FamilyID = fam
		return s.insertTokens(ctx, tx, next, at)
	})
	if err != nil {
		return wrap("rotate refresh token", err)
	}
	if reused {
		return fmt.Errorf("rotate refresh token: %w", storage.ErrRefreshTokenReused)
	}
	return nil
}

// createAll inserts a refresh token and, unless nil, its access token.
func createAll(tx *gorm.DB, rt *models.RefreshToken, at *models.AccessToken) error {
	if err := tx.Create(rt).Error; err != nil {
		return err
	}
	if at != nil {
		return tx.Create(at).Error
	}
	return nil
}

func (s *Store) GetRefreshTokenByHash(ctx context.Context, hash string) (*models.RefreshToken, error) {
	return takeOne[models.RefreshToken](ctx, s.db, "get refresh token by hash", "token_hash", hash)
}

func (s *Store) GetRefreshToken(ctx context.Context, id string) (*models.RefreshToken, error) {
	return takeOne[models.RefreshToken](ctx, s.db, "get refresh token", "id", id)
}

// RevokeRefreshFamily sets RevokedAt on every not yet revoked member of the
// family and deletes their access tokens. Revoking an unknown or already
// revoked family is not an error.
func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) error {
	now = norm(now)
	err := s.rawTransaction(ctx, func(tx *sql.Tx) error {
		return s.revokeFamilyTx(ctx, tx, familyID, now)
	})
	return wrap("revoke refresh family "+familyID, err)
}

// DeleteUserClientTokens deletes every access and refresh token of the user
// for the client, atomically.
func (s *Store) DeleteUserClientTokens(ctx context.Context, userID, clientID string) error {
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		for _, m := range []any{&models.AccessToken{}, &models.RefreshToken{}} {
			if err := tx.Where("user_id = ? AND client_id = ?", userID, clientID).Delete(m).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("delete user client tokens", err)
}

// DeleteUserTokens deletes every access and refresh token of the user, for
// every client, atomically.
func (s *Store) DeleteUserTokens(ctx context.Context, userID string) error {
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		for _, m := range []any{&models.AccessToken{}, &models.RefreshToken{}} {
			if err := tx.Where("user_id = ?", userID).Delete(m).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("delete user tokens", err)
}
