package accounts

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/faceidp/faceidp/factors/recovery"
	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// More audit event types of the service (see accounts.go).
const (
	AuditUserAdmin         = "admin.user_admin"
	AuditUserResetPassword = "admin.user_reset_password"
	AuditUserUnlock        = "admin.user_unlock"
	AuditFaceReenrol       = "admin.face_force_reenrol"
	AuditRecoveryRegen     = "admin.recovery_regenerate"
	AuditClientUpdate      = "admin.client_update"
	AuditClientDisable     = "admin.client_disable"
	AuditKeysRotate        = "admin.keys_rotate"
)

// ErrNotConfigured is returned by an operation whose collaborator the
// service was built without (WithRecovery, WithThrottle, WithKeyRotation).
var ErrNotConfigured = errors.New("not available on this server")

// WithRecovery lets the service grant face bypasses and regenerate
// recovery codes; WithThrottle lets it report throttle state;
// WithKeyRotation lets it rotate signing keys. Each returns s.
func (s *Service) WithRecovery(r *recovery.Service) *Service { s.recovery = r; return s }
func (s *Service) WithThrottle(l *throttle.Limiter) *Service { s.throttle = l; return s }
func (s *Service) WithKeyRotation(fn func(context.Context) error) *Service {
	s.rotateKeys = fn
	return s
}

// MaxPageSize caps every list the service returns at once.
const MaxPageSize = 200

// Page is a list request: Limit (1..MaxPageSize, default 50) items after
// skipping Offset.
type Page struct {
	Limit  int
	Offset int
}

func (p Page) norm() Page {
	if p.Limit <= 0 {
		p.Limit = 50
	}
	p.Limit = min(p.Limit, MaxPageSize)
	p.Offset = max(p.Offset, 0)
	return p
}

// SearchUsers returns a page of the users whose username, email or name
// contains q.
func (s *Service) SearchUsers(ctx context.Context, q string, p Page) ([]models.User, error) {
	p = p.norm()
	us, err := s.store.SearchUsers(ctx, strings.TrimSpace(q), p.Limit, p.Offset)
	if err != nil {
		return nil, fmt.Errorf("search users: %w", err)
	}
	return us, nil
}

// SetAdmin grants or removes the admin role. It reports whether anything
// changed.
func (s *Service) SetAdmin(ctx context.Context, ref string, admin bool) (bool, error) {
	u, err := s.findUser(ctx, ref)
	if err != nil {
		return false, err
	}
	if u.Admin == admin {
		return false, nil
	}
	now := s.clock()
	u.Admin, u.UpdatedAt = admin, now
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return false, fmt.Errorf("set admin role of %q: %w", u.Username, err)
	}
	if err := s.audit(ctx, now, AuditUserAdmin, u.ID, "", map[string]any{"admin": admin}); err != nil {
		return true, fmt.Errorf("admin role of %q changed, but %w", u.Username, err)
	}
	return true, nil
}

// ResetPassword replaces a user's password with a generated one, returned
// once for the administrator to hand over (nothing is sent), with the
// effects of SetPassword (sessions revoked, tokens deleted).
func (s *Service) ResetPassword(ctx context.Context, ref string) (string, error) {
	pw, err := s.generatePassword()
	if err != nil {
		return "", err
	}
	if err := s.SetPassword(ctx, ref, pw); err != nil {
		return "", err
	}
	u, err := s.findUser(ctx, ref)
	if err != nil {
		return pw, nil
	}
	if err := s.audit(ctx, s.clock(), AuditUserResetPassword, u.ID, "", nil); err != nil {
		return pw, fmt.Errorf("password of %q reset, but %w", u.Username, err)
	}
	return pw, nil
}

// CreateUserWithPassword is CreateUser that, when in.Password is empty,
// generates the password and returns it once (it is shown to the
// administrator, never sent).
func (s *Service) CreateUserWithPassword(ctx context.Context, in NewUser) (*models.User, string, error) {
	generated := ""
	if in.Password == "" {
		pw, err := s.generatePassword()
		if err != nil {
			return nil, "", err
		}
		in.Password, generated = pw, pw
	}
	u, err := s.CreateUser(ctx, in)
	if err != nil {
		return u, "", err
	}
	return u, generated, nil
}

func (s *Service) generatePassword() (string, error) {
	b := make([]byte, 15)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	pw := strings.ToLower(base32.StdEncoding.EncodeToString(b)) // 24 characters, 120 bits
	return pw[0:6] + "-" + pw[6:12] + "-" + pw[12:18] + "-" + pw[18:24], nil
}

// Unlock clears every throttle counter of the user (password and every
// second factor, every device), without changing whether the account is
// disabled. It returns how many counters were cleared.
func (s *Service) Unlock(ctx context.Context, ref string) (int64, error) {
	u, err := s.findUser(ctx, ref)
	if err != nil {
		return 0, err
	}
	n, err := s.store.DeleteUserThrottles(ctx, u.ID, "")
	if err != nil {
		return 0, fmt.Errorf("clear throttles of %q: %w", u.Username, err)
	}
	if err := s.audit(ctx, s.clock(), AuditUserUnlock, u.ID, "", map[string]any{"throttles_cleared": n}); err != nil {
		return n, fmt.Errorf("user %q unlocked, but %w", u.Username, err)
	}
	return n, nil
}

// ForceFaceReenrol deletes the user's face template and makes face
// mandatory for them, so their next sign-in enrols a new face after the
// password (ResetFace alone lets a user for whom face is optional go on
// without one).
func (s *Service) ForceFaceReenrol(ctx context.Context, ref string) error {
	if _, err := s.ResetFace(ctx, ref); err != nil {
		return err
	}
	if _, err := s.SetRequireFace(ctx, ref, true); err != nil {
		return err
	}
	u, err := s.findUser(ctx, ref)
	if err != nil {
		return err
	}
	if err := s.audit(ctx, s.clock(), AuditFaceReenrol, u.ID, "", nil); err != nil {
		return fmt.Errorf("face re-enrolment of %q forced, but %w", u.Username, err)
	}
	return nil
}

// GrantFaceBypass lets the user skip the face step once before ttl
// elapses (0: the configured default); the sign-in that uses it must enrol
// the face again. by names the administrator.
func (s *Service) GrantFaceBypass(ctx context.Context, ref, reason string, ttl time.Duration) (*models.FaceBypass, error) {
	if s.recovery == nil {
		return nil, fmt.Errorf("face bypass: %w", ErrNotConfigured)
	}
	u, err := s.findUser(ctx, ref)
	if err != nil {
		return nil, err
	}
	by := ActorFrom(ctx).Name
	if by == "" {
		by = "admin"
	}
	b, err := s.recovery.GrantBypass(ctx, u.ID, by, reason, ttl)
	if err != nil {
		return nil, err
	}
	return b, nil // recovery audits the grant, naming the actor as the grantor
}

// RevokeFaceBypass withdraws the user's unused bypass; it reports whether
// there was one.
func (s *Service) RevokeFaceBypass(ctx context.Context, ref string) (bool, error) {
	if s.recovery == nil {
		return false, fmt.Errorf("face bypass: %w", ErrNotConfigured)
	}
	u, err := s.findUser(ctx, ref)
	if err != nil {
		return false, err
	}
	return s.recovery.RevokeBypass(ctx, u.ID, ActorFrom(ctx).Name)
}

// RegenerateRecoveryCodes replaces the user's recovery codes and returns
// the new ones, to be handed to the user once.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, ref string) ([]string, error) {
	if s.recovery == nil {
		return nil, fmt.Errorf("recovery codes: %w", ErrNotConfigured)
	}
	u, err := s.findUser(ctx, ref)
	if err != nil {
		return nil, err
	}
	codes, err := s.recovery.Generate(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if err := s.audit(ctx, s.clock(), AuditRecoveryRegen, u.ID, "", map[string]any{"codes": len(codes)}); err != nil {
		return codes, fmt.Errorf("recovery codes of %q regenerated, but %w", u.Username, err)
	}
	return codes, nil
}

// FactorState is what an administrator sees about a user's factors.
type FactorState struct {
	User models.User
	// Face is nil when no face is enrolled.
	Face *FaceState
	// Throttles are the user's counters with failures counted.
	Throttles []ThrottleState
	Passkeys  []models.Passkey
	// RecoveryCodes is nil when the server has no recovery service.
	RecoveryCodes *recovery.Status
	// Bypass is the user's unused face bypass, if any.
	Bypass *models.FaceBypass
}

// FaceState describes an enrolled face template (never the template).
type FaceState struct {
	EnrolledAt time.Time
	UpdatedAt  time.Time
	Samples    int
	KeyID      string
	// LastVerification is the latest face decision on the user.
	LastVerification *models.AuditEvent
	// Disabled is set after face.disable_after consecutive failures.
	Disabled bool
	Failures int
}

// ThrottleState is one failure counter of the user.
type ThrottleState struct {
	Factor   string
	Counter  string // account, device, login, ip
	Failures int
	RetryAt  time.Time
	Disabled bool
}

// UserFactorState gathers the user's factor state.
func (s *Service) UserFactorState(ctx context.Context, ref string) (*FactorState, error) {
	u, err := s.findUser(ctx, ref)
	if err != nil {
		return nil, err
	}
	st := &FactorState{User: *u}
	if s.throttle != nil {
		ts, err := s.throttle.UserStatus(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			st.Throttles = append(st.Throttles, ThrottleState{Factor: t.Key.Factor, Counter: string(t.Key.Kind), Failures: t.Failures, RetryAt: t.RetryAt, Disabled: t.Disabled})
		}
	}
	tpl, err := s.store.GetFaceTemplate(ctx, u.ID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("face template of %q: %w", u.Username, err)
	default:
		fs := &FaceState{EnrolledAt: tpl.CreatedAt, UpdatedAt: tpl.UpdatedAt, Samples: tpl.Samples, KeyID: tpl.KeyID}
		evs, err := s.store.ListAudit(ctx, storage.AuditFilter{UserID: u.ID, Type: "face.verify", Limit: 1})
		if err != nil {
			return nil, fmt.Errorf("face decisions of %q: %w", u.Username, err)
		}
		if len(evs) > 0 {
			fs.LastVerification = &evs[0]
		}
		for _, t := range st.Throttles {
			if t.Factor == throttle.FactorFace {
				fs.Failures = max(fs.Failures, t.Failures)
				fs.Disabled = fs.Disabled || t.Disabled
			}
		}
		st.Face = fs
	}
	if st.Passkeys, err = s.store.ListPasskeys(ctx, u.ID); err != nil {
		return nil, fmt.Errorf("passkeys of %q: %w", u.Username, err)
	}
	if s.recovery != nil {
		rs, err := s.recovery.Remaining(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		st.RecoveryCodes = &rs
		b, err := s.recovery.ActiveBypass(ctx, u.ID)
		if err != nil && !errors.Is(err, recovery.ErrNoBypass) && !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
		st.Bypass = b
	}
	return st, nil
}

// FaceEnrolment is one enrolled face in ListFaceEnrolments.
type FaceEnrolment struct {
	UserID     string
	Username   string
	Samples    int
	KeyID      string
	EnrolledAt time.Time
	UpdatedAt  time.Time
}

// ListFaceEnrolments returns a page of the enrolled faces, by user ID.
func (s *Service) ListFaceEnrolments(ctx context.Context, p Page) ([]FaceEnrolment, error) {
	p = p.norm()
	keys, err := s.store.ListFaceTemplateKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list face templates: %w", err)
	}
	ids := make([]string, 0, len(keys))
	for id := range keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if p.Offset >= len(ids) {
		return []FaceEnrolment{}, nil
	}
	ids = ids[p.Offset:min(len(ids), p.Offset+p.Limit)]
	out := make([]FaceEnrolment, 0, len(ids))
	for _, id := range ids {
		t, err := s.store.GetFaceTemplate(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("face template of %s: %w", id, err)
		}
		e := FaceEnrolment{UserID: id, Samples: t.Samples, KeyID: t.KeyID, EnrolledAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
		if u, err := s.store.GetUser(ctx, id); err == nil {
			e.Username = u.Username
		}
		out = append(out, e)
	}
	return out, nil
}
