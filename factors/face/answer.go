package face

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/factors/auditlog"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// Audit event types written by the face factor.
const (
	AuditEnrol  = "face.enrol"
	AuditVerify = "face.verify"
	AuditDelete = "face.delete"
	AuditReseal = "face.reseal"
	// AuditUpgrade: a template gained the second embedder's samples.
	AuditUpgrade = "face.upgrade"
)

// Outcome is the decision on an answered challenge.
type Outcome struct {
	UserID  string
	Purpose models.FacePurpose
	// AuthRequestID is the login flow the challenge was bound to ("" outside one).
	AuthRequestID string
	// Result is the engine's decision; Result.Pass says whether the user
	// enrolled or verified.
	Result *faceauth.Result
}

// Passed reports whether the attempt succeeded.
func (o *Outcome) Passed() bool { return o != nil && o.Result != nil && o.Result.Pass }

// Lookup checks that challengeID is an unused, unexpired challenge of the
// given flow without consuming it, so that the caller can refuse a bad
// upload before anything changes.
func (s *Service) Lookup(ctx context.Context, challengeID, authRequestID, sessionID string) (*models.FaceChallenge, error) {
	ch, err := s.store.GetFaceChallenge(ctx, challengeID)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, ErrChallengeNotFound
		}
		return nil, fmt.Errorf("face: load challenge: %w", err)
	}
	if !bound(ch, authRequestID, sessionID) {
		return nil, ErrWrongSession
	}
	if ch.UsedAt != nil {
		return nil, ErrChallengeUsed
	}
	if !s.now().Before(ch.ExpiresAt) {
		return nil, ErrChallengeExpired
	}
	return ch, nil
}

// bound compares the challenge's binding with the caller's. Both values are
// server-side identifiers, not secrets presented by the client, so a plain
// comparison is fine.
func bound(ch *models.FaceChallenge, authRequestID, sessionID string) bool {
	return ch.AuthRequestID == authRequestID && ch.SessionID == sessionID
}

// Answer consumes the challenge and judges frames with the engine. A
// challenge can be answered once: a replay returns ErrChallengeUsed, another
// flow's challenge ErrWrongSession, a late one ErrChallengeExpired. When the
// engine refuses the frames themselves (no face, several faces, too dark,
// too few frames, ...) Answer returns *RefusedError; a saturated engine
// *BusyError (errors.Is ErrBusy) with a fresh challenge to send the same
// frames to. A completed decision (pass or fail) returns an Outcome. An
// enrolment that passes replaces the user's template.
func (s *Service) Answer(ctx context.Context, challengeID, authRequestID, sessionID string, frames [][]byte, opt faceauth.Options) (*Outcome, error) {
	ch, err := s.consume(ctx, challengeID, authRequestID, sessionID)
	if err != nil {
		return nil, err
	}
	out := &Outcome{UserID: ch.UserID, Purpose: ch.Purpose, AuthRequestID: ch.AuthRequestID}
	actions := toActions(ch.Actions)
	switch ch.Purpose {
	case models.FacePurposeEnrol:
		out.Result, err = s.enrol(ctx, ch, actions, frames, opt)
	case models.FacePurposeVerify:
		out.Result, err = s.verify(ctx, ch, actions, frames, opt)
	default:
		err = fmt.Errorf("face: challenge %s has unknown purpose %q", ch.ID, ch.Purpose)
	}
	if err != nil {
		s.auditRefusal(ctx, ch, err)
		if errors.Is(err, ErrBusy) {
			return nil, s.retryBusy(ctx, ch)
		}
		return nil, err
	}
	return refusedOrOutcome(out)
}

// refusedOrOutcome turns an engine refusal of the frames themselves (no
// face, too dark, ...) into a *RefusedError: a refusal, not a decision
// about the person.
func refusedOrOutcome(out *Outcome) (*Outcome, error) {
	if !out.Result.Pass && isInputCode(out.Result.Reason) {
		return nil, &RefusedError{Input: &faceauth.InputError{Code: out.Result.Reason, Message: out.Result.Message, Frame: -1}}
	}
	return out, nil
}

// consume checks and uses up a challenge of the given flow: single use
// holds from here on, whatever happens to the answer.
func (s *Service) consume(ctx context.Context, challengeID, authRequestID, sessionID string) (*models.FaceChallenge, error) {
	if _, err := s.Lookup(ctx, challengeID, authRequestID, sessionID); err != nil {
		return nil, err
	}
	now := s.now()
	ch, err := s.store.ConsumeFaceChallenge(ctx, challengeID, now)
	switch {
	case errors.Is(err, storage.ErrChallengeUsed):
		return nil, ErrChallengeUsed
	case errors.Is(err, storage.ErrNotFound):
		return nil, ErrChallengeNotFound
	case err != nil:
		return nil, fmt.Errorf("face: consume challenge: %w", err)
	}
	// Re-check on the record we consumed: the binding cannot change, but keep
	// the decision on the atomic read.
	if !bound(ch, authRequestID, sessionID) {
		return nil, ErrWrongSession
	}
	if !now.Before(ch.ExpiresAt) {
		return nil, ErrChallengeExpired
	}
	return ch, nil
}

// retryBusy replaces a challenge the engine was too busy to judge: the
// consumed one stays used (single use holds), and a fresh one with the same
// actions, binding and expiry takes its place, so a saturated engine costs
// the user a pause, not the attempt, and buys no extra time.
func (s *Service) retryBusy(ctx context.Context, ch *models.FaceChallenge) error {
	id, err := s.newID()
	if err == nil {
		rec := &models.FaceChallenge{
			ID: id, AuthRequestID: ch.AuthRequestID, SessionID: ch.SessionID, UserID: ch.UserID,
			Purpose: ch.Purpose, Actions: ch.Actions, CreatedAt: s.now(), ExpiresAt: ch.ExpiresAt,
		}
		if err = s.store.CreateFaceChallenge(ctx, rec); err == nil {
			return &BusyError{Retry: &Challenge{ID: id, Purpose: rec.Purpose, Actions: toActions(rec.Actions), ExpiresAt: rec.ExpiresAt}}
		}
	}
	slog.ErrorContext(ctx, "face: replace challenge refused by a busy engine", "user", ch.UserID, "err", err)
	return &BusyError{}
}

// isInputCode reports whether an engine reason refuses the input itself.
func isInputCode(reason string) bool {
	switch reason {
	case faceauth.CodeUnsupportedFormat, faceauth.CodeFrameTooLarge, faceauth.CodeTooManyFrames,
		faceauth.CodeTooFewFrames, faceauth.CodeNoFace, faceauth.CodeSeveralFaces,
		faceauth.CodeFaceTooSmall, faceauth.CodeTooDark, faceauth.CodeTooBlurred, faceauth.CodeNotFrontal,
		faceauth.CodeLowResolution:
		return true
	}
	return false
}

func (s *Service) enrol(ctx context.Context, ch *models.FaceChallenge, actions []faceauth.Action, frames [][]byte, opt faceauth.Options) (*faceauth.Result, error) {
	tmpl, res, err := s.engine.Enrol(ctx, actions, frames, opt)
	if err != nil {
		return nil, engineErr(err)
	}
	return s.enrolled(ctx, ch, tmpl, res)
}

// enrolled saves the template of a passed enrolment and audits the
// decision (one-shot or streamed).
func (s *Service) enrolled(ctx context.Context, ch *models.FaceChallenge, tmpl *faceauth.Template, res *faceauth.Result) (*faceauth.Result, error) {
	if res.Pass {
		if tmpl == nil {
			return nil, errors.New("face: engine passed an enrolment without a template")
		}
		keyID, sealed, err := faceauth.SealTemplate(s.kr, ch.UserID, tmpl)
		if err != nil {
			return nil, fmt.Errorf("face: seal template of user %s: %w", ch.UserID, err)
		}
		now := s.now()
		rec := &models.FaceTemplate{UserID: ch.UserID, KeyID: keyID, Sealed: sealed, Samples: tmpl.Samples(), CreatedAt: now, UpdatedAt: now}
		if err := s.store.SaveFaceTemplate(ctx, rec); err != nil {
			return nil, fmt.Errorf("face: save template of user %s: %w", ch.UserID, err)
		}
	}
	s.auditDecision(ctx, AuditEnrol, ch, res)
	return res, nil
}

func (s *Service) verify(ctx context.Context, ch *models.FaceChallenge, actions []faceauth.Action, frames [][]byte, opt faceauth.Options) (*faceauth.Result, error) {
	rec, tmpl, err := s.template(ctx, ch.UserID)
	if err != nil {
		return nil, err
	}
	res, err := s.engine.Verify(ctx, tmpl, actions, frames, opt)
	if err != nil {
		return nil, engineErr(err)
	}
	return s.verified(ctx, ch, rec, res)
}

// template loads and opens the user's template.
func (s *Service) template(ctx context.Context, userID string) (*models.FaceTemplate, *faceauth.Template, error) {
	rec, err := s.store.GetFaceTemplate(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, ErrNotEnrolled // deleted after the challenge was issued
	}
	if err != nil {
		return nil, nil, fmt.Errorf("face: load template of user %s: %w", userID, err)
	}
	tmpl, err := faceauth.OpenTemplate(s.kr, userID, rec.KeyID, rec.Sealed)
	if err != nil {
		return nil, nil, fmt.Errorf("face: open template of user %s: %w", userID, err)
	}
	return rec, tmpl, nil
}

// verified audits a verification's decision (one-shot or streamed) and
// upgrades the template it passed on.
func (s *Service) verified(ctx context.Context, ch *models.FaceChallenge, rec *models.FaceTemplate, res *faceauth.Result) (*faceauth.Result, error) {
	s.auditDecision(ctx, AuditVerify, ch, res)
	if up := res.Upgraded(); res.Pass && up != nil {
		s.upgradeTemplate(ctx, ch.UserID, rec, up)
	}
	return res, nil
}

// upgradeTemplate stores a template that gained the second embedder's
// samples at a passed verification (faceauth.Result.Upgraded) in place of
// the one it was verified against, sealed under the newest key. It replaces
// the record only while that still holds exactly what was verified: a
// re-enrolment or a rotation in between wins, and the upgrade waits for the
// next verification. A failure is logged, never shown to the user: the
// sign-in has passed either way.
func (s *Service) upgradeTemplate(ctx context.Context, userID string, verified *models.FaceTemplate, up *faceauth.Template) {
	keyID, sealed, err := faceauth.SealTemplate(s.kr, userID, up)
	if err == nil {
		err = s.store.ResealFaceTemplate(ctx, userID, verified.KeyID, verified.Sealed, keyID, sealed)
	}
	if err != nil {
		slog.WarnContext(ctx, "face: template not upgraded with the second embedder's samples; the next verification tries again", "user", userID, "err", err)
		return
	}
	s.audit(ctx, &models.AuditEvent{Type: AuditUpgrade, Outcome: "success", UserID: userID, Reason: "second_embedder_samples_added",
		Details: map[string]any{"key_id": keyID, "embedding_samples": len(up.Embeddings)}})
}

func engineErr(err error) error {
	var in *faceauth.InputError
	switch {
	case errors.As(err, &in):
		return &RefusedError{Input: in}
	case errors.Is(err, faceauth.ErrBusy):
		return ErrBusy
	}
	return fmt.Errorf("face: engine: %w", err)
}

func (s *Service) auditDecision(ctx context.Context, typ string, ch *models.FaceChallenge, res *faceauth.Result) {
	outcome := "failure"
	if res.Pass {
		outcome = "success"
	}
	steps := make([]map[string]any, len(res.Steps))
	for i, st := range res.Steps {
		steps[i] = map[string]any{"action": string(st.Action), "passed": st.Passed, "score": st.Score}
	}
	s.audit(ctx, &models.AuditEvent{
		Type: typ, Outcome: outcome, UserID: ch.UserID, Reason: res.Reason,
		Details: map[string]any{
			"challenge_actions": ch.Actions,
			"auth_request_id":   ch.AuthRequestID,
			"distance":          res.Distance,
			"similarity":        res.Similarity, // the second embedder's; null when it took no part
			"frames":            res.Frames,
			"steps":             steps,
			"cues":              res.Cues, // the screen-replay cues: name, score, threshold, decided
			"elapsed_ms":        res.Elapsed.Milliseconds(),
		},
	})
}

func (s *Service) auditRefusal(ctx context.Context, ch *models.FaceChallenge, err error) {
	typ := AuditVerify
	if ch.Purpose == models.FacePurposeEnrol {
		typ = AuditEnrol
	}
	reason := "error"
	var ref *RefusedError
	switch {
	case errors.As(err, &ref):
		reason = ref.Input.Code
	case errors.Is(err, ErrBusy):
		reason = "busy"
	case errors.Is(err, ErrNotEnrolled):
		reason = "not_enrolled"
	}
	s.audit(ctx, &models.AuditEvent{
		Type: typ, Outcome: "failure", UserID: ch.UserID, Reason: reason,
		Details: map[string]any{"challenge_actions": ch.Actions, "auth_request_id": ch.AuthRequestID},
	})
}

// audit appends an event with the Caller of ctx (client, address); a
// failure to audit is logged, never shown to the user as a failed sign-in.
func (s *Service) audit(ctx context.Context, e *models.AuditEvent) {
	auditlog.Append(ctx, s.store, s.now(), e)
}
