package face

import (
	"context"
	"errors"
	"fmt"

	"time"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/keyring"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// maxResealAttempts bounds retries of one template whose record keeps
// changing under us (a re-enrolment racing the rotation).
const maxResealAttempts = 5

// RotateStats reports what RotateTemplates did.
type RotateStats struct {
	// Templates is how many templates were listed.
	Templates int `json:"templates"`
	// Resealed were re-encrypted under the newest key.
	Resealed int `json:"resealed"`
	// Current already used the newest key (including re-enrolments that
	// raced the rotation and were sealed under it).
	Current int `json:"current"`
	// Gone were deleted while the rotation ran.
	Gone int `json:"gone"`
}

// RotateTemplates re-seals every face template in store under kr's newest
// key (see Service.RotateTemplates). It needs no face engine, so operators
// can rotate keys on a machine without the face models.
func RotateTemplates(ctx context.Context, store Store, kr *keyring.Keyring, now func() time.Time) (RotateStats, error) {
	if store == nil || kr == nil || now == nil {
		return RotateStats{}, errors.New("face: rotate templates needs a store, a keyring and a clock")
	}
	return (&Service{store: store, kr: kr, now: now}).RotateTemplates(ctx)
}

// RotateTemplates re-seals every face template under the keyring's newest
// key, one record at a time with a compare-and-swap on the old key id, so
// sign-ins keep working while it runs. Templates whose record changed
// concurrently are re-read and retried.
func (s *Service) RotateTemplates(ctx context.Context) (RotateStats, error) {
	keys, err := s.store.ListFaceTemplateKeys(ctx)
	if err != nil {
		return RotateStats{}, fmt.Errorf("face: list template keys: %w", err)
	}
	st := RotateStats{Templates: len(keys)}
	newest := s.kr.NewestID()
	for userID, keyID := range keys {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		if keyID == newest {
			st.Current++
			continue
		}
		res, err := s.resealOne(ctx, userID)
		if err != nil {
			return st, err
		}
		switch res {
		case resealDone:
			st.Resealed++
		case resealCurrent:
			st.Current++
		case resealGone:
			st.Gone++
		}
	}
	s.audit(ctx, &models.AuditEvent{Type: AuditReseal, Outcome: "success", Reason: "rotate-templates",
		Details: map[string]any{"key_id": newest, "templates": st.Templates, "resealed": st.Resealed, "current": st.Current, "gone": st.Gone}})
	return st, nil
}

type resealResult int

const (
	resealDone resealResult = iota
	resealCurrent
	resealGone
)

func (s *Service) resealOne(ctx context.Context, userID string) (resealResult, error) {
	for attempt := 0; attempt < maxResealAttempts; attempt++ {
		rec, err := s.store.GetFaceTemplate(ctx, userID)
		if errors.Is(err, storage.ErrNotFound) {
			return resealGone, nil
		}
		if err != nil {
			return 0, fmt.Errorf("face: load template of user %s: %w", userID, err)
		}
		newKeyID, sealed, changed, err := faceauth.ResealTemplate(s.kr, userID, rec.KeyID, rec.Sealed)
		if err != nil {
			return 0, fmt.Errorf("face: reseal template of user %s: %w", userID, err)
		}
		if !changed {
			return resealCurrent, nil
		}
		err = s.store.ResealFaceTemplate(ctx, userID, rec.KeyID, rec.Sealed, newKeyID, sealed)
		switch {
		case err == nil:
			return resealDone, nil
		case errors.Is(err, storage.ErrStale):
			continue // re-enrolled meanwhile: read it again
		case errors.Is(err, storage.ErrNotFound):
			return resealGone, nil
		default:
			return 0, fmt.Errorf("face: store resealed template of user %s: %w", userID, err)
		}
	}
	return 0, fmt.Errorf("face: template of user %s kept changing during rotation; run the rotation again", userID)
}
