package face

import (
	"context"
	"errors"
	"fmt"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/models"
)

// ErrStreamUnsupported: the engine cannot analyse a challenge as a stream.
var ErrStreamUnsupported = errors.New("face: the engine does not support streamed challenges")

// StreamAbort reasons (audited, and the face API's error codes).
const (
	AbortStalled    = "stream_stalled"
	AbortOutOfOrder = "stream_out_of_order"
	AbortTooLarge   = "stream_too_large"
	AbortClosed     = "stream_closed"
	AbortInvalid    = "stream_invalid"
	AbortExpired    = "challenge_expired"
)

// StreamAnswer is a challenge being answered frame by frame (see
// faceauth.Stream). The challenge is used up when the stream begins, so a
// second stream, or a one-shot answer, for it is refused. It is not safe
// for concurrent use.
type StreamAnswer struct {
	s      *Service
	ch     *models.FaceChallenge
	rec    *models.FaceTemplate // the verified template; nil for enrolment
	stream *faceauth.Stream
	ended  bool
}

// BeginStream consumes the challenge (as Answer does) and starts its
// analysis. Errors are Answer's: ErrChallengeUsed for a replay, a
// *BusyError with a fresh challenge when the engine is saturated, ...
func (s *Service) BeginStream(ctx context.Context, challengeID, authRequestID, sessionID string, opt faceauth.Options) (*StreamAnswer, error) {
	streamer, ok := s.engine.(faceauth.Streamer)
	if !ok {
		return nil, ErrStreamUnsupported
	}
	ch, err := s.consume(ctx, challengeID, authRequestID, sessionID)
	if err != nil {
		return nil, err
	}
	a := &StreamAnswer{s: s, ch: ch}
	var tmpl *faceauth.Template
	switch ch.Purpose {
	case models.FacePurposeEnrol:
	case models.FacePurposeVerify:
		a.rec, tmpl, err = s.template(ctx, ch.UserID)
	default:
		err = fmt.Errorf("face: challenge %s has unknown purpose %q", ch.ID, ch.Purpose)
	}
	if err == nil {
		a.stream, err = streamer.BeginStream(ctx, tmpl, toActions(ch.Actions), opt)
		if err != nil {
			err = engineErr(err)
		}
	}
	if err != nil {
		s.auditRefusal(ctx, ch, err)
		if errors.Is(err, ErrBusy) {
			return nil, s.retryBusy(ctx, ch)
		}
		return nil, err
	}
	return a, nil
}

// CheckReady judges one frame of the get-ready step (before a challenge
// starts): whether exactly one face is in view, large, lit, sharp,
// frontal and centred, and what to fix. A frame that is not an acceptable
// image is a *RefusedError; a saturated engine ErrBusy.
func (s *Service) CheckReady(ctx context.Context, frame []byte) (*faceauth.Readiness, error) {
	streamer, ok := s.engine.(faceauth.Streamer)
	if !ok {
		return nil, ErrStreamUnsupported
	}
	r, err := streamer.CheckReady(ctx, frame)
	if err != nil {
		return nil, engineErr(err)
	}
	return r, nil
}

// Challenge is the challenge being answered.
func (a *StreamAnswer) Challenge() *Challenge {
	return &Challenge{ID: a.ch.ID, Purpose: a.ch.Purpose, Actions: toActions(a.ch.Actions), ExpiresAt: a.ch.ExpiresAt}
}

// MaxFrames is the most frames the stream accepts.
func (a *StreamAnswer) MaxFrames() int { return a.stream.MaxFrames() }

// Push analyses the next frame. A frame the engine cannot use as an image
// is a *RefusedError; the caller then aborts the stream.
func (a *StreamAnswer) Push(ctx context.Context, frame []byte) (faceauth.Progress, error) {
	p, err := a.stream.Push(ctx, frame)
	if err != nil {
		return p, engineErr(err)
	}
	return p, nil
}

// Finish decides on the frames pushed and records the decision as Answer
// does (an enrolment that passes replaces the template; every decision is
// audited). Its results are Answer's: an Outcome, or *RefusedError when
// the frames themselves are refused.
func (a *StreamAnswer) Finish(ctx context.Context) (*Outcome, error) {
	a.ended = true
	res, tmpl, err := a.stream.Finish(ctx)
	if err == nil {
		if a.rec == nil {
			res, err = a.s.enrolled(ctx, a.ch, tmpl, res)
		} else {
			res, err = a.s.verified(ctx, a.ch, a.rec, res)
		}
	} else {
		err = engineErr(err)
	}
	if err != nil {
		a.s.auditRefusal(ctx, a.ch, err)
		return nil, err
	}
	return refusedOrOutcome(&Outcome{UserID: a.ch.UserID, Purpose: a.ch.Purpose, AuthRequestID: a.ch.AuthRequestID, Result: res})
}

// Abort ends the stream without a decision for reason (one of the Abort
// constants, or a *RefusedError's code) and audits it as a failure. It does
// nothing after Finish or a previous Abort.
func (a *StreamAnswer) Abort(ctx context.Context, reason string) {
	if a.ended {
		return
	}
	a.ended = true
	frames := a.stream.Frames()
	a.stream.Close()
	typ := AuditVerify
	if a.ch.Purpose == models.FacePurposeEnrol {
		typ = AuditEnrol
	}
	a.s.audit(ctx, &models.AuditEvent{
		Type: typ, Outcome: "failure", UserID: a.ch.UserID, Reason: reason,
		Details: map[string]any{"challenge_actions": a.ch.Actions, "auth_request_id": a.ch.AuthRequestID,
			"frames": frames, "streamed": true},
	})
}

// Close frees the stream's engine admission; call it (deferred) whatever
// happened.
func (a *StreamAnswer) Close() { a.stream.Close() }
