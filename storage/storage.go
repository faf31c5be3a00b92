// Package storage persists faceidp's state behind one interface, Storage,
// with a gorm implementation for SQLite (the embedded default) and
// PostgreSQL (package storage/sqlstore). Every backend must pass the
// conformance suite in storage/storagetest.
//
// To add a backend: implement Storage in a new package under storage/, add
// `var _ storage.Storage = (*Store)(nil)`, and call
// storagetest.RunConformance from its tests with a constructor that returns
// a fresh, migrated, empty store per test (see sqlstore_test.go). Atomic
// operations (RotateRefreshToken, RedeemAuthCode, UpdateThrottle,
// ConsumeFaceChallenge, ResealFaceTemplate, RotateSigningKeys,
// RecordPasskeyUse, ConsumeWebAuthnSession, ReplaceRecoveryCodes,
// ConsumeRecoveryCode, GrantFaceBypass, ConsumeFaceBypass) must be
// atomic in the shared database, not in process memory: several faceidp
// instances may use one database.
package storage

import (
	"context"
	"errors"
	"time"

	"github.com/faceidp/faceidp/models"
)

var (
	// ErrNotFound is returned when a record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists is returned when a unique key is taken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrRefreshTokenReused is returned by RotateRefreshToken when the
	// presented token was already rotated or revoked; the whole family has
	// been revoked by the time it is returned.
	ErrRefreshTokenReused = errors.New("refresh token reused")
	// ErrChallengeUsed is returned by ConsumeFaceChallenge and
	// ConsumeWebAuthnSession for a challenge that was already answered.
	ErrChallengeUsed = errors.New("challenge already used")
	// ErrAlreadyUsed is returned by ConsumeRecoveryCode for a code that was
	// used before.
	ErrAlreadyUsed = errors.New("already used")
	// ErrAuthCodeUsed is returned by RedeemAuthCode for a code that was
	// already exchanged; the tokens issued by the first exchange have been
	// revoked by the time it is returned.
	ErrAuthCodeUsed = errors.New("authorization code already used")
	// ErrStale is returned by compare-and-swap updates whose precondition
	// no longer holds.
	ErrStale = errors.New("record changed concurrently")
	// ErrUnavailable marks every error that is not a domain outcome above:
	// the database could not be reached or failed. Callers answer 503
	// without detail (the wrapped error may name hosts, users, databases).
	ErrUnavailable = errors.New("storage unavailable")
)

// Storage is everything faceidp keeps. Implementations must be safe for
// concurrent use by several processes sharing one database.
type Storage interface {
	Users
	Throttles
	Clients
	AuthRequests
	Tokens
	Sessions
	Consents
	SigningKeys
	FaceTemplates
	FaceChallenges
	Passkeys
	WebAuthnSessions
	RecoveryCodes
	FaceBypasses
	Audit

	// Migrate brings the schema up to date.
	Migrate(ctx context.Context) error
	// DeleteExpired removes expired auth requests, tokens, sessions,
	// challenges (face and WebAuthn), face bypasses and throttle counters,
	// and signing keys past RemoveAfter; it returns the count.
	DeleteExpired(ctx context.Context, now time.Time) (int64, error)
	Health(ctx context.Context) error
	Close() error
}

type Users interface {
	// CreateUser fails with ErrAlreadyExists if the username or email is taken.
	CreateUser(ctx context.Context, u *models.User) error
	GetUser(ctx context.Context, id string) (*models.User, error)
	// GetUserByLogin finds a user by username or email (case-insensitive).
	GetUserByLogin(ctx context.Context, login string) (*models.User, error)
	ListUsers(ctx context.Context) ([]models.User, error)
	// SearchUsers returns the users whose username, email or name contains
	// q (case-insensitively; "" matches everyone), ordered by username,
	// skipping offset and returning at most limit (limit > 0).
	SearchUsers(ctx context.Context, q string, limit, offset int) ([]models.User, error)
	UpdateUser(ctx context.Context, u *models.User) error
}

// Throttles keeps the failure counters of the per-factor throttle
// (factors/throttle decides what they mean). A counter is identified by
// (subject, factor).
type Throttles interface {
	// GetThrottle returns a counter; ErrNotFound when there is none.
	GetThrottle(ctx context.Context, subject, factor string) (*models.FactorThrottle, error)
	// UpdateThrottle reads the counter (subject, factor), or a zero one with
	// only Subject and Factor set when there is none, and passes it to fn
	// while holding it exclusively: concurrent updates of the same counter,
	// from any process sharing the database, wait for each other, so none
	// is lost and a limit fn enforces cannot be slipped past. When fn
	// returns nil the counter as fn left it is stored (Subject and Factor
	// cannot change) and returned; when it returns an error nothing is
	// stored and that error is returned as is. fn may run more than once
	// (a retried transaction) and must not have other effects.
	UpdateThrottle(ctx context.Context, subject, factor string, fn func(t *models.FactorThrottle) error) (*models.FactorThrottle, error)
	// DeleteThrottle removes a counter; a missing one is not an error.
	DeleteThrottle(ctx context.Context, subject, factor string) error
	// DeleteUserThrottles removes every counter of userID for factor, or
	// for every factor when factor is "", and returns how many.
	DeleteUserThrottles(ctx context.Context, userID, factor string) (int64, error)
	// ListUserThrottles returns every counter of userID, by factor and
	// subject.
	ListUserThrottles(ctx context.Context, userID string) ([]models.FactorThrottle, error)
	// ListFailingThrottles returns the counters with failures counted,
	// most recent failure first, at most limit (limit > 0).
	ListFailingThrottles(ctx context.Context, limit int) ([]models.FactorThrottle, error)
}

type Clients interface {
	CreateClient(ctx context.Context, c *models.Client) error
	GetClient(ctx context.Context, id string) (*models.Client, error)
	ListClients(ctx context.Context) ([]models.Client, error)
	// UpdateClientSecretHash replaces the client's secret hash with next
	// only if it is still current: ErrStale if it changed meanwhile (a
	// concurrent rehash or an administrator), ErrNotFound for no client.
	UpdateClientSecretHash(ctx context.Context, id, current, next string) error
	// DeleteClient removes the client and, in the same transaction, its
	// access and refresh tokens, consents and pending auth requests.
	DeleteClient(ctx context.Context, id string) error
	// UpdateClientPolicy replaces the client's factor policy overrides;
	// ErrNotFound for an unknown client.
	UpdateClientPolicy(ctx context.Context, id string, p models.ClientPolicy) error
	// UpdateClient replaces what an administrator edits on a client: name,
	// redirect URIs, post-logout redirect URIs, consent, require-face,
	// scopes and the disabled flag (not the secret, the policy, the kind
	// or the ID token algorithm); ErrNotFound for an unknown client.
	UpdateClient(ctx context.Context, c *models.Client) error
	// DeleteClientTokens removes every access and refresh token issued to
	// the client, in one transaction (a client disabled).
	DeleteClientTokens(ctx context.Context, clientID string) error
}

type AuthRequests interface {
	CreateAuthRequest(ctx context.Context, r *models.AuthRequest) error
	GetAuthRequest(ctx context.Context, id string) (*models.AuthRequest, error)
	GetAuthRequestByCodeHash(ctx context.Context, codeHash string) (*models.AuthRequest, error)
	UpdateAuthRequest(ctx context.Context, r *models.AuthRequest) error
	DeleteAuthRequest(ctx context.Context, id string) error
	// RedeemAuthCode exchanges the authorization code of request id. In one
	// transaction it marks the code used at now (a conditional update, so
	// of concurrent exchanges in any number of processes exactly one wins),
	// stores at and, when rt is not nil, rt as the first token of a new
	// family, and records their IDs on the request, which stays as a
	// tombstone until it expires. If the code was already used it stores
	// nothing, revokes the tokens recorded by the first exchange (as
	// RevokeAuthCodeTokens) and returns ErrAuthCodeUsed. ErrNotFound if the
	// request does not exist. Expiry is the caller's check.
	RedeemAuthCode(ctx context.Context, id string, now time.Time, at *models.AccessToken, rt *models.RefreshToken) error
	// RevokeAuthCodeTokens deletes the access token and revokes the refresh
	// family recorded on a used code's request. A request whose code was
	// not used is left alone; ErrNotFound if it does not exist.
	RevokeAuthCodeTokens(ctx context.Context, id string, now time.Time) error
}

type Tokens interface {
	CreateAccessToken(ctx context.Context, t *models.AccessToken) error
	GetAccessToken(ctx context.Context, id string) (*models.AccessToken, error)
	// GetAccessTokenWithUser returns the access token and the user it was
	// issued to in one read (userinfo, introspection); ErrNotFound if
	// either is missing.
	GetAccessTokenWithUser(ctx context.Context, id string) (*models.AccessToken, *models.User, error)
	DeleteAccessToken(ctx context.Context, id string) error
	// CreateRefreshToken stores the first token of a new family and its
	// access token in one transaction.
	CreateRefreshToken(ctx context.Context, rt *models.RefreshToken, at *models.AccessToken) error
	// RotateRefreshToken atomically marks the token with oldHash rotated at
	// now and stores next (same family) and its access token. If the old
	// token was already rotated or revoked it revokes the whole family and
	// returns ErrRefreshTokenReused.
	RotateRefreshToken(ctx context.Context, oldHash string, now time.Time, next *models.RefreshToken, at *models.AccessToken) error
	GetRefreshTokenByHash(ctx context.Context, hash string) (*models.RefreshToken, error)
	// GetRefreshTokenWithUser is GetRefreshTokenByHash together with the
	// token's user, in one read (the refresh grant); ErrNotFound if either
	// is missing.
	GetRefreshTokenWithUser(ctx context.Context, hash string) (*models.RefreshToken, *models.User, error)
	GetRefreshToken(ctx context.Context, id string) (*models.RefreshToken, error)
	// RevokeRefreshFamily revokes every refresh token of the family and
	// deletes their access tokens.
	RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) error
	// DeleteUserClientTokens removes every access and refresh token of a
	// user for a client (RP-initiated logout, admin revocation).
	DeleteUserClientTokens(ctx context.Context, userID, clientID string) error
	// DeleteUserTokens removes every access and refresh token of a user,
	// for every client, in one transaction (account disabled, password
	// changed). Unknown users are not an error.
	DeleteUserTokens(ctx context.Context, userID string) error
}

type Sessions interface {
	CreateSession(ctx context.Context, s *models.Session) error
	GetSession(ctx context.Context, id string) (*models.Session, error)
	UpdateSession(ctx context.Context, s *models.Session) error
	RevokeSession(ctx context.Context, id string, now time.Time) error
	// RevokeUserSessions revokes every session of a user; returns the count.
	RevokeUserSessions(ctx context.Context, userID string, now time.Time) (int64, error)
	ListUserSessions(ctx context.Context, userID string) ([]models.Session, error)
}

type Consents interface {
	GetConsent(ctx context.Context, userID, clientID string) (*models.Consent, error)
	SaveConsent(ctx context.Context, c *models.Consent) error
	DeleteConsent(ctx context.Context, userID, clientID string) error
}

type SigningKeys interface {
	CreateSigningKey(ctx context.Context, k *models.SigningKey) error
	// ListSigningKeys returns every stored key, newest first.
	ListSigningKeys(ctx context.Context) ([]models.SigningKey, error)
	// RotateSigningKeys stores every key of next (one successor per
	// algorithm) and retires every other unretired key at now, setting its
	// RemoveAfter to removeAfter, all in one transaction: either every
	// successor is stored and the old keys retired, or nothing changes.
	RotateSigningKeys(ctx context.Context, next []*models.SigningKey, now, removeAfter time.Time) error
	// ResealSigningKey replaces a key's sealed private key.
	ResealSigningKey(ctx context.Context, id string, sealed []byte) error
}

type FaceTemplates interface {
	GetFaceTemplate(ctx context.Context, userID string) (*models.FaceTemplate, error)
	// SaveFaceTemplate inserts or replaces the user's template.
	SaveFaceTemplate(ctx context.Context, t *models.FaceTemplate) error
	DeleteFaceTemplate(ctx context.Context, userID string) error
	// ListFaceTemplateKeys returns userID -> KeyID for every template, for
	// key rotation without loading every blob at once.
	ListFaceTemplateKeys(ctx context.Context) (map[string]string, error)
	// ResealFaceTemplate replaces the sealed blob only if the record still
	// holds exactly oldSealed under oldKeyID; otherwise ErrStale (a
	// re-enrolment, a reset or a rotation raced it, even one sealed under
	// the same key).
	ResealFaceTemplate(ctx context.Context, userID, oldKeyID string, oldSealed []byte, newKeyID string, sealed []byte) error
}

type FaceChallenges interface {
	CreateFaceChallenge(ctx context.Context, c *models.FaceChallenge) error
	GetFaceChallenge(ctx context.Context, id string) (*models.FaceChallenge, error)
	// ConsumeFaceChallenge atomically marks the challenge used at now and
	// returns it; ErrChallengeUsed if it was used before, ErrNotFound if
	// it does not exist. Expiry is the caller's check.
	ConsumeFaceChallenge(ctx context.Context, id string, now time.Time) (*models.FaceChallenge, error)
}

type Passkeys interface {
	// CreatePasskey stores a registered credential; ErrAlreadyExists when
	// its CredentialID (or ID) is taken.
	CreatePasskey(ctx context.Context, p *models.Passkey) error
	GetPasskeyByCredentialID(ctx context.Context, credentialID []byte) (*models.Passkey, error)
	// ListPasskeys returns the user's passkeys, oldest first.
	ListPasskeys(ctx context.Context, userID string) ([]models.Passkey, error)
	// RenamePasskey and DeletePasskey act only on a passkey of userID;
	// ErrNotFound otherwise (so one user cannot touch another's).
	RenamePasskey(ctx context.Context, userID, id, name string) error
	DeletePasskey(ctx context.Context, userID, id string) error
	// RecordPasskeyUse stores a verified assertion's counter, backup state,
	// user verification and time with one conditional UPDATE that holds
	// only if the stored counter is lower than use.SignCount, or both are
	// zero (an authenticator without a counter). Otherwise it changes
	// nothing and returns ErrStale: the counter did not increase, so of two
	// instances accepting assertions with the same counter (a cloned
	// authenticator) only one succeeds. ErrNotFound if the passkey is gone.
	RecordPasskeyUse(ctx context.Context, id string, use models.PasskeyUse) error
}

type WebAuthnSessions interface {
	CreateWebAuthnSession(ctx context.Context, s *models.WebAuthnSession) error
	GetWebAuthnSession(ctx context.Context, id string) (*models.WebAuthnSession, error)
	// ConsumeWebAuthnSession atomically marks the ceremony used at now and
	// returns it; ErrChallengeUsed if it was used before, ErrNotFound if it
	// does not exist. Binding and expiry are the caller's checks.
	ConsumeWebAuthnSession(ctx context.Context, id string, now time.Time) (*models.WebAuthnSession, error)
}

type RecoveryCodes interface {
	// ReplaceRecoveryCodes deletes every recovery code of userID and stores
	// codes (all of userID) in one transaction: the old set stops working
	// exactly when the new one starts.
	ReplaceRecoveryCodes(ctx context.Context, userID string, codes []models.RecoveryCode) error
	// ListRecoveryCodes returns the user's codes (hashes), used or not.
	ListRecoveryCodes(ctx context.Context, userID string) ([]models.RecoveryCode, error)
	// ConsumeRecoveryCode marks the user's code with codeHash used at now
	// with a conditional UPDATE, so of concurrent uses exactly one wins;
	// ErrAlreadyUsed if it was used before, ErrNotFound if there is no such
	// code.
	ConsumeRecoveryCode(ctx context.Context, userID, codeHash string, now time.Time) error
	// DeleteRecoveryCodes removes the user's codes; returns the count.
	DeleteRecoveryCodes(ctx context.Context, userID string) (int64, error)
}

type FaceBypasses interface {
	// GrantFaceBypass stores b and, in the same transaction, revokes at
	// now every other bypass of b.UserID still usable, so a user holds at
	// most one.
	GrantFaceBypass(ctx context.Context, b *models.FaceBypass, now time.Time) error
	// GetActiveFaceBypass returns the user's bypass usable at now;
	// ErrNotFound if there is none.
	GetActiveFaceBypass(ctx context.Context, userID string, now time.Time) (*models.FaceBypass, error)
	// ConsumeFaceBypass atomically marks the user's usable bypass used at
	// now and returns it; of concurrent calls exactly one wins, the others
	// (and calls without a usable bypass) get ErrNotFound.
	ConsumeFaceBypass(ctx context.Context, userID string, now time.Time) (*models.FaceBypass, error)
	// RevokeFaceBypasses revokes the user's usable bypasses at now and
	// returns how many there were.
	RevokeFaceBypasses(ctx context.Context, userID string, now time.Time) (int64, error)
}

// AuditFilter selects audit events; zero fields match everything.
type AuditFilter struct {
	UserID   string
	ClientID string
	// Type matches the event type exactly, or every type starting with
	// the prefix when it ends in '.' or '_' ("login." for every login).
	Type    string
	Outcome string
	// Since is inclusive, Until exclusive.
	Since time.Time
	Until time.Time
	// Limit <= 0 means no limit; Offset skips that many matches (newest
	// first), for pagination.
	Limit  int
	Offset int
}

type Audit interface {
	AppendAudit(ctx context.Context, e *models.AuditEvent) error
	ListAudit(ctx context.Context, f AuditFilter) ([]models.AuditEvent, error)
}
