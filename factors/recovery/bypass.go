package recovery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// GrantBypass lets userID skip the face step once within ttl (0: the
// configured default), replacing any unused bypass. grantedBy names the
// administrator, reason why (both audited, both shown in listings).
func (s *Service) GrantBypass(ctx context.Context, userID, grantedBy, reason string, ttl time.Duration) (*models.FaceBypass, error) {
	if userID == "" {
		return nil, errors.New("recovery: grant bypass: no user")
	}
	if ttl == 0 {
		ttl = s.opts.BypassTTL
	}
	if ttl < time.Minute || ttl > MaxBypassTTL {
		return nil, fmt.Errorf("recovery: bypass lifetime must be between 1m and %s, got %s", MaxBypassTTL, ttl)
	}
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > 256 || utf8.RuneCountInString(grantedBy) > 128 {
		return nil, errors.New("recovery: grant bypass: reason is longer than 256 characters or grantor than 128")
	}
	id, err := s.randomID()
	if err != nil {
		return nil, err
	}
	now := s.now()
	b := &models.FaceBypass{ID: id, UserID: userID, GrantedBy: grantedBy, Reason: reason, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.store.GrantFaceBypass(ctx, b, now); err != nil {
		return nil, fmt.Errorf("recovery: grant bypass to user %s: %w", userID, err)
	}
	s.audit(ctx, &models.AuditEvent{Type: AuditBypassGrant, Outcome: "success", UserID: userID, Reason: reason,
		Details: map[string]any{"bypass": id, "granted_by": grantedBy, "expires_at": b.ExpiresAt}})
	return b, nil
}

// ActiveBypass returns the user's usable bypass; ErrNoBypass if none.
func (s *Service) ActiveBypass(ctx context.Context, userID string) (*models.FaceBypass, error) {
	b, err := s.store.GetActiveFaceBypass(ctx, userID, s.now())
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNoBypass
	}
	if err != nil {
		return nil, fmt.Errorf("recovery: load bypass of user %s: %w", userID, err)
	}
	return b, nil
}

// ConsumeBypass uses up the user's bypass; ErrNoBypass if there is none
// usable now (never granted, expired, revoked, used, or taken by a
// concurrent sign-in).
func (s *Service) ConsumeBypass(ctx context.Context, userID string) (*models.FaceBypass, error) {
	b, err := s.store.ConsumeFaceBypass(ctx, userID, s.now())
	if errors.Is(err, storage.ErrNotFound) {
		s.audit(ctx, &models.AuditEvent{Type: AuditBypassUse, Outcome: "failure", UserID: userID, Reason: "no usable bypass"})
		return nil, ErrNoBypass
	}
	if err != nil {
		return nil, fmt.Errorf("recovery: consume bypass of user %s: %w", userID, err)
	}
	s.audit(ctx, &models.AuditEvent{Type: AuditBypassUse, Outcome: "success", UserID: userID,
		Details: map[string]any{"bypass": b.ID, "granted_by": b.GrantedBy}})
	return b, nil
}

// RevokeBypass withdraws the user's unused bypass; it reports whether
// there was one.
func (s *Service) RevokeBypass(ctx context.Context, userID, revokedBy string) (bool, error) {
	n, err := s.store.RevokeFaceBypasses(ctx, userID, s.now())
	if err != nil {
		return false, fmt.Errorf("recovery: revoke bypass of user %s: %w", userID, err)
	}
	if n > 0 {
		s.audit(ctx, &models.AuditEvent{Type: AuditBypassRevoke, Outcome: "success", UserID: userID, Details: map[string]any{"revoked_by": revokedBy}})
	}
	return n > 0, nil
}
