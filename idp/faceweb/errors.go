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
	writeJSON(w, e.Status, map[string]string{"error": e.Code, "error_description": e.Desc})
}

// flowError maps a login flow error to the API.
func flowError(err error) *apiError {
	switch {
	case errors.Is(err, idp.ErrFlowExpired):
		return &apiError{http.StatusBadRequest, "flow_expired", idp.ErrFlowExpired.Message, 0}
	case errors.Is(err, idp.ErrFlowOtherBrowser):
		return &apiError{http.StatusForbidden, "flow_other_browser", idp.ErrFlowOtherBrowser.Message, 0}
	case errors.Is(err, idp.ErrFlowWrongStep):
		return &apiError{http.StatusConflict, "wrong_step", idp.ErrFlowWrongStep.Message, 0}
	case errors.Is(err, idp.ErrLocked):
		return &apiError{http.StatusForbidden, "account_locked", idp.ErrLocked.Message, 0}
	}
	var fe *idp.FlowError
	if errors.As(err, &fe) {
		return &apiError{fe.Status, "flow_error", fe.Message, 0}
	}
	return errInternal
}

var errInternal = &apiError{http.StatusInternalServerError, "server_error", "The sign-in service is temporarily unavailable. Try again later.", 0}

// serviceError maps the face service's errors to the API; ok is false for
// an unexpected error (logged by the caller, answered with 500).
func (f *Factor) serviceError(err error) (*apiError, bool) {
	var ref *face.RefusedError
	switch {
	case errors.Is(err, face.ErrChallengeNotFound):
		return &apiError{http.StatusNotFound, "unknown_challenge", "This face challenge does not exist. Start the face check again.", 0}, true
	case errors.Is(err, face.ErrChallengeUsed):
		return &apiError{http.StatusConflict, "challenge_used", "This face challenge was already answered. Start the face check again.", 0}, true
	case errors.Is(err, face.ErrChallengeExpired):
		return &apiError{http.StatusGone, "challenge_expired", "The time for this face challenge ran out. Start the face check again.", 0}, true
	case errors.Is(err, face.ErrWrongSession):
		return &apiError{http.StatusForbidden, "wrong_session", "This face challenge belongs to another sign-in.", 0}, true
	case errors.Is(err, face.ErrNotEnrolled):
		return &apiError{http.StatusConflict, "not_enrolled", "No face is enrolled for this account.", 0}, true
	case errors.Is(err, face.ErrBusy):
		return &apiError{http.StatusServiceUnavailable, "engine_busy", "The face check is busy right now.", f.opts.RetryAfter}, true
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
		return &apiError{status, ref.Input.Code, ref.Input.Message, 0}, true
	}
	return errInternal, false
}
