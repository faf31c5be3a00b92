package accounts

import (
	"context"
	"errors"
	"fmt"

	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// validateClientPolicy refuses overrides factors/policy would refuse at
// sign-in, so a client is never stored with a policy that cannot run.
func validateClientPolicy(c *models.Client) error {
	if _, err := policy.Resolve(policy.Policy{}, c); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	return nil
}

// policyDetails is a client policy for the audit log.
func policyDetails(p models.ClientPolicy) map[string]any {
	d := map[string]any{"first_factors": p.FirstFactors, "face_mode": p.FaceMode, "face_enrolment": p.FaceEnrolment}
	if p.PasskeySkipsFace != nil {
		d["passkey_skips_face"] = *p.PasskeySkipsFace
	}
	return d
}

// GetClient returns a client by id.
func (s *Service) GetClient(ctx context.Context, id string) (*models.Client, error) {
	c, err := s.store.GetClient(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, notFoundError(fmt.Sprintf("no client with id %q", id))
	}
	if err != nil {
		return nil, fmt.Errorf("load client %q: %w", id, err)
	}
	return c, nil
}

// SetClientPolicy replaces a client's factor policy overrides (the zero
// value of each field keeps the global default).
func (s *Service) SetClientPolicy(ctx context.Context, id string, p models.ClientPolicy) (*models.Client, error) {
	c, err := s.GetClient(ctx, id)
	if err != nil {
		return nil, err
	}
	c.Policy = p
	if err := validateClientPolicy(c); err != nil {
		return nil, err
	}
	err = s.store.UpdateClientPolicy(ctx, id, p)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, notFoundError(fmt.Sprintf("no client with id %q", id))
	}
	if err != nil {
		return nil, fmt.Errorf("set policy of client %q: %w", id, err)
	}
	if err := s.audit(ctx, s.clock(), AuditClientPolicy, "", id, policyDetails(p)); err != nil {
		return c, fmt.Errorf("policy of client %q set, but %w", id, err)
	}
	return c, nil
}
