package webapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/faceidp/faceidp/idp"
)

func TestWriteErrorMergesExtraAndSetsRetryAfter(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, &Error{Status: http.StatusServiceUnavailable, Code: "engine_busy", Desc: "busy",
		RetryAfter: 1500 * time.Millisecond, Extra: map[string]any{"challenge_id": "c1", "error": "not this"}})
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "2" ||
		rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if len(body) != 3 || body["error"] != "engine_busy" || body["error_description"] != "busy" || body["challenge_id"] != "c1" {
		t.Fatalf("body %v", body)
	}
}

func TestWriteErrorWithoutWaitHasNoRetryAfter(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, &Error{Status: http.StatusBadRequest, Code: "invalid_request", Desc: "x"})
	if rec.Header().Get("Retry-After") != "" || rec.Body.String() != `{"error":"invalid_request","error_description":"x"}`+"\n" {
		t.Fatalf("headers %v, body %s", rec.Header(), rec.Body)
	}
}

func TestRetrySecondsRoundsUp(t *testing.T) {
	for d, want := range map[time.Duration]int{0: 0, time.Millisecond: 1, time.Second: 1, 30 * time.Second: 30, 30*time.Second + 1: 31} {
		if got := RetrySeconds(d); got != want {
			t.Errorf("RetrySeconds(%v) = %d, want %d", d, got, want)
		}
	}
}

func TestFlowError(t *testing.T) {
	throttled := func(te *idp.ThrottledError) *Error {
		return &Error{Status: http.StatusTooManyRequests, Code: "x_throttled", RetryAfter: te.Wait}
	}
	for _, c := range []struct {
		err    error
		status int
		code   string
	}{
		{idp.ErrFlowExpired, http.StatusBadRequest, "flow_expired"},
		{fmt.Errorf("load: %w", idp.ErrFlowOtherBrowser), http.StatusForbidden, "flow_other_browser"},
		{idp.ErrFlowWrongStep, http.StatusConflict, "wrong_step"},
		{idp.ErrFactorNotAllowed, http.StatusForbidden, "factor_not_allowed"},
		{idp.ErrAccountDisabled, http.StatusForbidden, "account_disabled"},
		{idp.ErrStepUpRequired, http.StatusForbidden, "step_up_required"},
		{idp.ErrUnavailable, http.StatusServiceUnavailable, "flow_error"},
		{&idp.FlowError{Status: http.StatusGone, Message: "gone"}, http.StatusGone, "flow_error"},
		{fmt.Errorf("begin: %w", &idp.ThrottledError{Wait: time.Second}), http.StatusTooManyRequests, "x_throttled"},
	} {
		e := FlowError(c.err, throttled)
		if e == nil || e.Status != c.status || e.Code != c.code {
			t.Errorf("FlowError(%v) = %+v, want %d %s", c.err, e, c.status, c.code)
		}
	}
	if e := FlowError(fmt.Errorf("other"), throttled); e != nil {
		t.Errorf("FlowError(other) = %+v, want nil", e)
	}
}
