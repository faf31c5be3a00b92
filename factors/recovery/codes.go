package recovery

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/faceidp/faceidp/factors/auditlog"
	"github.com/faceidp/faceidp/keyring"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// Store is the part of storage.Storage the fallbacks use.
type Store interface {
	storage.RecoveryCodes
	storage.FaceBypasses
	storage.Audit
}

var _ Store = (storage.Storage)(nil)

// Audit event types.
const (
	AuditGenerate     = "recovery.generate"
	AuditUse          = "recovery.use"
	AuditBypassGrant  = "admin.face_bypass_grant"
	AuditBypassRevoke = "admin.face_bypass_revoke"
	AuditBypassUse    = "face_bypass.use"
)

// Code set shape.
const (
	// CodesPerSet is how many codes Generate makes.
	CodesPerSet = 10
	// CodeLength is the characters of a code (5 bits each).
	CodeLength = 10
	// DefaultBypassTTL is how long a granted bypass lasts by default.
	DefaultBypassTTL = 24 * time.Hour
	// MaxBypassTTL bounds a grant.
	MaxBypassTTL = 7 * 24 * time.Hour

	alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	macLabel = "recovery code"
)

var (
	// ErrInvalidCode: the code is not one of the user's unused codes
	// (wrong, already used, from a replaced set, or the user has none).
	ErrInvalidCode = errors.New("recovery code is not valid")
	// ErrNoBypass: the user holds no usable face bypass.
	ErrNoBypass = errors.New("no usable face bypass")
)

// Options configure the service.
type Options struct {
	// BypassTTL is the default lifetime of a granted bypass (DefaultBypassTTL when zero).
	BypassTTL time.Duration
}

// Service generates, checks and consumes the fallbacks. It is safe for
// concurrent use; every atomic step is in the database.
type Service struct {
	store Store
	kr    *keyring.Keyring
	now   func() time.Time
	rand  io.Reader
	opts  Options
}

// New returns the service. kr supplies the recovery code hashing key (its
// newest key for new codes); now and rand are the clock and randomness
// (time.Now and crypto/rand.Reader in production).
func New(store Store, kr *keyring.Keyring, now func() time.Time, rand io.Reader, opts Options) (*Service, error) {
	if store == nil || kr == nil || now == nil || rand == nil {
		return nil, errors.New("recovery: store, keyring, clock and random source are required")
	}
	if opts.BypassTTL == 0 {
		opts.BypassTTL = DefaultBypassTTL
	}
	if opts.BypassTTL < time.Minute || opts.BypassTTL > MaxBypassTTL {
		return nil, fmt.Errorf("recovery: bypass lifetime must be between 1m and %s, got %s", MaxBypassTTL, opts.BypassTTL)
	}
	return &Service{store: store, kr: kr, now: now, rand: rand, opts: opts}, nil
}

// Generate makes a new set of codes for userID, replacing (and so
// invalidating) any earlier set, and returns them formatted for display.
// They are shown once: only their keyed hashes are stored.
func (s *Service) Generate(ctx context.Context, userID string) ([]string, error) {
	if userID == "" {
		return nil, errors.New("recovery: generate codes: no user")
	}
	setID, err := s.randomID()
	if err != nil {
		return nil, err
	}
	now, keyID := s.now(), s.kr.NewestID()
	shown := make([]string, 0, CodesPerSet)
	rows := make([]models.RecoveryCode, 0, CodesPerSet)
	seen := map[string]bool{}
	for len(rows) < CodesPerSet {
		code, err := s.randomCode()
		if err != nil {
			return nil, err
		}
		if seen[code] {
			continue // 50 random bits: practically never, but a set holds distinct codes
		}
		seen[code] = true
		h, err := s.hash(keyID, userID, code)
		if err != nil {
			return nil, err
		}
		rows = append(rows, models.RecoveryCode{UserID: userID, CodeHash: h, KeyID: keyID, SetID: setID, CreatedAt: now})
		shown = append(shown, Format(code))
	}
	if err := s.store.ReplaceRecoveryCodes(ctx, userID, rows); err != nil {
		return nil, fmt.Errorf("recovery: store codes of user %s: %w", userID, err)
	}
	s.audit(ctx, &models.AuditEvent{Type: AuditGenerate, Outcome: "success", UserID: userID, Details: map[string]any{"codes": CodesPerSet, "set": setID}})
	return shown, nil
}

// Status is what the user may see about their codes.
type Status struct {
	// Remaining is how many unused codes can still be used.
	Remaining int
	// Stale counts unused codes hashed under a master key that is no
	// longer configured: they cannot be used; the user should regenerate.
	Stale int
	// Generated is when the current set was made (zero without a set).
	Generated time.Time
}

// Remaining reports the state of the user's codes.
func (s *Service) Remaining(ctx context.Context, userID string) (Status, error) {
	codes, err := s.store.ListRecoveryCodes(ctx, userID)
	if err != nil {
		return Status{}, fmt.Errorf("recovery: list codes of user %s: %w", userID, err)
	}
	var st Status
	for _, c := range codes {
		st.Generated = c.CreatedAt
		if c.UsedAt != nil {
			continue
		}
		if _, err := s.kr.MAC(c.KeyID, macLabel, nil); err != nil {
			st.Stale++
			continue
		}
		st.Remaining++
	}
	return st, nil
}

// Consume checks code against the user's unused codes and uses it up. It
// returns how many usable codes remain. Of concurrent uses of one code
// exactly one succeeds. A wrong, used or replaced code is ErrInvalidCode
// (the audit event says which); the caller counts it in the "recovery"
// throttle.
func (s *Service) Consume(ctx context.Context, userID, code string) (remaining int, err error) {
	norm, ok := Normalize(code)
	codes, err := s.store.ListRecoveryCodes(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("recovery: list codes of user %s: %w", userID, err)
	}
	reason := ""
	switch {
	case !ok:
		reason = "malformed"
	case len(codes) == 0:
		reason = "no codes"
	}
	if reason == "" {
		// Every code of a set shares the key it was hashed under.
		h, herr := s.hash(codes[0].KeyID, userID, norm)
		switch {
		case errors.Is(herr, keyring.ErrUnknownKey):
			reason = "hashed under a removed master key"
		case herr != nil:
			return 0, herr
		default:
			err = s.store.ConsumeRecoveryCode(ctx, userID, h, s.now())
			switch {
			case errors.Is(err, storage.ErrAlreadyUsed):
				reason = "already used"
			case errors.Is(err, storage.ErrNotFound):
				reason = "wrong code"
			case err != nil:
				return 0, fmt.Errorf("recovery: consume code of user %s: %w", userID, err)
			}
		}
	}
	if reason != "" {
		s.audit(ctx, &models.AuditEvent{Type: AuditUse, Outcome: "failure", UserID: userID, Reason: reason})
		return 0, ErrInvalidCode
	}
	st, err := s.Remaining(ctx, userID)
	if err != nil {
		return 0, err
	}
	s.audit(ctx, &models.AuditEvent{Type: AuditUse, Outcome: "success", UserID: userID, Details: map[string]any{"remaining": st.Remaining}})
	return st.Remaining, nil
}

// Delete removes the user's codes (an administrator's reset).
func (s *Service) Delete(ctx context.Context, userID string) (int64, error) {
	n, err := s.store.DeleteRecoveryCodes(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("recovery: delete codes of user %s: %w", userID, err)
	}
	return n, nil
}

func (s *Service) hash(keyID, userID, code string) (string, error) {
	m, err := s.kr.MAC(keyID, macLabel, []byte(userID+"\x00"+code))
	if err != nil {
		return "", fmt.Errorf("recovery: hash code: %w", err)
	}
	return hex.EncodeToString(m), nil
}

// randomCode returns CodeLength characters of alphabet; each byte's low 5
// bits pick one, which is unbiased because 256 is a multiple of 32.
func (s *Service) randomCode() (string, error) {
	b := make([]byte, CodeLength)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("recovery: read random: %w", err)
	}
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return string(b), nil
}

func (s *Service) randomID() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("recovery: read random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Format shows a normalised code as two lower-case groups: "abcde-fghij".
func Format(code string) string {
	c := strings.ToLower(code)
	return c[:CodeLength/2] + "-" + c[CodeLength/2:]
}

// Normalize turns what a user typed into the stored form: upper case,
// without spaces or hyphens, with the digits 0, 1 and 8 (absent from the
// alphabet) read as the letters O, I and B. ok is false unless the result
// is CodeLength characters of the alphabet.
func Normalize(input string) (code string, ok bool) {
	if len(input) > 4*CodeLength {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(input) {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			continue
		case r == '0':
			r = 'O'
		case r == '1':
			r = 'I'
		case r == '8':
			r = 'B'
		}
		if !strings.ContainsRune(alphabet, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != CodeLength {
		return "", false
	}
	return b.String(), true
}

func (s *Service) audit(ctx context.Context, e *models.AuditEvent) {
	auditlog.Append(ctx, s.store, s.now(), e)
}
