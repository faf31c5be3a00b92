package passkeyweb

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/faceidp/faceidp/factors/passkey"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/idp/webapi"
)

var (
	errUnavailable  = &webapi.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Desc: "The sign-in service is temporarily unavailable. Try again later."}
	errBadJSON      = &webapi.Error{Status: http.StatusBadRequest, Code: "invalid_request", Desc: "The request could not be read."}
	errNotSignedIn  = &webapi.Error{Status: http.StatusUnauthorized, Code: "not_signed_in", Desc: "Sign in first."}
	errReauth       = &webapi.Error{Status: http.StatusForbidden, Code: "reauth_required", Desc: "Confirm it is you on the account page first (your password or a passkey)."}
	errRefused      = &webapi.Error{Status: http.StatusUnauthorized, Code: "passkey_refused", Desc: "This passkey was not accepted. Try another passkey or another way to sign in."}
	errCloneRefused = &webapi.Error{Status: http.StatusUnauthorized, Code: "passkey_refused", Desc: "This passkey was refused because its signature counter went backwards, which can mean it was copied. Sign in another way and tell your administrator."}
)

// writeError writes e; the passkey API names a wait in the body as well
// (retry_after, in seconds), not only in the Retry-After header.
func writeError(w http.ResponseWriter, e *webapi.Error) {
	body := e.Body()
	if e.RetryAfter > 0 {
		body["retry_after"] = webapi.RetrySeconds(e.RetryAfter)
	}
	webapi.WriteErrorBody(w, e, body)
}

// readJSON decodes a request body into v; extra or unknown members are
// ignored, a body that is not JSON is errBadJSON.
func readJSON(r *http.Request, v any) *webapi.Error {
	if r.Body == nil {
		return errBadJSON
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, passkey.MaxResponseBytes+4096))
	if err != nil || len(b) > passkey.MaxResponseBytes+4095 {
		return &webapi.Error{Status: http.StatusRequestEntityTooLarge, Code: "request_too_large", Desc: "The request is too large."}
	}
	if len(b) == 0 {
		b = []byte("{}")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errBadJSON
	}
	return nil
}

// flowError maps a login flow error; nil for anything else and for an
// outage of the flow (a FlowError of status 500 or more), which the caller
// logs and answers errUnavailable.
func flowError(err error) *webapi.Error {
	e := webapi.FlowError(err, throttled)
	if e == nil || e.Status >= http.StatusInternalServerError {
		return nil
	}
	return e
}

// throttled is 429 passkey_throttled with the wait.
func throttled(te *idp.ThrottledError) *webapi.Error {
	if te.Disabled {
		return &webapi.Error{Status: http.StatusForbidden, Code: "passkey_disabled", Desc: te.Message() + " " + te.Fallback()}
	}
	return &webapi.Error{Status: http.StatusTooManyRequests, Code: "passkey_throttled", Desc: te.Message(), RetryAfter: te.Wait}
}

// ceremonyError maps the passkey service's refusals that are not about the
// credential (nil for anything else).
func ceremonyError(err error) *webapi.Error {
	switch {
	case errors.Is(err, passkey.ErrCeremonyNotFound):
		return &webapi.Error{Status: http.StatusNotFound, Code: "unknown_ceremony", Desc: "This passkey request is unknown. Start again."}
	case errors.Is(err, passkey.ErrCeremonyUsed):
		return &webapi.Error{Status: http.StatusConflict, Code: "ceremony_used", Desc: "This passkey request was answered already. Start again."}
	case errors.Is(err, passkey.ErrCeremonyExpired):
		return &webapi.Error{Status: http.StatusGone, Code: "ceremony_expired", Desc: "The time for this passkey request ran out. Start again."}
	case errors.Is(err, passkey.ErrWrongBinding):
		return &webapi.Error{Status: http.StatusForbidden, Code: "wrong_session", Desc: "This passkey request belongs to another sign-in or browser."}
	case errors.Is(err, passkey.ErrMalformedResponse):
		return &webapi.Error{Status: http.StatusBadRequest, Code: "invalid_request", Desc: "The authenticator's answer could not be read."}
	case errors.Is(err, passkey.ErrTooManyPasskeys):
		return &webapi.Error{Status: http.StatusConflict, Code: "too_many_passkeys", Desc: "You have the most passkeys an account may have. Remove one first."}
	case errors.Is(err, passkey.ErrAlreadyRegistered):
		return &webapi.Error{Status: http.StatusConflict, Code: "already_registered", Desc: "This passkey is registered already."}
	case errors.Is(err, passkey.ErrInvalidName):
		return &webapi.Error{Status: http.StatusBadRequest, Code: "invalid_name", Desc: "A passkey's name must be at most 64 characters without control characters."}
	case errors.Is(err, passkey.ErrNotFound):
		return &webapi.Error{Status: http.StatusNotFound, Code: "not_found", Desc: "There is no such passkey on your account."}
	}
	return nil
}

// judged reports whether a sign-in refusal was a decision about the
// credential (counted in the throttle) rather than about the request.
func judged(err error) bool {
	return errors.Is(err, passkey.ErrUnknownCredential) || errors.Is(err, passkey.ErrVerification) || errors.Is(err, passkey.ErrCounterRegressed)
}
