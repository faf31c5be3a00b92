package passkey

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/faceidp/faceidp/factors/auditlog"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// Store is the part of storage.Storage the passkey factor uses.
type Store interface {
	GetUser(ctx context.Context, id string) (*models.User, error)
	storage.Passkeys
	storage.WebAuthnSessions
	storage.Audit
}

var _ Store = (storage.Storage)(nil)

// Audit event types.
const (
	AuditRegister       = "passkey.register"
	AuditLogin          = "passkey.login"
	AuditCloneSuspected = "passkey.clone_suspected"
	AuditRename         = "passkey.rename"
	AuditRemove         = "passkey.remove"
)

// User verification requirements (Config.UserVerification).
const (
	UVPreferred   = "preferred"
	UVRequired    = "required"
	UVDiscouraged = "discouraged"
)

// Defaults and bounds.
const (
	DefaultChallengeTTL = 5 * time.Minute
	DefaultMaxPerUser   = 20
	// MaxResponseBytes bounds an authenticator response the service parses.
	MaxResponseBytes = 64 << 10
	// MaxNameLength bounds a passkey's name, in characters.
	MaxNameLength  = 64
	challengeBytes = 32
)

// Config is the relying party. The login flow builds it from the
// configuration (config.Config.PasskeyRelyingParty: the issuer's host and
// origin unless passkeys.rp_id and passkeys.origins say otherwise).
type Config struct {
	// RPID is the relying party ID: a domain (never an IP address) equal
	// to, or a registrable suffix of, every origin's host.
	RPID string
	// RPName is shown by some authenticators ("faceidp" when empty).
	RPName string
	// Origins are the exact origins (scheme://host[:port]) the browser may
	// report.
	Origins []string
	// UserVerification is "preferred" (default), "required" or
	// "discouraged": what is asked of the authenticator; with "required" an
	// assertion without the UV flag is refused.
	UserVerification string
	// ChallengeTTL is how long a ceremony may be answered (default 5m).
	ChallengeTTL time.Duration
	// MaxPerUser caps the passkeys one user may register (default 20).
	MaxPerUser int
}

// Service registers passkeys and signs users in with them. It is safe for
// concurrent use.
type Service struct {
	wa    *webauthn.WebAuthn
	cfg   Config
	uv    protocol.UserVerificationRequirement
	store Store
	now   func() time.Time
	rand  io.Reader
}

// New validates cfg and returns the service. now and rand are the clock
// and the source of challenges and ids (time.Now and crypto/rand.Reader in
// production).
func New(cfg Config, store Store, now func() time.Time, rand io.Reader) (*Service, error) {
	if store == nil || now == nil || rand == nil {
		return nil, errors.New("passkey: store, clock and random source are required")
	}
	if cfg.RPName == "" {
		cfg.RPName = "faceidp"
	}
	if cfg.ChallengeTTL == 0 {
		cfg.ChallengeTTL = DefaultChallengeTTL
	}
	if cfg.ChallengeTTL < 10*time.Second || cfg.ChallengeTTL > time.Hour {
		return nil, fmt.Errorf("passkey: challenge lifetime must be between 10s and 1h, got %s", cfg.ChallengeTTL)
	}
	if cfg.MaxPerUser == 0 {
		cfg.MaxPerUser = DefaultMaxPerUser
	}
	var uv protocol.UserVerificationRequirement
	switch cfg.UserVerification {
	case "", UVPreferred:
		cfg.UserVerification, uv = UVPreferred, protocol.VerificationPreferred
	case UVRequired:
		uv = protocol.VerificationRequired
	case UVDiscouraged:
		uv = protocol.VerificationDiscouraged
	default:
		return nil, fmt.Errorf("passkey: user verification must be preferred, required or discouraged, got %q", cfg.UserVerification)
	}
	if len(cfg.Origins) == 0 {
		return nil, errors.New("passkey: at least one origin is required")
	}
	timeout := webauthn.TimeoutConfig{Timeout: cfg.ChallengeTTL, TimeoutUVD: cfg.ChallengeTTL}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  cfg.RPID,
		RPDisplayName:         cfg.RPName,
		RPOrigins:             cfg.Origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired,
			UserVerification: uv,
		},
		Timeouts: webauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: relying party %q: %w", cfg.RPID, err)
	}
	if err := protocol.ValidateRPID(cfg.RPID); err != nil {
		return nil, fmt.Errorf("passkey: relying party id %q: %w", cfg.RPID, err)
	}
	return &Service{wa: wa, cfg: cfg, uv: uv, store: store, now: now, rand: rand}, nil
}

// RelyingParty returns the effective configuration (defaults applied).
func (s *Service) RelyingParty() Config { return s.cfg }

func (s *Service) random(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return nil, fmt.Errorf("passkey: read random: %w", err)
	}
	return b, nil
}

func (s *Service) newID() (string, error) {
	b, err := s.random(32)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (s *Service) audit(ctx context.Context, e *models.AuditEvent) {
	auditlog.Append(ctx, s.store, s.now(), e)
}
