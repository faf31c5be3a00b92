package sqlstore

import (
	"context"

	"gorm.io/gorm"

	"github.com/faceidp/faceidp/models"
)

func (s *Store) CreateAuthRequest(ctx context.Context, r *models.AuthRequest) error {
	normTimes(r)
	return wrap("create auth request", s.db.WithContext(ctx).Create(r).Error)
}

func (s *Store) GetAuthRequest(ctx context.Context, id string) (*models.AuthRequest, error) {
	var r models.AuthRequest
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, wrap("get auth request", err)
	}
	normTimes(&r)
	return &r, nil
}

// GetAuthRequestByCodeHash finds the request an authorization code was
// issued for. An empty hash never matches.
func (s *Store) GetAuthRequestByCodeHash(ctx context.Context, codeHash string) (*models.AuthRequest, error) {
	if codeHash == "" {
		return nil, notFound("get auth request by code")
	}
	var r models.AuthRequest
	if err := s.db.WithContext(ctx).Where("code_hash = ?", codeHash).Take(&r).Error; err != nil {
		return nil, wrap("get auth request by code", err)
	}
	normTimes(&r)
	return &r, nil
}

// UpdateAuthRequest overwrites every column except ID and CreatedAt.
func (s *Store) UpdateAuthRequest(ctx context.Context, r *models.AuthRequest) error {
	normTimes(r)
	return wrap("update auth request "+r.ID, updateRow(s.db.WithContext(ctx), r, r.ID))
}

func (s *Store) DeleteAuthRequest(ctx context.Context, id string) error {
	return wrap("delete auth request "+id, deleteRow(s.db.WithContext(ctx), &models.AuthRequest{}, id))
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
