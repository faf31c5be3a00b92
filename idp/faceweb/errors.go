package faceweb

import (
	"errors"
	"net/http"
	"time"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/factors/face"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/idp/webapi"
)

func errBadRequest(code, desc string) *webapi.Error {
	return &webapi.Error{Status: http.StatusBadRequest, Code: code, Desc: desc}
}

// flowError maps a login flow error to the API; anything that is not a
// refusal of the flow is errInternal (logged by the caller).
func flowError(err error) *webapi.Error {
	if e := webapi.FlowError(err, throttledError); e != nil {
		return e
	}
	return errInternal
}

// throttledError is the API form of a throttled or disabled factor:
// 429 face_throttled with Retry-After and retry_after (seconds), or 403
// face_disabled with the fallback in error_description.
func throttledError(te *idp.ThrottledError) *webapi.Error {
	if te.Disabled {
		return &webapi.Error{Status: http.StatusForbidden, Code: "face_disabled", Desc: te.Message() + " " + te.Fallback(),
			Extra: map[string]any{"cancel_url": te.CancelURL}}
	}
	secs := webapi.RetrySeconds(te.Wait)
	return &webapi.Error{Status: http.StatusTooManyRequests, Code: "face_throttled", Desc: te.Message(), RetryAfter: te.Wait,
		Extra: map[string]any{"retry_after": secs, "retry_at": te.RetryAt.UTC()}}
}

var errInternal = &webapi.Error{Status: http.StatusInternalServerError, Code: "server_error", Desc: "The sign-in service is temporarily unavailable. Try again later."}

// serviceError maps the face service's errors to the API; ok is false for
// an unexpected error (logged by the caller, answered with 500).
func (f *Factor) serviceError(err error) (*webapi.Error, bool) {
	var ref *face.RefusedError
	switch {
	case errors.Is(err, face.ErrChallengeNotFound):
		return &webapi.Error{Status: http.StatusNotFound, Code: "unknown_challenge", Desc: "This face challenge does not exist. Start the face check again."}, true
	case errors.Is(err, face.ErrChallengeUsed):
		return &webapi.Error{Status: http.StatusConflict, Code: "challenge_used", Desc: "This face challenge was already answered. Start the face check again."}, true
	case errors.Is(err, face.ErrChallengeExpired):
		return &webapi.Error{Status: http.StatusGone, Code: "challenge_expired", Desc: "The time for this face challenge ran out. Start the face check again."}, true
	case errors.Is(err, face.ErrWrongSession):
		return &webapi.Error{Status: http.StatusForbidden, Code: "wrong_session", Desc: "This face challenge belongs to another sign-in."}, true
	case errors.Is(err, face.ErrNotEnrolled):
		return &webapi.Error{Status: http.StatusConflict, Code: "not_enrolled", Desc: "No face is enrolled for this account."}, true
	case errors.Is(err, face.ErrBusy):
		e := &webapi.Error{Status: http.StatusServiceUnavailable, Code: "engine_busy", Desc: "The face check is busy right now.", RetryAfter: f.opts.RetryAfter}
		var busy *face.BusyError
		if errors.As(err, &busy) && busy.Retry != nil {
			// The answered challenge is used up; send the same frames to
			// this one after Retry-After.
			e.Extra = map[string]any{
				"challenge_id": busy.Retry.ID,
				"actions":      busy.Retry.Actions,
				"expires_at":   busy.Retry.ExpiresAt.UTC(),
				"expires_in":   int(busy.Retry.ExpiresAt.Sub(f.flow.Now()).Round(time.Second) / time.Second),
			}
		}
		return e, true
	case errors.As(err, &ref):
		// The engine's own input checks (pixels, decoding) keep the status
		// the upload checks use for the same problem; the rest is a face
		// the engine cannot use.
		status := http.StatusUnprocessableEntity
		switch ref.Input.Code {
		case faceauth.CodeFrameTooLarge:
			status = http.StatusRequestEntityTooLarge
		case faceauth.CodeUnsupportedFormat:
			status = http.StatusUnsupportedMediaType
		case faceauth.CodeTooManyFrames, faceauth.CodeTooFewFrames:
			status = http.StatusBadRequest
		}
		return &webapi.Error{Status: status, Code: ref.Input.Code, Desc: ref.Input.Message}, true
	}
	return errInternal, false
}
