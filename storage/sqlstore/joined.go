package sqlstore

import (
	"context"
	"strings"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/faceidp/faceidp/models"
)

// withUser is a row of a token table joined to its user. The user's
// columns are selected with the prefix u__ so they do not clash with the
// token's (id, created_at, ...).
type withUser[T any] struct {
	Rec  T           `gorm:"embedded"`
	User models.User `gorm:"embedded;embeddedPrefix:u__"`
}

// userColumns is the select list of models.User under the u__ prefix,
// built from the model's schema so a new user column is read too.
var userColumns = sync.OnceValues(func() (string, error) {
	sch, err := schema.Parse(&models.User{}, &sync.Map{}, schema.NamingStrategy{})
	if err != nil {
		return "", err
	}
	cols := make([]string, 0, len(sch.DBNames))
	for _, c := range sch.DBNames {
		cols = append(cols, `u."`+c+`" AS "u__`+c+`"`)
	}
	return strings.Join(cols, ", "), nil
})

// takeWithUser reads the one row of T whose column equals value together
// with the user its user_id names, in one query on T's index and the users
// primary key. A missing row or user is storage.ErrNotFound.
func takeWithUser[T any](ctx context.Context, db *gorm.DB, op, table, column string, value any) (*T, *models.User, error) {
	ucols, err := userColumns()
	if err != nil {
		return nil, nil, wrap(op, err)
	}
	var row withUser[T]
	err = db.WithContext(ctx).Table(table+" AS t").
		Select("t.*, "+ucols).
		Joins("JOIN users u ON u.id = t.user_id").
		Where("t."+column+" = ?", value).
		Take(&row).Error
	if err != nil {
		return nil, nil, wrap(op, err)
	}
	normTimes(&row.Rec)
	normTimes(&row.User)
	return &row.Rec, &row.User, nil
}

func (s *Store) GetAccessTokenWithUser(ctx context.Context, id string) (*models.AccessToken, *models.User, error) {
	return takeWithUser[models.AccessToken](ctx, s.db, "get access token with user", "access_tokens", "id", id)
}

func (s *Store) GetRefreshTokenWithUser(ctx context.Context, hash string) (*models.RefreshToken, *models.User, error) {
	return takeWithUser[models.RefreshToken](ctx, s.db, "get refresh token with user", "refresh_tokens", "token_hash", hash)
}
