package passkeyweb

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/faceidp/faceidp/factors/passkey"
	"github.com/faceidp/faceidp/idp"
)

// apiError is {"error": Code, "error_description": Desc} with Status.
type apiError struct {
	Status     int
	Code       string
	Desc       string
	RetryAfter time.Duration
	// Next, when set, is where the browser goes instead (the sign-in ended
	// at the client, e.g. unmet_authentication_requirements).
	Next string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Desc }

var (
	errUnavailable  = &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Desc: "The sign-in service is temporarily unavailable. Try again later."}
	errBadJSON      = &apiError{Status: http.StatusBadRequest, Code: "invalid_request", Desc: "The request could not be read."}
	errNotSignedIn  = &apiError{Status: http.StatusUnauthorized, Code: "not_signed_in", Desc: "Sign in first."}
	errReauth       = &apiError{Status: http.StatusForbidden, Code: "reauth_required", Desc: "Confirm it is you on the account page first (your password or a passkey)."}
	errRefused      = &apiError{Status: http.StatusUnauthorized, Code: "passkey_refused", Desc: "This passkey was not accepted. Try another passkey or another way to sign in."}
	errCloneRefused = &apiError{Status: http.StatusUnauthorized, Code: "passkey_refused", Desc: "This passkey was refused because its signature counter went backwards, which can mean it was copied. Sign in another way and tell your administrator."}
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(e.RetryAfter)))
	}
	body := map[string]any{"error": e.Code, "error_description": e.Desc}
	if e.RetryAfter > 0 {
		body["retry_after"] = retrySeconds(e.RetryAfter)
	}
	if e.Next != "" {
		body["next"] = e.Next
	}
	writeJSON(w, e.Status, body)
}

func retrySeconds(d time.Duration) int {
	return int((max(d, time.Second) + time.Second - 1) / time.Second)
}

// readJSON decodes a request body into v; extra or unknown members are
// ignored, a body that is not JSON is errBadJSON.
func readJSON(r *http.Request, v any) *apiError {
	if r.Body == nil {
		return errBadJSON
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, passkey.MaxResponseBytes+4096))
	if err != nil || len(b) > passkey.MaxResponseBytes+4095 {
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "request_too_large", Desc: "The request is too large."}
	}
	if len(b) == 0 {
		b = []byte("{}")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errBadJSON
	}
	return nil
}

// flowError maps a login flow error.
func flowError(err error) *apiError {
	var te *idp.ThrottledError
	if errors.As(err, &te) {
		return throttled(te)
	}
	switch {
	case errors.Is(err, idp.ErrFlowExpired):
		return &apiError{Status: http.StatusBadRequest, Code: "flow_expired", Desc: idp.ErrFlowExpired.Message}
	case errors.Is(err, idp.ErrFlowOtherBrowser):
		return &apiError{Status: http.StatusForbidden, Code: "flow_other_browser", Desc: idp.ErrFlowOtherBrowser.Message}
	case errors.Is(err, idp.ErrFlowWrongStep):
		return &apiError{Status: http.StatusConflict, Code: "wrong_step", Desc: idp.ErrFlowWrongStep.Message}
	case errors.Is(err, idp.ErrFactorNotAllowed):
		return &apiError{Status: http.StatusForbidden, Code: "factor_not_allowed", Desc: idp.ErrFactorNotAllowed.Message}
	case errors.Is(err, idp.ErrAccountDisabled):
		return &apiError{Status: http.StatusForbidden, Code: "account_disabled", Desc: idp.ErrAccountDisabled.Message}
	case errors.Is(err, idp.ErrStepUpRequired):
		return &apiError{Status: http.StatusForbidden, Code: "step_up_required", Desc: idp.ErrStepUpRequired.Message}
	}
	var fe *idp.FlowError
	if errors.As(err, &fe) && fe.Status < 500 {
		return &apiError{Status: fe.Status, Code: "flow_error", Desc: fe.Message}
	}
	return nil
}

// throttled is 429 passkey_throttled with the wait.
func throttled(te *idp.ThrottledError) *apiError {
	if te.Disabled {
		return &apiError{Status: http.StatusForbidden, Code: "passkey_disabled", Desc: te.Message() + " " + te.Fallback()}
	}
	return &apiError{Status: http.StatusTooManyRequests, Code: "passkey_throttled", Desc: te.Message(), RetryAfter: te.Wait}
}

// ceremonyError maps the passkey service's refusals that are not about the
// credential (nil for anything else).
func ceremonyError(err error) *apiError {
	switch {
	case errors.Is(err, passkey.ErrCeremonyNotFound):
		return &apiError{Status: http.StatusNotFound, Code: "unknown_ceremony", Desc: "This passkey request is unknown. Start again."}
	case errors.Is(err, passkey.ErrCeremonyUsed):
		return &apiError{Status: http.StatusConflict, Code: "ceremony_used", Desc: "This passkey request was answered already. Start again."}
	case errors.Is(err, passkey.ErrCeremonyExpired):
		return &apiError{Status: http.StatusGone, Code: "ceremony_expired", Desc: "The time for this passkey request ran out. Start again."}
	case errors.Is(err, passkey.ErrWrongBinding):
		return &apiError{Status: http.StatusForbidden, Code: "wrong_session", Desc: "This passkey request belongs to another sign-in or browser."}
	case errors.Is(err, passkey.ErrMalformedResponse):
		return &apiError{Status: http.StatusBadRequest, Code: "invalid_request", Desc: "The authenticator's answer could not be read."}
	case errors.Is(err, passkey.ErrTooManyPasskeys):
		return &apiError{Status: http.StatusConflict, Code: "too_many_passkeys", Desc: "You have the most passkeys an account may have. Remove one first."}
	case errors.Is(err, passkey.ErrAlreadyRegistered):
		return &apiError{Status: http.StatusConflict, Code: "already_registered", Desc: "This passkey is registered already."}
	case errors.Is(err, passkey.ErrInvalidName):
		return &apiError{Status: http.StatusBadRequest, Code: "invalid_name", Desc: "A passkey's name must be at most 64 characters without control characters."}
	case errors.Is(err, passkey.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Desc: "There is no such passkey on your account."}
	}
	return nil
}

// judged reports whether a sign-in refusal was a decision about the
// credential (counted in the throttle) rather than about the request.
func judged(err error) bool {
	return errors.Is(err, passkey.ErrUnknownCredential) || errors.Is(err, passkey.ErrVerification) || errors.Is(err, passkey.ErrCounterRegressed)
}
