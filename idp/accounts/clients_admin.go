package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// Scopes a service client may be allowed (NewClient.Scopes).
var serviceScopes = []string{"admin"}

// ClientEdit is the input of UpdateClient; nil fields stay as they are.
type ClientEdit struct {
	Name                   *string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	SkipConsent            *bool
	RequireFace            *bool
}

// UpdateClient applies an administrator's edit to a client.
func (s *Service) UpdateClient(ctx context.Context, id string, e ClientEdit) (*models.Client, error) {
	c, err := s.GetClient(ctx, id)
	if err != nil {
		return nil, err
	}
	changed := map[string]any{}
	if e.Name != nil {
		c.Name = strings.TrimSpace(*e.Name)
		changed["name"] = c.Name
	}
	if e.RedirectURIs != nil {
		if len(e.RedirectURIs) == 0 && !c.Service {
			return nil, errors.New("at least one redirect URI is required")
		}
		for _, u := range e.RedirectURIs {
			if err := ValidateRedirectURI(u); err != nil {
				return nil, fmt.Errorf("redirect URI: %w", err)
			}
		}
		c.RedirectURIs = dedupe(e.RedirectURIs)
		changed["redirect_uris"] = c.RedirectURIs
	}
	if e.PostLogoutRedirectURIs != nil {
		for _, u := range e.PostLogoutRedirectURIs {
			if err := ValidateRedirectURI(u); err != nil {
				return nil, fmt.Errorf("post-logout redirect URI: %w", err)
			}
		}
		c.PostLogoutRedirectURIs = dedupe(e.PostLogoutRedirectURIs)
		changed["post_logout_redirect_uris"] = c.PostLogoutRedirectURIs
	}
	if e.SkipConsent != nil {
		c.SkipConsent = *e.SkipConsent
		changed["skip_consent"] = c.SkipConsent
	}
	if e.RequireFace != nil {
		c.RequireFace = *e.RequireFace
		changed["require_face"] = c.RequireFace
	}
	if err := s.store.UpdateClient(ctx, c); err != nil {
		return nil, fmt.Errorf("update client %q: %w", id, err)
	}
	if err := s.audit(ctx, s.clock(), AuditClientUpdate, "", id, changed); err != nil {
		return c, fmt.Errorf("client %q updated, but %w", id, err)
	}
	return c, nil
}

// SetClientDisabled disables a client (every grant and sign-in to it is
// refused from then on, and its access and refresh tokens are deleted) or
// enables it again. It reports whether anything
// changed.
func (s *Service) SetClientDisabled(ctx context.Context, id string, disabled bool) (bool, error) {
	c, err := s.GetClient(ctx, id)
	if err != nil {
		return false, err
	}
	if c.Disabled == disabled {
		return false, nil
	}
	c.Disabled = disabled
	err = s.store.UpdateClient(ctx, c)
	if errors.Is(err, storage.ErrNotFound) {
		return false, notFoundError(fmt.Sprintf("no client with id %q", id))
	}
	if err != nil {
		return false, fmt.Errorf("disable client %q: %w", id, err)
	}
	if disabled {
		// Tokens already issued stop working too (userinfo, introspection).
		if err := s.store.DeleteClientTokens(ctx, id); err != nil {
			return true, fmt.Errorf("client %q disabled, but deleting its tokens failed: %w", id, err)
		}
	}
	if err := s.audit(ctx, s.clock(), AuditClientDisable, "", id, map[string]any{"disabled": disabled, "tokens_deleted": disabled}); err != nil {
		return true, fmt.Errorf("client %q changed, but %w", id, err)
	}
	return true, nil
}

// RotateClientSecret gives a confidential client a new generated secret,
// returned once.
func (s *Service) RotateClientSecret(ctx context.Context, id string) (string, error) {
	return s.SetClientSecret(ctx, id, true, "")
}

// ListSigningKeys returns the stored signing keys, newest first (the
// sealed private keys are cleared).
func (s *Service) ListSigningKeys(ctx context.Context) ([]models.SigningKey, error) {
	ks, err := s.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	for i := range ks {
		ks[i].SealedPrivateKey = nil
	}
	return ks, nil
}

// RotateSigningKeys generates new signing keys and retires the current
// ones (they stay published until the tokens they signed expire).
func (s *Service) RotateSigningKeys(ctx context.Context) error {
	if s.rotateKeys == nil {
		return fmt.Errorf("signing key rotation: %w", ErrNotConfigured)
	}
	if err := s.rotateKeys(ctx); err != nil {
		return err
	}
	if err := s.audit(ctx, s.clock(), AuditKeysRotate, "", "", nil); err != nil {
		return fmt.Errorf("signing keys rotated, but %w", err)
	}
	return nil
}
