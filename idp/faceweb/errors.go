package faceweb

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/factors/face"
	"github.com/faceidp/faceidp/idp"
)

// apiError is a face API error: {"error": Code, "error_description": Desc}
// with Status. Codes are stable (docs/face-api.md).
type apiError struct {
	Status     int
	Code       string
	Desc       string
	RetryAfter time.Duration
	// Extra are further members of the JSON body (e.g. the replacement
	// challenge of an engine_busy answer).
	Extra map[string]any
}

func (e *apiError) Error() string { return e.Code + ": " + e.Desc }

func errBadRequest(code, desc string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Desc: desc}
}

// writeJSON writes v with status. The login routes already send no-store
// and nosniff.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	body := map[string]any{}
	for k, v := range e.Extra {
		body[k] = v
	}
	body["error"], body["error_description"] = e.Code, e.Desc
	writeJSON(w, e.Status, body)
}

// flowError maps a login flow error to the API.
func flowError(err error) *apiError {
	switch {
	case errors.Is(err, idp.ErrFlowExpired):
		return &apiError{Status: http.StatusBadRequest, Code: "flow_expired", Desc: idp.ErrFlowExpired.Message}
	case errors.Is(err, idp.ErrFlowOtherBrowser):
		return &apiError{Status: http.StatusForbidden, Code: "flow_other_browser", Desc: idp.ErrFlowOtherBrowser.Message}
	case errors.Is(err, idp.ErrFlowWrongStep):
		return &apiError{Status: http.StatusConflict, Code: "wrong_step", Desc: idp.ErrFlowWrongStep.Message}
	}
	var te *idp.ThrottledError
	if errors.As(err, &te) {
		return throttledError(te)
	}
	var fe *idp.FlowError
	if errors.As(err, &fe) {
		return &apiError{Status: fe.Status, Code: "flow_error", Desc: fe.Message}
	}
	return errInternal
}

// throttledError is the API form of a throttled or disabled factor:
// 429 face_throttled with Retry-After and retry_after (seconds), or 403
// face_disabled with the fallback in error_description.
func throttledError(te *idp.ThrottledError) *apiError {
	if te.Disabled {
		return &apiError{Status: http.StatusForbidden, Code: "face_disabled", Desc: te.Message() + " " + te.Fallback(),
			Extra: map[string]any{"cancel_url": te.CancelURL}}
	}
	secs := int((te.Wait + time.Second - 1) / time.Second)
	return &apiError{Status: http.StatusTooManyRequests, Code: "face_throttled", Desc: te.Message(), RetryAfter: te.Wait,
		Extra: map[string]any{"retry_after": secs, "retry_at": te.RetryAt.UTC()}}
}

var errInternal = &apiError{Status: http.StatusInternalServerError, Code: "server_error", Desc: "The sign-in service is temporarily unavailable. Try again later."}

// serviceError maps the face service's errors to the API; ok is false for
// an unexpected error (logged by the caller, answered with 500).
func (f *Factor) serviceError(err error) (*apiError, bool) {
	var ref *face.RefusedError
	switch {
	case errors.Is(err, face.ErrChallengeNotFound):
		return &apiError{Status: http.StatusNotFound, Code: "unknown_challenge", Desc: "This face challenge does not exist. Start the face check again."}, true
	case errors.Is(err, face.ErrChallengeUsed):
		return &apiError{Status: http.StatusConflict, Code: "challenge_used", Desc: "This face challenge was already answered. Start the face check again."}, true
	case errors.Is(err, face.ErrChallengeExpired):
		return &apiError{Status: http.StatusGone, Code: "challenge_expired", Desc: "The time for this face challenge ran out. Start the face check again."}, true
	case errors.Is(err, face.ErrWrongSession):
		return &apiError{Status: http.StatusForbidden, Code: "wrong_session", Desc: "This face challenge belongs to another sign-in."}, true
	case errors.Is(err, face.ErrNotEnrolled):
		return &apiError{Status: http.StatusConflict, Code: "not_enrolled", Desc: "No face is enrolled for this account."}, true
	case errors.Is(err, face.ErrBusy):
		e := &apiError{Status: http.StatusServiceUnavailable, Code: "engine_busy", Desc: "The face check is busy right now.", RetryAfter: f.opts.RetryAfter}
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
		return &apiError{Status: status, Code: ref.Input.Code, Desc: ref.Input.Message}, true
	}
	return errInternal, false
}
