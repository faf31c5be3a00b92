package passkey

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// BeginRegistration starts registering a new passkey for user (who has
// just proved who they are: the account page re-asks the password or an
// existing passkey first). The user's existing passkeys are excluded, so an
// authenticator that holds one already refuses to make a second.
func (s *Service) BeginRegistration(ctx context.Context, user *models.User, b Binding) (*Ceremony, error) {
	if user == nil || user.ID == "" {
		return nil, errors.New("passkey: registration needs a user")
	}
	existing, err := s.store.ListPasskeys(ctx, user.ID)
	if err != nil {
		return nil, fmt.Errorf("passkey: list passkeys of user %s: %w", user.ID, err)
	}
	if len(existing) >= s.cfg.MaxPerUser {
		return nil, ErrTooManyPasskeys
	}
	challenge, err := s.random(challengeBytes)
	if err != nil {
		return nil, err
	}
	requireRK := true
	creation, sd, err := s.wa.BeginRegistration(newWAUser(user, existing),
		webauthn.WithExclusions(descriptors(existing)),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			RequireResidentKey: &requireRK,
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   s.uv,
		}),
		func(o *protocol.PublicKeyCredentialCreationOptions) error {
			o.Challenge = challenge // from the injected source
			return nil
		},
	)
	if err != nil {
		return nil, fmt.Errorf("passkey: begin registration: %w", err)
	}
	return s.saveCeremony(ctx, models.WebAuthnRegister, b, user.ID, sd, creation)
}

// FinishRegistration verifies the authenticator's response to ceremony
// ceremonyID (begun by BeginRegistration for the same user and binding)
// and stores the passkey under name (trimmed; "Passkey" when empty).
func (s *Service) FinishRegistration(ctx context.Context, user *models.User, ceremonyID string, b Binding, name string, response []byte) (*models.Passkey, error) {
	if user == nil || user.ID == "" {
		return nil, errors.New("passkey: registration needs a user")
	}
	name, err := cleanName(name)
	if err != nil {
		return nil, err
	}
	// An unreadable answer is refused before the ceremony is consumed, so
	// the page can retry with the same one.
	if len(response) > MaxResponseBytes {
		return nil, s.registerFailed(ctx, user.ID, ErrMalformedResponse, "response too large")
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, s.registerFailed(ctx, user.ID, ErrMalformedResponse, detail(err))
	}
	rec, sd, err := s.takeCeremony(ctx, ceremonyID, b, models.WebAuthnRegister)
	if err != nil {
		return nil, s.registerFailed(ctx, user.ID, err, "")
	}
	if rec.UserID != user.ID {
		return nil, s.registerFailed(ctx, user.ID, ErrWrongBinding, "ceremony was begun for another user")
	}
	existing, err := s.store.ListPasskeys(ctx, user.ID)
	if err != nil {
		return nil, fmt.Errorf("passkey: list passkeys of user %s: %w", user.ID, err)
	}
	if len(existing) >= s.cfg.MaxPerUser {
		return nil, s.registerFailed(ctx, user.ID, ErrTooManyPasskeys, "")
	}
	cred, err := s.wa.CreateCredential(newWAUser(user, existing), *sd, parsed)
	if err != nil {
		return nil, s.registerFailed(ctx, user.ID, ErrVerification, detail(err))
	}
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	transports := make([]string, len(cred.Transport))
	for i, t := range cred.Transport {
		transports[i] = string(t)
	}
	p := &models.Passkey{
		ID: id, UserID: user.ID, CredentialID: bytes.Clone(cred.ID), PublicKey: cred.PublicKey,
		AttestationType: cred.AttestationType, AttestationFormat: cred.AttestationFormat,
		AAGUID: aaguidString(cred.Authenticator.AAGUID), Transports: transports,
		Attachment: string(cred.Authenticator.Attachment), UserVerified: cred.Flags.UserVerified,
		BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState,
		SignCount: int64(cred.Authenticator.SignCount), Name: name, CreatedAt: s.now(),
	}
	if err := s.store.CreatePasskey(ctx, p); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return nil, s.registerFailed(ctx, user.ID, ErrAlreadyRegistered, "")
		}
		return nil, fmt.Errorf("passkey: store passkey of user %s: %w", user.ID, err)
	}
	s.audit(ctx, &models.AuditEvent{Type: AuditRegister, Outcome: "success", UserID: user.ID, Details: map[string]any{
		"passkey": p.ID, "name": p.Name, "aaguid": p.AAGUID, "backup_eligible": p.BackupEligible,
		"backup_state": p.BackupState, "user_verified": p.UserVerified, "auth_request_id": rec.AuthRequestID,
	}})
	return p, nil
}

func (s *Service) registerFailed(ctx context.Context, userID string, err error, why string) error {
	reason := err.Error()
	if why != "" {
		reason += ": " + why
	}
	s.audit(ctx, &models.AuditEvent{Type: AuditRegister, Outcome: "failure", UserID: userID, Reason: truncate(reason, 256)})
	return err
}

// cleanName trims a user's label and refuses control characters and
// over-long names.
func cleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "Passkey", nil
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLength {
		return "", ErrInvalidName
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "", ErrInvalidName
		}
	}
	return name, nil
}

// detail is a go-webauthn error's developer detail, for the audit log.
func detail(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return truncate(strings.TrimSpace(pe.Details+" "+pe.DevInfo), 200)
	}
	return truncate(err.Error(), 200)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
