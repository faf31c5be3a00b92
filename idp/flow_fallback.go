package idp

// Fallbacks for a user who cannot pass the face step (factors/recovery):
// one of the user's recovery codes, or a face bypass an administrator
// granted. After the first factor, where the policy asks to verify the
// face, the face page links here (when the camera cannot be used, after
// failures, or when face is disabled for the user); this page offers the
// fallbacks factors/policy lists for the user (Decision.Fallbacks) and
// nothing else. A used fallback stands in for the face step once: the
// policy then makes the same sign-in enrol the face again
// (models.StepFaceEnrol, not skippable).
//
//	GET  /login/fallback?authRequestID=ID         what the user may use
//	POST /login/fallback/recovery-code            form: authRequestID, code
//	POST /login/fallback/bypass                   form: authRequestID
//
// A wrong recovery code counts in the user's "recovery" throttle counter
// (the password's policy unless Options.Throttle names one); every use is
// audited by factors/recovery (recovery.use, face_bypass.use) and by the
// flow (login.otp, login.face_bypass).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/faceidp/faceidp/factors/auditlog"
	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/factors/recovery"
	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/models"
)

// FallbackPath is the page offering the fallbacks of a sign-in waiting for
// the face step.
func FallbackPath(authRequestID string) string {
	return "/login/fallback?authRequestID=" + url.QueryEscape(authRequestID)
}

func (s *Server) mountFallbacks(mux *http.ServeMux) {
	mux.HandleFunc("GET /login/fallback", s.fallbackPage)
	mux.HandleFunc("POST /login/fallback/recovery-code", s.fallbackRecoveryCode)
	mux.HandleFunc("POST /login/fallback/bypass", s.fallbackBypass)
}

// fallbacksOf reports the user's usable recovery codes and whether an
// administrator's bypass is waiting.
func (s *Server) fallbacksOf(ctx context.Context, userID string) (codes int, bypass bool, err error) {
	if s.opts.Recovery == nil {
		return 0, false, nil
	}
	st, err := s.opts.Recovery.Remaining(ctx, userID)
	if err != nil {
		return 0, false, err
	}
	_, err = s.opts.Recovery.ActiveBypass(ctx, userID)
	switch {
	case errors.Is(err, recovery.ErrNoBypass):
		return st.Remaining, false, nil
	case err != nil:
		return 0, false, err
	}
	return st.Remaining, true, nil
}

// loadFallbackFlow loads a sign-in waiting for face verification.
func (s *Server) loadFallbackFlow(r *http.Request, id string) (*Flow, policy.Decision, error) {
	f, err := s.loadFlow(r, id, models.StepSecondFactor)
	if err != nil {
		return nil, policy.Decision{}, err
	}
	if f.User == nil {
		return nil, policy.Decision{}, ErrFlowWrongStep
	}
	d, err := s.decide(r.Context(), f)
	if err != nil {
		s.log.ErrorContext(r.Context(), "login policy", "err", err)
		return nil, policy.Decision{}, ErrUnavailable
	}
	if d.Next != models.StepSecondFactor || d.Factor != policy.AMRFace {
		return nil, policy.Decision{}, ErrFlowWrongStep
	}
	return f, d, nil
}

// fallbackView is the data of templates/fallback.html.
type fallbackView struct {
	status int
	Error  string
	Codes  int
	Bypass *models.FaceBypass
	FacePath, CancelPath,
	AuthRequestID, ClientName string
	// Done is set after a fallback was used: what happened and where to go on.
	Done, NextURL string
}

func (s *Server) renderFallback(w http.ResponseWriter, r *http.Request, f *Flow, d policy.Decision, v fallbackView) {
	ctx := r.Context()
	v.AuthRequestID, v.ClientName, v.CancelPath = f.Request.ID, clientName(f.Client), CancelPath(f.Request.ID)
	if face, ok := s.factors[policy.AMRFace]; ok {
		v.FacePath = face.Path(models.StepSecondFactor, f.Request.ID)
	}
	if v.Done == "" && s.opts.Recovery != nil {
		if slices.Contains(d.Fallbacks, policy.AMRRecoveryCode) {
			st, err := s.opts.Recovery.Remaining(ctx, f.User.ID)
			if err != nil {
				s.log.ErrorContext(ctx, "recovery codes left", "err", err)
				s.renderFlowError(w, r, ErrUnavailable)
				return
			}
			v.Codes = st.Remaining
		}
		if slices.Contains(d.Fallbacks, policy.MethodFaceBypass) {
			b, err := s.opts.Recovery.ActiveBypass(ctx, f.User.ID)
			if err != nil && !errors.Is(err, recovery.ErrNoBypass) {
				s.log.ErrorContext(ctx, "face bypass", "err", err)
				s.renderFlowError(w, r, ErrUnavailable)
				return
			}
			v.Bypass = b
		}
	}
	status := v.status
	if status == 0 {
		status = http.StatusOK
	}
	s.render(w, r, status, "fallback", map[string]any{"V": v})
}

func (s *Server) fallbackPage(w http.ResponseWriter, r *http.Request) {
	f, d, err := s.loadFallbackFlow(r, r.URL.Query().Get("authRequestID"))
	if err != nil {
		s.renderFlowError(w, r, err)
		return
	}
	s.renderFallback(w, r, f, d, fallbackView{})
}

// postedFallbackFlow reads a fallback form and loads its sign-in; it
// shows the error itself when it cannot.
func (s *Server) postedFallbackFlow(w http.ResponseWriter, r *http.Request) (*Flow, policy.Decision, bool) {
	if err := r.ParseForm(); err != nil {
		s.renderFlowError(w, r, &FlowError{http.StatusBadRequest, "The form could not be read."})
		return nil, policy.Decision{}, false
	}
	f, d, err := s.loadFallbackFlow(r, r.PostForm.Get("authRequestID"))
	if err != nil {
		s.renderFlowError(w, r, err)
		return nil, policy.Decision{}, false
	}
	return f, d, true
}

// fallbackContext carries who asks into the recovery service's audit events.
func fallbackContext(r *http.Request, f *Flow) context.Context {
	return auditlog.WithCaller(r.Context(), auditlog.Caller{ClientID: f.Request.ClientID, RemoteIP: RemoteIP(r.Context())})
}

func (s *Server) fallbackRecoveryCode(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f, d, ok := s.postedFallbackFlow(w, r)
	if !ok {
		return
	}
	if s.opts.Recovery == nil || !slices.Contains(d.Fallbacks, policy.AMRRecoveryCode) {
		s.audit(ctx, "login."+policy.AMRRecoveryCode, "failure", f.User.ID, f.Client.ID, "no recovery codes to use", nil)
		s.renderFallback(w, r, f, d, fallbackView{status: http.StatusForbidden, Error: "You have no recovery codes you can use for this sign-in."})
		return
	}
	code := r.PostForm.Get("code")
	if code == "" {
		s.renderFallback(w, r, f, d, fallbackView{status: http.StatusBadRequest, Error: "Enter one of your recovery codes."})
		return
	}
	att, err := s.throttle.Begin(ctx, throttle.Account(f.User.ID, throttle.FactorRecovery))
	var refused *throttle.Refused
	if errors.As(err, &refused) {
		s.auditRefused(ctx, f.User.ID, f.Client.ID, refused)
		te := s.throttledError(throttle.FactorRecovery, refused)
		w.Header().Set("Retry-After", retryAfterSeconds(te.Wait))
		s.renderFallback(w, r, f, d, fallbackView{status: http.StatusTooManyRequests, Error: te.Message()})
		return
	}
	if err != nil {
		s.log.ErrorContext(ctx, "recovery code throttle", "err", err)
		s.renderFlowError(w, r, ErrUnavailable)
		return
	}
	defer func() { _ = att.Release(context.WithoutCancel(ctx)) }()
	left, err := s.opts.Recovery.Consume(fallbackContext(r, f), f.User.ID, code)
	if errors.Is(err, recovery.ErrInvalidCode) {
		s.metrics.logins.WithLabelValues(policy.AMRRecoveryCode, "failure").Inc()
		s.audit(ctx, "login."+policy.AMRRecoveryCode, "failure", f.User.ID, f.Client.ID, "invalid recovery code", nil)
		results, err := att.Fail(ctx)
		if err != nil {
			s.log.ErrorContext(ctx, "count failed recovery code", "err", err)
		}
		msg := "That recovery code is not valid: it is mistyped, was used before, or belongs to a set you replaced."
		if te := s.auditFailures(ctx, f.User.ID, f.Client.ID, results); te != nil {
			msg += " " + te.Message()
			w.Header().Set("Retry-After", retryAfterSeconds(te.Wait))
		}
		s.renderFallback(w, r, f, d, fallbackView{status: http.StatusUnauthorized, Error: msg})
		return
	}
	if err != nil {
		s.log.ErrorContext(ctx, "use recovery code", "err", err)
		s.renderFlowError(w, r, ErrUnavailable)
		return
	}
	if err := att.Succeed(ctx); err != nil {
		s.log.ErrorContext(ctx, "reset recovery throttle", "err", err)
	}
	s.audit(ctx, "login."+policy.AMRRecoveryCode, "success", f.User.ID, f.Client.ID, "", map[string]any{"remaining": left})
	next, err := s.completeFactor(w, r, f, policy.AMRRecoveryCode)
	if err != nil {
		s.renderFlowError(w, r, err)
		return
	}
	done := fmt.Sprintf("Recovery code accepted. You have %d recovery codes left.", left)
	switch left {
	case 0:
		done = "Recovery code accepted. That was your last one: generate new codes on your account page."
	case 1:
		done = "Recovery code accepted. You have 1 recovery code left."
	}
	s.renderFallback(w, r, f, d, fallbackView{Done: done + " Next, set up face sign-in again with your camera: it replaces the face you enrolled before.", NextURL: next})
}

func (s *Server) fallbackBypass(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f, d, ok := s.postedFallbackFlow(w, r)
	if !ok {
		return
	}
	refuse := func(reason string) {
		s.metrics.logins.WithLabelValues(policy.MethodFaceBypass, "failure").Inc()
		s.audit(ctx, "login."+policy.MethodFaceBypass, "failure", f.User.ID, f.Client.ID, reason, nil)
		s.renderFallback(w, r, f, d, fallbackView{status: http.StatusForbidden, Error: "There is no face bypass you can use: it expired, was used or was withdrawn. Ask your administrator for a new one."})
	}
	if s.opts.Recovery == nil || !slices.Contains(d.Fallbacks, policy.MethodFaceBypass) {
		refuse("no usable face bypass")
		return
	}
	b, err := s.opts.Recovery.ConsumeBypass(fallbackContext(r, f), f.User.ID)
	if errors.Is(err, recovery.ErrNoBypass) {
		refuse("face bypass used or expired meanwhile")
		return
	}
	if err != nil {
		s.log.ErrorContext(ctx, "use face bypass", "err", err)
		s.renderFlowError(w, r, ErrUnavailable)
		return
	}
	s.audit(ctx, "login."+policy.MethodFaceBypass, "success", f.User.ID, f.Client.ID, "",
		map[string]any{"bypass": b.ID, "granted_by": b.GrantedBy, "granted_at": b.CreatedAt.UTC().Format(time.RFC3339)})
	next, err := s.completeFactor(w, r, f, policy.MethodFaceBypass)
	if err != nil {
		s.renderFlowError(w, r, err)
		return
	}
	s.renderFallback(w, r, f, d, fallbackView{Done: "The face check was skipped with the bypass your administrator granted; it cannot be used again. Next, set up face sign-in again with your camera.", NextURL: next})
}
