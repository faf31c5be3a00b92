package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// CreateUser inserts u. Usernames and emails are unique case-insensitively,
// and a username may not equal another account's email (or the reverse), so
// a login always names one account.
func (s *Store) CreateUser(ctx context.Context, u *models.User) error {
	normTimes(u)
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if err := loginTaken(tx, u); err != nil {
			return err
		}
		return tx.Create(u).Error
	})
	return wrap("create user", err)
}

// loginTaken fails with ErrAlreadyExists when u's username or email is
// some other account's email or username. Equal username/username and
// email/email clashes are left to the unique indexes.
func loginTaken(tx *gorm.DB, u *models.User) error {
	var n int64
	err := tx.Model(&models.User{}).
		Where("id <> ? AND (lower(email) = lower(?) OR lower(username) = lower(?))", u.ID, u.Username, u.Email).
		Count(&n).Error
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("username or email is another account's login: %w", storage.ErrAlreadyExists)
	}
	return nil
}

func (s *Store) GetUser(ctx context.Context, id string) (*models.User, error) {
	var u models.User
	if err := s.hotRow(ctx, "get user", getUserSQL, id, dests(userColumns(&u))); err != nil {
		return nil, err
	}
	normTimes(&u)
	return &u, nil
}

// GetUserByLogin matches login against usernames and emails,
// case-insensitively; a username match wins over an email match.
func (s *Store) GetUserByLogin(ctx context.Context, login string) (*models.User, error) {
	if login == "" {
		return nil, notFound("get user by login")
	}
	var users []models.User
	err := s.db.WithContext(ctx).
		Where("lower(username) = lower(?) OR lower(email) = lower(?)", login, login).
		Limit(2).Find(&users).Error
	if err != nil {
		return nil, wrap("get user by login", err)
	}
	switch len(users) {
	case 0:
		return nil, notFound("get user by login")
	case 2:
		if !equalFoldSQL(users[0].Username, login) {
			users[0] = users[1]
		}
	}
	u := users[0]
	normTimes(&u)
	return &u, nil
}

// equalFoldSQL approximates SQL lower() equality for choosing between two
// rows the database already matched.
func equalFoldSQL(a, b string) bool {
	return len(a) == len(b) && (a == b || lowerASCII(a) == lowerASCII(b))
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// ListUsers returns every user ordered by username.
func (s *Store) ListUsers(ctx context.Context) ([]models.User, error) {
	var users []models.User
	if err := s.db.WithContext(ctx).Order("username, id").Find(&users).Error; err != nil {
		return nil, wrap("list users", err)
	}
	return normAll(users), nil
}

// UpdateUser overwrites every column of the user with u's values except ID
// and CreatedAt; ErrNotFound if the user does not exist.
func (s *Store) UpdateUser(ctx context.Context, u *models.User) error {
	normTimes(u)
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if err := loginTaken(tx, u); err != nil {
			return err
		}
		res := tx.Model(u).Where("id = ?", u.ID).
			Select("*").Omit("id", "created_at").Updates(u)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return nil
	})
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return notFound("update user " + u.ID)
	}
	return wrap("update user", err)
}

// SearchUsers matches q as a substring of username, email or name,
// case-insensitively (LIKE wildcards in q are taken literally).
func (s *Store) SearchUsers(ctx context.Context, q string, limit, offset int) ([]models.User, error) {
	tx := s.db.WithContext(ctx).Model(&models.User{})
	if q != "" {
		pat := "%" + likeEscaper.Replace(strings.ToLower(q)) + "%"
		tx = tx.Where(`lower(username) LIKE ? ESCAPE '\' OR lower(email) LIKE ? ESCAPE '\' OR lower(name) LIKE ? ESCAPE '\'`, pat, pat, pat)
	}
	var users []models.User
	if err := tx.Order("username, id").Limit(limit).Offset(offset).Find(&users).Error; err != nil {
		return nil, wrap("search users", err)
	}
	return normAll(users), nil
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
