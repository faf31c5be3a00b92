package idp

// The provider's side of per-factor throttling (factors/throttle): which
// counters a password attempt or a second-factor attempt counts in, the
// audit events and metrics of every throttle decision, and what the person
// at the keyboard is told.

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/models"
)

// ThrottledError is an attempt the per-factor throttle refuses, or a
// failure after which the user must wait or can no longer use the factor.
// errors.As finds it in what FlowControl returns.
type ThrottledError struct {
	// Factor is the amr value of the throttled factor.
	Factor string
	// Disabled: the factor is disabled for this user until an
	// administrator re-enables it (faceidp user enable-face or reset-face
	// for face).
	Disabled bool
	// RetryAt is when the next attempt may be made (zero when Disabled);
	// Wait is how long that is from now.
	RetryAt time.Time
	Wait    time.Duration
	// CancelURL, when set, is the way back to the application.
	CancelURL string
}

func (e *ThrottledError) Error() string { return e.Message() }

// Message is what the user is told.
func (e *ThrottledError) Message() string {
	switch {
	case e.Disabled && e.Factor == policy.AMRFace:
		return "Face sign-in is turned off for your account after too many failed face checks."
	case e.Disabled:
		return "This sign-in method is turned off for your account after too many failed attempts."
	case e.Factor == policy.AMRFace:
		return "Too many failed face checks. Try again in " + throttle.FormatWait(e.Wait) + "."
	default:
		return "Too many sign-in attempts. Try again in " + throttle.FormatWait(e.Wait) + "."
	}
}

// Fallback tells a user whose factor is disabled what they can do.
func (e *ThrottledError) Fallback() string {
	if !e.Disabled {
		return ""
	}
	if e.Factor == policy.AMRFace {
		return "Ask your administrator to turn face sign-in back on for your account, or to reset your face so that you can enrol it again after your password."
	}
	return "Ask your administrator to turn it back on for your account."
}

func (s *Server) throttledError(factor string, r *throttle.Refused) *ThrottledError {
	te := &ThrottledError{Factor: factor, Disabled: r.Disabled}
	if !r.Disabled {
		te.RetryAt, te.Wait = r.RetryAt, r.Wait(s.clock())
	}
	return te
}

// counterName is how audit events and metrics name a counter's kind.
func counterName(kind string) string {
	switch kind {
	case throttle.KindAccount:
		return "account"
	case throttle.KindDevice:
		return "device"
	case throttle.KindLogin:
		return "account" // an unknown login name is indistinguishable from an account, on purpose
	case throttle.KindSource:
		return "source"
	}
	return kind
}

// auditRefused records an attempt the throttle refused.
func (s *Server) auditRefused(ctx context.Context, userID, clientID string, r *throttle.Refused) {
	outcome, details := "refused", map[string]any{"counter": counterName(r.Key.Kind), "failures": r.Failures}
	if r.Disabled {
		details["disabled"] = true
	} else {
		details["retry_after_s"] = int(r.Wait(s.clock()).Round(time.Second) / time.Second)
		details["in_flight"] = r.InFlight
	}
	s.metrics.throttle.WithLabelValues(r.Key.Factor, counterName(r.Key.Kind), outcome).Inc()
	s.audit(ctx, "throttle."+r.Key.Factor, outcome, userID, clientID, "attempt refused", details)
}

// auditFailures records the failures that started (or lengthened) a wait
// or disabled a factor, and returns the one to tell the user about: the
// longest wait, or a disabled factor.
func (s *Server) auditFailures(ctx context.Context, userID, clientID string, results []throttle.Result) *ThrottledError {
	var worst *ThrottledError
	for _, res := range results {
		var outcome string
		switch {
		case res.Disabled:
			outcome = "disabled"
		case res.Wait > 0:
			outcome = "engaged"
		default:
			continue
		}
		details := map[string]any{"counter": counterName(res.Key.Kind), "failures": res.Failures}
		if res.Wait > 0 {
			details["wait_s"] = int(res.Wait / time.Second)
		}
		s.metrics.throttle.WithLabelValues(res.Key.Factor, counterName(res.Key.Kind), outcome).Inc()
		s.audit(ctx, "throttle."+res.Key.Factor, outcome, userID, clientID,
			map[bool]string{true: "factor disabled after consecutive failures", false: "consecutive failures: next attempt waits"}[res.Disabled], details)
		te := &ThrottledError{Factor: res.Key.Factor, Disabled: res.Disabled, RetryAt: res.RetryAt, Wait: res.Wait}
		if worst == nil || te.Disabled || (!worst.Disabled && te.Wait > worst.Wait) {
			worst = te
		}
	}
	return worst
}

// loginNameKey is the keyed hash naming the counter of a login name that
// names no account.
func (s *Server) loginNameKey(login string) string {
	return hashWithKey(s.loginKey, strings.ToLower(strings.TrimSpace(login)))
}

// passwordCounters are the counters a password attempt for login counts
// in: a browser holding this user's device cookie only in its own; any
// other in the account's (or, for a name that is no account, the name's,
// which behaves the same) and the source address's.
func (s *Server) passwordCounters(r *http.Request, login string, u *models.User) (keys []throttle.Key, device string) {
	if u != nil {
		if device = s.knownDevice(r, u.ID); device != "" {
			return []throttle.Key{throttle.Device(device, u.ID, throttle.FactorPassword)}, device
		}
		keys = append(keys, throttle.Account(u.ID, throttle.FactorPassword))
	} else {
		keys = append(keys, throttle.Login(s.loginNameKey(login), throttle.FactorPassword))
	}
	return append(keys, throttle.Source(stateFrom(r.Context()).remoteIP, throttle.FactorPassword)), ""
}

// beginPassword reserves a password attempt; a refusal is audited and
// returned as *ThrottledError.
func (s *Server) beginPassword(r *http.Request, login string, u *models.User, clientID string) (*throttle.Attempt, string, error) {
	keys, device := s.passwordCounters(r, login, u)
	a, err := s.throttle.Begin(r.Context(), keys...)
	var refused *throttle.Refused
	if errors.As(err, &refused) {
		var uid string
		if u != nil {
			uid = u.ID
		}
		s.auditRefused(r.Context(), uid, clientID, refused)
		return nil, device, s.throttledError(policy.AMRPassword, refused)
	}
	return a, device, err
}

// --- second factors -------------------------------------------------------------

// FactorAttempt is an attempt at a second factor reserved with
// FlowControl.BeginAttempt.
type FactorAttempt struct {
	a   *throttle.Attempt
	amr string
	// userID is whom a first factor's attempt counts for ("" until the
	// user is known); a second factor's is the flow's user.
	userID string
}

// Release ends the attempt without counting it (the input could not be
// judged, e.g. no face in the frames, or the server failed).
func (fa *FactorAttempt) Release(ctx context.Context) error {
	if fa == nil {
		return nil
	}
	return fa.a.Release(ctx)
}

func (fc *flowControl) BeginAttempt(ctx context.Context, f *Flow, amr string) (*FactorAttempt, error) {
	s := fc.s
	if f.User == nil {
		return nil, ErrFlowWrongStep
	}
	a, err := s.throttle.Begin(ctx, throttle.Account(f.User.ID, amr))
	var refused *throttle.Refused
	if errors.As(err, &refused) {
		s.auditRefused(ctx, f.User.ID, f.Request.ClientID, refused)
		return nil, s.throttledError(amr, refused)
	}
	if err != nil {
		return nil, err
	}
	return &FactorAttempt{a: a, amr: amr}, nil
}

func (fc *flowControl) Throttle() *throttle.Limiter { return fc.s.throttle }

func (fc *flowControl) CheckAttempt(ctx context.Context, f *Flow, amr string) error {
	s := fc.s
	if f.User == nil {
		return ErrFlowWrongStep
	}
	err := s.throttle.Check(ctx, throttle.Account(f.User.ID, amr))
	var refused *throttle.Refused
	if errors.As(err, &refused) {
		s.auditRefused(ctx, f.User.ID, f.Request.ClientID, refused)
		return s.throttledError(amr, refused)
	}
	return err
}

func (fc *flowControl) Fail(ctx context.Context, f *Flow, fa *FactorAttempt, reason string, details map[string]any) error {
	s := fc.s
	amr := f.Pending
	if fa != nil {
		amr = fa.amr
	}
	s.metrics.logins.WithLabelValues(amr, "failure").Inc()
	var userID string
	switch {
	case f.User != nil:
		userID = f.User.ID
	case fa != nil:
		userID = fa.userID
	}
	s.audit(ctx, "login."+amr, "failure", userID, f.Request.ClientID, reason, details)
	if fa == nil {
		return nil
	}
	results, err := fa.a.Fail(ctx)
	if te := s.auditFailures(ctx, userID, f.Request.ClientID, results); te != nil {
		return te
	}
	return err
}

// retryAfterSeconds is a Retry-After header value for wait, rounded up.
func retryAfterSeconds(wait time.Duration) string {
	return strconv.Itoa(int((max(wait, time.Second) + time.Second - 1) / time.Second))
}
