package passkey

import (
	"context"
	"errors"
	"fmt"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// List returns the user's passkeys, oldest first, with their flags (BE:
// synced, BS: backed up now), AAGUID and last use, for the account page.
func (s *Service) List(ctx context.Context, userID string) ([]models.Passkey, error) {
	ps, err := s.store.ListPasskeys(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("passkey: list passkeys of user %s: %w", userID, err)
	}
	return ps, nil
}

// Rename changes the name of one of the user's passkeys.
func (s *Service) Rename(ctx context.Context, userID, id, name string) error {
	name, err := cleanName(name)
	if err != nil {
		return err
	}
	if err := s.store.RenamePasskey(ctx, userID, id, name); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return ErrNotFound
		}
		return fmt.Errorf("passkey: rename %s: %w", id, err)
	}
	s.audit(ctx, &models.AuditEvent{Type: AuditRename, Outcome: "success", UserID: userID, Details: map[string]any{"passkey": id, "name": name}})
	return nil
}

// Remove deletes one of the user's passkeys; it can no longer sign in.
func (s *Service) Remove(ctx context.Context, userID, id string) error {
	if err := s.store.DeletePasskey(ctx, userID, id); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return ErrNotFound
		}
		return fmt.Errorf("passkey: remove %s: %w", id, err)
	}
	s.audit(ctx, &models.AuditEvent{Type: AuditRemove, Outcome: "success", UserID: userID, Details: map[string]any{"passkey": id}})
	return nil
}
