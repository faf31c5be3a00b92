package face

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/models"
)

// ActionPicker chooses the actions of a challenge.
type ActionPicker interface {
	// Pick returns n distinct actions.
	Pick(n int) ([]faceauth.Action, error)
}

// RandomPicker picks n distinct actions uniformly from faceauth.AllActions,
// reading one unbiased byte per choice from r.
func RandomPicker(r io.Reader) ActionPicker { return randomPicker{r} }

type randomPicker struct{ r io.Reader }

func (p randomPicker) Pick(n int) ([]faceauth.Action, error) {
	pool := append([]faceauth.Action(nil), faceauth.AllActions...)
	if n < 1 || n > len(pool) {
		return nil, fmt.Errorf("face: cannot pick %d distinct actions out of %d", n, len(pool))
	}
	out := make([]faceauth.Action, 0, n)
	var b [1]byte
	for len(out) < n {
		k := len(pool)
		limit := 256 - 256%k // reject bytes that would bias the modulo
		if _, err := io.ReadFull(p.r, b[:]); err != nil {
			return nil, fmt.Errorf("face: read random: %w", err)
		}
		if int(b[0]) >= limit {
			continue
		}
		i := int(b[0]) % k
		out = append(out, pool[i])
		pool = append(pool[:i], pool[i+1:]...)
	}
	return out, nil
}

// Challenge is an issued challenge as shown to the user.
type Challenge struct {
	ID        string
	Purpose   models.FacePurpose
	Actions   []faceauth.Action
	ExpiresAt time.Time
}

// IssueChallenge creates a single-use challenge for userID bound to the
// login flow (authRequestID, may be empty outside a login flow such as
// account re-enrolment) and the browser session sessionID. A verification
// challenge needs an enrolled template.
func (s *Service) IssueChallenge(ctx context.Context, userID, authRequestID, sessionID string, purpose models.FacePurpose) (*Challenge, error) {
	if userID == "" || sessionID == "" {
		return nil, errors.New("face: challenge needs a user and a session")
	}
	switch purpose {
	case models.FacePurposeEnrol:
	case models.FacePurposeVerify:
		ok, err := s.Enrolled(ctx, userID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrNotEnrolled
		}
	default:
		return nil, fmt.Errorf("face: unknown challenge purpose %q", purpose)
	}
	actions, err := s.picker.Pick(s.opts.Steps)
	if err != nil {
		return nil, err
	}
	if err := distinct(actions, s.opts.Steps); err != nil {
		return nil, err
	}
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	now := s.now()
	rec := &models.FaceChallenge{
		ID:            id,
		AuthRequestID: authRequestID,
		SessionID:     sessionID,
		UserID:        userID,
		Purpose:       purpose,
		Actions:       actionStrings(actions),
		CreatedAt:     now,
		ExpiresAt:     now.Add(s.opts.TTL),
	}
	if err := s.store.CreateFaceChallenge(ctx, rec); err != nil {
		return nil, fmt.Errorf("face: store challenge: %w", err)
	}
	return &Challenge{ID: id, Purpose: purpose, Actions: actions, ExpiresAt: rec.ExpiresAt}, nil
}

// newID returns 256 random bits, URL-safe.
func (s *Service) newID() (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", fmt.Errorf("face: read random for challenge id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func distinct(actions []faceauth.Action, n int) error {
	if len(actions) != n {
		return fmt.Errorf("face: picker returned %d actions, want %d", len(actions), n)
	}
	seen := map[faceauth.Action]bool{}
	for _, a := range actions {
		known := false
		for _, k := range faceauth.AllActions {
			known = known || a == k
		}
		if !known {
			return fmt.Errorf("face: picker returned unknown action %q", a)
		}
		if seen[a] {
			return fmt.Errorf("face: picker repeated action %q", a)
		}
		seen[a] = true
	}
	return nil
}

func actionStrings(a []faceauth.Action) []string {
	out := make([]string, len(a))
	for i, x := range a {
		out[i] = string(x)
	}
	return out
}

func toActions(s []string) []faceauth.Action {
	out := make([]faceauth.Action, len(s))
	for i, x := range s {
		out[i] = faceauth.Action(x)
	}
	return out
}
