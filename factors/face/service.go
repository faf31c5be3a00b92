package face

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/keyring"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// Store is the part of storage.Storage the face factor uses.
type Store interface {
	storage.FaceTemplates
	storage.FaceChallenges
	storage.Audit
}

var _ Store = (storage.Storage)(nil)

// Defaults for Options.
const (
	DefaultSteps = 2
	DefaultTTL   = 60 * time.Second
)

// Options configure the face factor.
type Options struct {
	// Steps is the number of distinct actions per challenge (1..4, default 2).
	Steps int
	// TTL is how long a challenge may be answered (default 60 s).
	TTL time.Duration
}

func (o Options) withDefaults() (Options, error) {
	if o.Steps == 0 {
		o.Steps = DefaultSteps
	}
	if o.Steps < 1 || o.Steps > len(faceauth.AllActions) {
		return o, fmt.Errorf("face: challenge steps must be between 1 and %d, got %d", len(faceauth.AllActions), o.Steps)
	}
	if o.TTL == 0 {
		o.TTL = DefaultTTL
	}
	if o.TTL < 0 {
		return o, fmt.Errorf("face: challenge TTL must be positive, got %s", o.TTL)
	}
	return o, nil
}

// Deps are the collaborators of the service.
type Deps struct {
	Store   Store
	Engine  faceauth.Verifier
	Keyring *keyring.Keyring
	// Now is the clock (time.Now in production).
	Now func() time.Time
	// Rand supplies challenge IDs and, unless Picker is set, the actions
	// (crypto/rand.Reader in production).
	Rand io.Reader
	// Picker chooses challenge actions; nil means RandomPicker(Rand). Tests
	// pin the challenge here; there is no configuration that sets it.
	Picker ActionPicker
}

// Service is the face factor.
type Service struct {
	store  Store
	engine faceauth.Verifier
	kr     *keyring.Keyring
	now    func() time.Time
	rand   io.Reader
	picker ActionPicker
	opts   Options
}

// New builds the face factor service.
func New(d Deps, opts Options) (*Service, error) {
	switch {
	case d.Store == nil:
		return nil, errors.New("face: no store")
	case d.Engine == nil:
		return nil, errors.New("face: no engine")
	case d.Keyring == nil:
		return nil, errors.New("face: no keyring")
	case d.Now == nil:
		return nil, errors.New("face: no clock")
	case d.Rand == nil:
		return nil, errors.New("face: no random source")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	p := d.Picker
	if p == nil {
		p = RandomPicker(d.Rand)
	}
	return &Service{store: d.Store, engine: d.Engine, kr: d.Keyring, now: d.Now, rand: d.Rand, picker: p, opts: opts}, nil
}

// Options returns the effective options (defaults applied).
func (s *Service) Options() Options { return s.opts }

// Limits are the engine's input limits, for the capture page and the API.
func (s *Service) Limits() faceauth.Limits { return s.engine.Limits() }

// Enrolled reports whether the user has a face template.
func (s *Service) Enrolled(ctx context.Context, userID string) (bool, error) {
	_, err := s.store.GetFaceTemplate(ctx, userID)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, storage.ErrNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("face: load template of user %s: %w", userID, err)
	}
}

// DeleteTemplate removes the user's template. Deleting a template that does
// not exist is not an error.
func (s *Service) DeleteTemplate(ctx context.Context, userID string) error {
	err := s.store.DeleteFaceTemplate(ctx, userID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("face: delete template of user %s: %w", userID, err)
	}
	s.audit(ctx, &models.AuditEvent{Type: AuditDelete, Outcome: "success", UserID: userID})
	return nil
}
