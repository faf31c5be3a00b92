package sqlstore

import (
	"context"

	"gorm.io/gorm"
)

// takeOne reads the one row of T whose column equals value, with its times
// normalised; a missing row is storage.ErrNotFound wrapped with op.
func takeOne[T any](ctx context.Context, db *gorm.DB, op, column string, value any) (*T, error) {
	var v T
	if err := db.WithContext(ctx).Where(column+" = ?", value).Take(&v).Error; err != nil {
		return nil, wrap(op, err)
	}
	normTimes(&v)
	return &v, nil
}
