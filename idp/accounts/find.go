package accounts

import (
	"context"

	"github.com/faceidp/faceidp/models"
)

// FindUser looks a user up by username, email or sub, as every user
// command does.
func (s *Service) FindUser(ctx context.Context, ref string) (*models.User, error) {
	return s.findUser(ctx, ref)
}
