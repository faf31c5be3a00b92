package passkey

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// BeginDiscoverableLogin starts a usernameless sign-in: any passkey of
// this relying party may answer. With conditional true the options ask
// the browser for conditional mediation (passkeys offered in the username
// field's autofill).
func (s *Service) BeginDiscoverableLogin(ctx context.Context, b Binding, conditional bool) (*Ceremony, error) {
	mediation := protocol.MediationDefault
	if conditional {
		mediation = protocol.MediationConditional
	}
	return s.beginLogin(ctx, b, models.WebAuthnLogin, "", nil, mediation)
}

// BeginUserLogin starts a username-first sign-in for user: only the user's
// passkeys may answer. user is nil when the username matches no account;
// the ceremony then looks the same but nothing can complete it.
func (s *Service) BeginUserLogin(ctx context.Context, b Binding, user *models.User) (*Ceremony, error) {
	if user == nil {
		return s.beginLogin(ctx, b, models.WebAuthnLoginUser, "", nil, protocol.MediationDefault)
	}
	ps, err := s.store.ListPasskeys(ctx, user.ID)
	if err != nil {
		return nil, fmt.Errorf("passkey: list passkeys of user %s: %w", user.ID, err)
	}
	return s.beginLogin(ctx, b, models.WebAuthnLoginUser, user.ID, newWAUser(user, ps), protocol.MediationDefault)
}

func (s *Service) beginLogin(ctx context.Context, b Binding, purpose models.WebAuthnPurpose, userID string, user *waUser, mediation protocol.CredentialMediationRequirement) (*Ceremony, error) {
	challenge, err := s.random(challengeBytes)
	if err != nil {
		return nil, err
	}
	opts := []webauthn.LoginOption{webauthn.WithChallenge(challenge), webauthn.WithUserVerification(s.uv)}
	var (
		assertion *protocol.CredentialAssertion
		sd        *webauthn.SessionData
	)
	if user != nil && len(user.creds) > 0 {
		assertion, sd, err = s.wa.BeginMediatedLogin(user, mediation, opts...)
	} else {
		// No allow list: for a user without passkeys (or an unknown one) the
		// options are those of a discoverable sign-in, and our record's
		// UserID decides who may complete it.
		assertion, sd, err = s.wa.BeginDiscoverableMediatedLogin(mediation, opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("passkey: begin sign-in: %w", err)
	}
	return s.saveCeremony(ctx, purpose, b, userID, sd, assertion)
}

// Assertion is a verified passkey sign-in.
type Assertion struct {
	User *models.User
	// Passkey is the credential used, as stored after this use.
	Passkey *models.Passkey
	// UserVerified is this assertion's UV flag: the authenticator checked
	// a PIN or biometric.
	UserVerified bool
	// AMR is "hwk" (device-bound) or "swk" (synced, backup eligible).
	AMR string
	// AuthRequestID is the sign-in the ceremony was bound to.
	AuthRequestID string
}

// FinishLogin verifies the authenticator's response to a sign-in ceremony
// and records the use. Refusals are *Failure wrapping ErrCeremony*,
// ErrWrongBinding, ErrMalformedResponse, ErrUnknownCredential,
// ErrVerification or ErrCounterRegressed. The caller checks that the
// returned user may sign in (not disabled or locked), as after a password.
func (s *Service) FinishLogin(ctx context.Context, ceremonyID string, b Binding, response []byte) (*Assertion, error) {
	a, f := s.finishLogin(ctx, ceremonyID, b, response)
	if f != nil && !isRefusal(f.Err) {
		return nil, f.Err // the database failed: not a decision about the user
	}
	if f != nil {
		typ := AuditLogin
		if errors.Is(f.Err, ErrCounterRegressed) {
			typ = AuditCloneSuspected
		}
		s.audit(ctx, &models.AuditEvent{Type: typ, Outcome: "failure", UserID: f.UserID, Reason: truncate(f.Error(), 256),
			Details: map[string]any{"passkey": f.PasskeyID, "auth_request_id": b.AuthRequestID}})
		return nil, f
	}
	s.audit(ctx, &models.AuditEvent{Type: AuditLogin, Outcome: "success", UserID: a.User.ID, Details: map[string]any{
		"passkey": a.Passkey.ID, "amr": a.AMR, "user_verified": a.UserVerified,
		"backup_state": a.Passkey.BackupState, "sign_count": a.Passkey.SignCount, "auth_request_id": a.AuthRequestID,
	}})
	return a, nil
}

// isRefusal reports whether err is a decision about the attempt (one of
// the sentinels) rather than an internal failure.
func isRefusal(err error) bool {
	for _, e := range []error{ErrCeremonyNotFound, ErrCeremonyUsed, ErrCeremonyExpired, ErrWrongBinding,
		ErrMalformedResponse, ErrUnknownCredential, ErrVerification, ErrCounterRegressed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (s *Service) finishLogin(ctx context.Context, ceremonyID string, b Binding, response []byte) (*Assertion, *Failure) {
	// An unreadable answer is refused before the ceremony is consumed, so
	// the page can retry with the same one.
	if len(response) > MaxResponseBytes {
		return nil, &Failure{Err: ErrMalformedResponse, Detail: "response too large"}
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, &Failure{Err: ErrMalformedResponse, Detail: detail(err)}
	}
	rec, sd, err := s.takeCeremony(ctx, ceremonyID, b, models.WebAuthnLogin, models.WebAuthnLoginUser)
	if err != nil {
		return nil, &Failure{Err: err}
	}
	// Who the attempt is against: the username typed (username-first), or
	// the credential's owner once known.
	f := &Failure{UserID: rec.UserID}
	p, err := s.store.GetPasskeyByCredentialID(ctx, parsed.RawID)
	if errors.Is(err, storage.ErrNotFound) {
		f.Err, f.Detail = ErrUnknownCredential, "credential is not registered"
		return nil, f
	}
	if err != nil {
		f.Err = fmt.Errorf("passkey: look up credential: %w", err)
		return nil, f
	}
	f.PasskeyID, f.AMR = p.ID, AMRFor(p)
	if rec.Purpose == models.WebAuthnLoginUser && rec.UserID != p.UserID {
		f.Err, f.Detail = ErrUnknownCredential, "credential belongs to another account"
		return nil, f
	}
	f.UserID = p.UserID
	user, err := s.store.GetUser(ctx, p.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		f.Err, f.Detail = ErrUnknownCredential, "credential's account is gone"
		return nil, f
	}
	if err != nil {
		f.Err = fmt.Errorf("passkey: load user %s: %w", p.UserID, err)
		return nil, f
	}
	ps, err := s.store.ListPasskeys(ctx, user.ID)
	if err != nil {
		f.Err = fmt.Errorf("passkey: list passkeys of user %s: %w", user.ID, err)
		return nil, f
	}
	wu := newWAUser(user, ps)
	var cred *webauthn.Credential
	if len(sd.UserID) > 0 {
		cred, err = s.wa.ValidateLogin(wu, *sd, parsed)
	} else {
		cred, err = s.wa.ValidateDiscoverableLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
			if !bytes.Equal(userHandle, wu.WebAuthnID()) {
				return nil, errors.New("user handle does not name the credential's owner")
			}
			return wu, nil
		}, *sd, parsed)
	}
	if err != nil {
		f.Err, f.Detail = ErrVerification, detail(err)
		return nil, f
	}
	counter := parsed.Response.AuthenticatorData.Counter
	if cred.Authenticator.CloneWarning {
		f.Err, f.Detail = ErrCounterRegressed, fmt.Sprintf("stored %d, presented %d", p.SignCount, counter)
		return nil, f
	}
	flags := parsed.Response.AuthenticatorData.Flags
	use := models.PasskeyUse{SignCount: counter, BackupState: flags.HasBackupState(), UserVerified: flags.HasUserVerified(), UsedAt: s.now()}
	switch err := s.store.RecordPasskeyUse(ctx, p.ID, use); {
	case errors.Is(err, storage.ErrStale):
		// Another instance accepted this counter value first.
		f.Err, f.Detail = ErrCounterRegressed, fmt.Sprintf("presented %d, already recorded by a concurrent sign-in", counter)
		return nil, f
	case errors.Is(err, storage.ErrNotFound):
		f.Err, f.Detail = ErrUnknownCredential, "removed during the sign-in"
		return nil, f
	case err != nil:
		f.Err = fmt.Errorf("passkey: record use of %s: %w", p.ID, err)
		return nil, f
	}
	p.SignCount, p.BackupState, p.UserVerified = int64(counter), use.BackupState, use.UserVerified
	used := use.UsedAt
	p.LastUsedAt = &used
	return &Assertion{User: user, Passkey: p, UserVerified: use.UserVerified, AMR: AMRFor(p), AuthRequestID: rec.AuthRequestID}, nil
}

// CredentialOwner names the user whose registered credential signed
// response, without verifying or consuming anything, so that the caller
// can reserve the attempt in that user's throttle before FinishLogin
// judges it. It returns "" for a response that cannot be read or names no
// registered credential; an error only when the database fails.
func (s *Service) CredentialOwner(ctx context.Context, response []byte) (string, error) {
	if len(response) > MaxResponseBytes {
		return "", nil
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return "", nil
	}
	p, err := s.store.GetPasskeyByCredentialID(ctx, parsed.RawID)
	if errors.Is(err, storage.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("passkey: look up credential: %w", err)
	}
	return p.UserID, nil
}
