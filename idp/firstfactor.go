package idp

// First factors other than the password plug into the login flow the way
// second factors do: a web surface of their own (the passkey sign-in in
// idp/passkeyweb) mounted under /login/, which completes the first step
// of a sign-in through FirstFactorControl. The provider keeps the state
// machine: which first factors a client's policy allows (the login page
// offers only those), the throttle counters, the audit events of the flow
// and what comes after the first factor.

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/models"
)

// FirstFactor is a first factor served by its own web surface.
//
//  1. Register it: Options.FirstFactors = []FirstFactor{f}. Name() is its
//     policy name (policy.FirstFactorPasskey); the global policy and each
//     client's override say whether it is allowed.
//  2. New calls Mount(mux, ctl) once; register handlers under
//     /login/<name>/ (behind CSRF, like every route under /login/).
//  3. In a handler, ctl.LoadFirstFactor(r, authRequestID, Name()) returns
//     the flow waiting for its first factor, owned by this browser, whose
//     policy allows this factor.
//  4. Reserve the attempt with ctl.BeginFirstFactor before judging it (it
//     counts per source address, and per account once the user is known);
//     then ctl.CompleteFirstFactor on success (it settles the attempt,
//     refuses a disabled account and returns the next step's URL),
//     ctl.Fail on a refusal, attempt.Release when nothing was judged.
type FirstFactor interface {
	Name() string
	Mount(mux *http.ServeMux, ctl FirstFactorControl)
}

// FirstFactorControl is what a first factor may do with a login flow and,
// for its part of the account page, with the signed-in user's account.
type FirstFactorControl interface {
	FlowControl
	AccountControl
	// LoadFirstFactor loads the flow waiting for its first factor that
	// belongs to this browser and whose policy allows first factor name
	// (ErrFactorNotAllowed otherwise).
	LoadFirstFactor(r *http.Request, authRequestID, name string) (*Flow, error)
	// BeginFirstFactor reserves an attempt at throttle factor factor
	// (e.g. throttle.FactorPasskey) from the request's source address and,
	// when userID is not empty, for that account. A refusal is audited and
	// returned as *ThrottledError.
	BeginFirstFactor(ctx context.Context, f *Flow, factor, userID string) (*FactorAttempt, error)
	// CompleteFirstFactor settles att as passed and makes u the flow's user
	// with methods (amr values in order, e.g. policy.PasskeyMethods) as its
	// first factor; it returns the URL of the next step. A disabled account
	// is ErrAccountDisabled (audited with details).
	CompleteFirstFactor(w http.ResponseWriter, r *http.Request, f *Flow, att *FactorAttempt, u *models.User, methods []string, details map[string]any) (string, error)
}

// Errors of the first factor step.
var (
	// ErrFactorNotAllowed: the client's policy does not allow this first
	// factor, or the server does not offer it.
	ErrFactorNotAllowed = &FlowError{http.StatusForbidden, "This application does not accept this sign-in method. Use another one on the sign-in page."}
	// ErrAccountDisabled: the first factor was right, the account is disabled.
	ErrAccountDisabled = &FlowError{http.StatusForbidden, msgDisabled}
)

var _ FirstFactorControl = (*flowControl)(nil)

// loginOffer is what the login page offers a flow: the first factors its
// policy allows that the server serves.
type loginOffer struct {
	Password, Passkey bool
}

func (s *Server) loginOffer(f *Flow) (loginOffer, error) {
	pol, err := policy.Resolve(s.opts.Policy, f.Client)
	if err != nil {
		return loginOffer{}, err
	}
	return loginOffer{
		Password: pol.Allows(policy.FirstFactorPassword),
		Passkey:  pol.Allows(policy.FirstFactorPasskey) && s.firstFactors[policy.FirstFactorPasskey] != nil,
	}, nil
}

// servedFirstFactors narrows the first factors a policy allows to those
// the server serves; empty when none is left.
func (s *Server) servedFirstFactors(pol policy.Policy) []string {
	var out []string
	for _, n := range []string{policy.FirstFactorPassword, policy.FirstFactorPasskey} {
		if pol.Allows(n) && (n == policy.FirstFactorPassword || s.firstFactors[n] != nil) {
			out = append(out, n)
		}
	}
	return out
}

func (fc *flowControl) LoadFirstFactor(r *http.Request, id, name string) (*Flow, error) {
	f, err := fc.s.loadFlow(r, id, models.StepFirstFactor)
	if err != nil {
		return nil, err
	}
	pol, err := policy.Resolve(fc.s.opts.Policy, f.Client)
	if err != nil {
		fc.s.log.ErrorContext(r.Context(), "client policy", "err", err)
		return nil, ErrUnavailable
	}
	if fc.s.firstFactors[name] == nil || !slices.Contains(fc.s.servedFirstFactors(pol), name) {
		return nil, ErrFactorNotAllowed
	}
	return f, nil
}

func (fc *flowControl) BeginFirstFactor(ctx context.Context, f *Flow, factor, userID string) (*FactorAttempt, error) {
	s := fc.s
	keys := []throttle.Key{throttle.Source(stateFrom(ctx).remoteIP, factor)}
	if userID != "" {
		keys = append([]throttle.Key{throttle.Account(userID, factor)}, keys...)
	}
	a, err := s.throttle.Begin(ctx, keys...)
	var refused *throttle.Refused
	if errors.As(err, &refused) {
		s.metrics.logins.WithLabelValues(factor, "throttled").Inc()
		s.auditRefused(ctx, userID, f.Request.ClientID, refused)
		return nil, s.throttledError(factor, refused)
	}
	if err != nil {
		return nil, err
	}
	return &FactorAttempt{a: a, amr: factor, userID: userID}, nil
}

func (fc *flowControl) CompleteFirstFactor(w http.ResponseWriter, r *http.Request, f *Flow, att *FactorAttempt, u *models.User, methods []string, details map[string]any) (string, error) {
	s := fc.s
	ctx := r.Context()
	if len(methods) == 0 || u == nil {
		return "", errors.New("complete first factor: no user or method")
	}
	amr := methods[0]
	if att != nil {
		if err := att.a.Succeed(ctx); err != nil {
			s.log.ErrorContext(ctx, "reset first factor throttle", "factor", att.amr, "err", err)
		}
	}
	if u.Disabled {
		s.metrics.logins.WithLabelValues(amr, "failure").Inc()
		s.audit(ctx, "login."+amr, "failure", u.ID, f.Request.ClientID, "account disabled", details)
		return "", ErrAccountDisabled
	}
	if err := s.rememberDevice(w, r, u.ID); err != nil {
		s.log.ErrorContext(ctx, "set device cookie", "err", err)
	}
	if f.Request.UserID != "" && f.Request.UserID != u.ID {
		f.Request.AMR = nil // factors of another user do not carry over
	}
	f.User, f.Request.UserID = u, u.ID
	s.audit(ctx, "login."+amr, "success", u.ID, f.Request.ClientID, "", details)
	return s.completeFactor(w, r, f, methods...)
}
