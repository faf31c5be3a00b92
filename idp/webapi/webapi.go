// Package webapi is the JSON error shape the sign-in factors' browser APIs
// (idp/faceweb, idp/passkeyweb) answer with, and the mapping of the login
// flow's refusals to it. Each factor keeps its own codes (face_*,
// passkey_*) and passes its throttle mapping to FlowError.
package webapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/faceidp/faceidp/idp"
)

// Error is an API error: {"error": Code, "error_description": Desc} with
// Status. Codes are stable (docs/face-api.md, the idp/passkeyweb package
// doc).
type Error struct {
	Status int
	Code   string
	Desc   string
	// RetryAfter, when positive, is sent as the Retry-After header in
	// whole seconds, rounded up.
	RetryAfter time.Duration
	// Extra are further members of the JSON body (e.g. the replacement
	// challenge of an engine_busy answer, or retry_after in seconds).
	// "error" and "error_description" are always Code and Desc.
	Extra map[string]any
}

func (e *Error) Error() string { return e.Code + ": " + e.Desc }

// RetrySeconds is d in whole seconds, rounded up: the form of Retry-After
// and of the retry_after body members.
func RetrySeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// WriteJSON writes v with status. The login routes already send nosniff;
// the answer is not to be cached.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Body is the JSON body of e: Extra's members with error and
// error_description. It is a new map the caller may add to.
func (e *Error) Body() map[string]any {
	body := make(map[string]any, len(e.Extra)+2)
	for k, v := range e.Extra {
		body[k] = v
	}
	body["error"], body["error_description"] = e.Code, e.Desc
	return body
}

// WriteError writes e: Retry-After when it has a wait, and e.Body().
func WriteError(w http.ResponseWriter, e *Error) {
	WriteErrorBody(w, e, e.Body())
}

// WriteErrorBody writes e with a body of the caller's (e.Body() with
// members of its own): Retry-After when e has a wait, e.Status and body.
func WriteErrorBody(w http.ResponseWriter, e *Error, body map[string]any) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(RetrySeconds(e.RetryAfter)))
	}
	WriteJSON(w, e.Status, body)
}

// FlowError maps a refusal of the login flow to the API: the flow's own
// sentinels to their codes, an *idp.ThrottledError through throttled (each
// factor names its own codes and members), and any other *idp.FlowError
// to flow_error with its status. It is nil for any other error, which the
// caller logs and answers as an outage.
func FlowError(err error, throttled func(*idp.ThrottledError) *Error) *Error {
	var te *idp.ThrottledError
	if errors.As(err, &te) {
		return throttled(te)
	}
	switch {
	case errors.Is(err, idp.ErrFlowExpired):
		return fromFlow(idp.ErrFlowExpired, "flow_expired")
	case errors.Is(err, idp.ErrFlowOtherBrowser):
		return fromFlow(idp.ErrFlowOtherBrowser, "flow_other_browser")
	case errors.Is(err, idp.ErrFlowWrongStep):
		return fromFlow(idp.ErrFlowWrongStep, "wrong_step")
	case errors.Is(err, idp.ErrFactorNotAllowed):
		return fromFlow(idp.ErrFactorNotAllowed, "factor_not_allowed")
	case errors.Is(err, idp.ErrAccountDisabled):
		return fromFlow(idp.ErrAccountDisabled, "account_disabled")
	case errors.Is(err, idp.ErrStepUpRequired):
		return fromFlow(idp.ErrStepUpRequired, "step_up_required")
	}
	var fe *idp.FlowError
	if errors.As(err, &fe) {
		return fromFlow(fe, "flow_error")
	}
	return nil
}

// fromFlow is the API form of the flow error fe: its status and message.
func fromFlow(fe *idp.FlowError, code string) *Error {
	return &Error{Status: fe.Status, Code: code, Desc: fe.Message}
}
