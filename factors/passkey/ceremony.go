package passkey

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// Binding ties a ceremony to where it was begun.
type Binding struct {
	// AuthRequestID is the sign-in ("" outside one, e.g. the account page).
	AuthRequestID string
	// Browser is a hash of a secret the browser holds: the auth request's
	// BrowserBinding during a sign-in, a hash of the login session id on
	// the account page. Required.
	Browser string
}

// Ceremony is a begun ceremony as handed to the browser.
type Ceremony struct {
	// ID is sent back with the authenticator's response.
	ID string
	// Options is the JSON of go-webauthn's protocol.CredentialCreation or
	// protocol.CredentialAssertion: {"publicKey": {...}, "mediation": ...};
	// the page passes "publicKey" to
	// PublicKeyCredential.parseCreationOptionsFromJSON /
	// parseRequestOptionsFromJSON.
	Options   json.RawMessage
	ExpiresAt time.Time
}

// saveCeremony stores the server half of a ceremony.
func (s *Service) saveCeremony(ctx context.Context, purpose models.WebAuthnPurpose, b Binding, userID string, sd *webauthn.SessionData, options any) (*Ceremony, error) {
	if b.Browser == "" {
		return nil, errors.New("passkey: a ceremony needs a browser binding")
	}
	data, err := json.Marshal(sd)
	if err != nil {
		return nil, fmt.Errorf("passkey: encode session data: %w", err)
	}
	opts, err := json.Marshal(options)
	if err != nil {
		return nil, fmt.Errorf("passkey: encode options: %w", err)
	}
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	now := s.now()
	rec := &models.WebAuthnSession{
		ID: id, Purpose: purpose, AuthRequestID: b.AuthRequestID, BrowserBinding: b.Browser,
		UserID: userID, Data: data, CreatedAt: now, ExpiresAt: now.Add(s.cfg.ChallengeTTL),
	}
	if err := s.store.CreateWebAuthnSession(ctx, rec); err != nil {
		return nil, fmt.Errorf("passkey: store ceremony: %w", err)
	}
	return &Ceremony{ID: id, Options: opts, ExpiresAt: rec.ExpiresAt}, nil
}

// takeCeremony checks that ceremony id is unused, unexpired, of one of
// purposes and bound to b, then consumes it. The checks are made before
// consuming so that a request from another browser cannot burn the
// ceremony of the browser that owns it.
func (s *Service) takeCeremony(ctx context.Context, id string, b Binding, purposes ...models.WebAuthnPurpose) (*models.WebAuthnSession, *webauthn.SessionData, error) {
	if id == "" {
		return nil, nil, ErrCeremonyNotFound
	}
	rec, err := s.store.GetWebAuthnSession(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, ErrCeremonyNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: load ceremony: %w", err)
	}
	if err := s.checkCeremony(rec, b, purposes); err != nil {
		return nil, nil, err
	}
	rec, err = s.store.ConsumeWebAuthnSession(ctx, id, s.now())
	switch {
	case errors.Is(err, storage.ErrChallengeUsed):
		return nil, nil, ErrCeremonyUsed
	case errors.Is(err, storage.ErrNotFound):
		return nil, nil, ErrCeremonyNotFound
	case err != nil:
		return nil, nil, fmt.Errorf("passkey: consume ceremony: %w", err)
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(rec.Data, &sd); err != nil {
		return nil, nil, fmt.Errorf("passkey: decode ceremony %s: %w", id, err)
	}
	return rec, &sd, nil
}

func (s *Service) checkCeremony(rec *models.WebAuthnSession, b Binding, purposes []models.WebAuthnPurpose) error {
	purposeOK := false
	for _, p := range purposes {
		purposeOK = purposeOK || rec.Purpose == p
	}
	// The binding hash is derived from a browser secret: compare in
	// constant time.
	if !purposeOK || rec.AuthRequestID != b.AuthRequestID ||
		subtle.ConstantTimeCompare([]byte(rec.BrowserBinding), []byte(b.Browser)) != 1 {
		return ErrWrongBinding
	}
	if rec.UsedAt != nil {
		return ErrCeremonyUsed
	}
	if !s.now().Before(rec.ExpiresAt) {
		return ErrCeremonyExpired
	}
	return nil
}
