package idp

// The login flow is a small state machine over models.LoginStep, stored in
// the auth request so any instance can continue it:
//
//	first_factor ──pwd/hwk──▶ second_factor | face_enrol ──factor──▶ consent ──▶ done
//	      │                        (skipped when policy says so)       (skipped)    │
//	      └─ an existing session that satisfies max_age seeds the factors ─────────┘
//
// In face mode optional, face_enrol may be an offer the user declines with
// "Not now" (flow_enrol.go); the flow then goes on with the first factor.
//
// After every completed factor, advance asks factors/policy for the next
// step, stores it and sends the browser there. done issues the session and
// hands the request back to op (/authorize/callback), which issues the code.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
	"github.com/ulule/limiter/v3"
)

var _ FlowControl = (*flowControl)(nil)

// flowControl is the FlowControl handed to second factors.
type flowControl struct{ s *Server }

// loadFlow loads a pending flow that belongs to this browser and is at one
// of steps.
func (s *Server) loadFlow(r *http.Request, id string, steps ...models.LoginStep) (*Flow, error) {
	ctx := r.Context()
	req, err := s.loadAuthRequest(ctx, id)
	if errors.Is(err, storage.ErrUnavailable) {
		return nil, err // 503, not "expired"
	}
	if err != nil || req.Done {
		return nil, ErrFlowExpired
	}
	if !s.browserOwns(r, req) {
		s.audit(ctx, "login.binding", "failure", req.UserID, req.ClientID, "browser binding mismatch", nil)
		return nil, ErrFlowOtherBrowser
	}
	if len(steps) > 0 && !slices.Contains(steps, req.Step) {
		return nil, ErrFlowWrongStep
	}
	return s.flowFor(ctx, req)
}

// flowFor loads the client and user of an auth request.
func (s *Server) flowFor(ctx context.Context, req *models.AuthRequest) (*Flow, error) {
	var err error
	f := &Flow{Request: req}
	if f.Client, err = s.store.GetClient(ctx, req.ClientID); err != nil {
		if errors.Is(err, storage.ErrUnavailable) {
			return nil, err
		}
		return nil, ErrFlowExpired // the client was removed mid-flow
	}
	if req.UserID != "" {
		if f.User, err = s.store.GetUser(ctx, req.UserID); err != nil {
			if errors.Is(err, storage.ErrUnavailable) {
				return nil, err
			}
			return nil, ErrFlowExpired
		}
		if f.User.Disabled {
			return nil, ErrFlowExpired
		}
	}
	return f, nil
}

// decide runs the policy for the flow's current state: the global policy
// with the client's overrides (policy.Resolve), the first factors the
// server serves, the relying app's acr_values and max_age, the user's face
// template, fallbacks and consent, and the methods completed so far.
func (s *Server) decide(ctx context.Context, f *Flow) (policy.Decision, error) {
	pol, err := policy.Resolve(s.opts.Policy, f.Client)
	if err != nil {
		return policy.Decision{}, fmt.Errorf("client policy: %w", err)
	}
	in := pol.Input()
	if in.FirstFactors = s.servedFirstFactors(pol); len(in.FirstFactors) == 0 {
		// The client allows only first factors this server does not serve.
		return policy.Decision{Next: policy.StepUnmet, Unmet: unmetNoFirstFactor}, nil
	}
	in.ClientRequiresFace = f.Client.RequireFace
	in.ACRValues, in.MaxAge = f.Request.ACRValues, f.Request.MaxAge
	in.SessionAuthAge = f.sessionAge
	in.Completed = f.Request.AMR
	if f.User != nil {
		in.UserRequiresFace = f.User.RequireFace
		if face, ok := s.factors[policy.AMRFace]; ok {
			enrolled, err := face.Enrolled(ctx, f.User.ID)
			if err != nil {
				return policy.Decision{}, fmt.Errorf("check %s enrolment: %w", policy.AMRFace, err)
			}
			in.FaceEnrolled = enrolled
			in.OfferEnrolment = offerEnrolment(f)
			if enrolled {
				if in.RecoveryCodes, in.FaceBypass, err = s.fallbacksOf(ctx, f.User.ID); err != nil {
					return policy.Decision{}, err
				}
			}
		} else {
			in.FaceUnavailable = true
		}
		need, err := s.consentNeeded(ctx, f)
		if err != nil {
			return policy.Decision{}, err
		}
		in.ConsentNeeded = need
	} else if _, ok := s.factors[policy.AMRFace]; !ok {
		in.FaceUnavailable = true
	}
	return policy.Next(in), nil
}

func (s *Server) consentNeeded(ctx context.Context, f *Flow) (bool, error) {
	if f.Client.SkipConsent {
		return false, nil
	}
	if slices.Contains(f.Request.Prompt, "consent") {
		return true, nil
	}
	c, err := s.store.GetConsent(ctx, f.User.ID, f.Client.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("load consent: %w", err)
	}
	for _, sc := range f.Request.Scopes {
		if !slices.Contains(c.Scopes, sc) {
			return true, nil
		}
	}
	return false, nil
}

// advance stores the step the policy chose and returns where the browser
// goes next.
func (s *Server) advance(w http.ResponseWriter, r *http.Request, f *Flow, d policy.Decision) (string, error) {
	ctx := r.Context()
	req := f.Request
	id := url.QueryEscape(req.ID)
	switch d.Next {
	case models.StepDone:
		return s.finish(w, r, f, d)
	case models.StepFirstFactor:
		req.Step = d.Next
		if err := s.store.UpdateAuthRequest(ctx, req); err != nil {
			return "", fmt.Errorf("save flow: %w", err)
		}
		return loginURL(s.issuer)(req.ID), nil
	case models.StepSecondFactor, models.StepFaceEnrol:
		if d.Optional && s.enrolPostponed(r, f) {
			// "Not now" chosen in this browser lately: do not ask again.
			f.enrolDeclined = true
			s.audit(ctx, "login."+d.Factor+"_enrol_skipped", "info", req.UserID, req.ClientID, "not now (remembered from an earlier sign-in)", nil)
			d, err := s.decide(ctx, f)
			if err != nil {
				return "", err
			}
			return s.advance(w, r, f, d)
		}
		factor, ok := s.factors[d.Factor]
		if !ok {
			s.audit(ctx, "login."+d.Factor, "failure", req.UserID, req.ClientID, "required factor is not available", nil)
			return "", &FlowError{http.StatusForbidden, "This sign-in needs a verification method (" + d.Factor + ") that this server does not offer. Contact the administrator."}
		}
		req.Step = d.Next
		if err := s.store.UpdateAuthRequest(ctx, req); err != nil {
			return "", fmt.Errorf("save flow: %w", err)
		}
		f.Pending = d.Factor
		return factor.Path(d.Next, req.ID), nil
	case policy.StepUnmet:
		return s.unmet(ctx, f, d)
	case models.StepConsent:
		req.Step = d.Next
		if err := s.store.UpdateAuthRequest(ctx, req); err != nil {
			return "", fmt.Errorf("save flow: %w", err)
		}
		return s.issuer + "/login/consent?authRequestID=" + id, nil
	}
	return "", fmt.Errorf("unknown login step %q", d.Next)
}

// finish records the authentication in the browser session, marks the
// request done and returns op's callback URL, which issues the code.
func (s *Server) finish(w http.ResponseWriter, r *http.Request, f *Flow, d policy.Decision) (string, error) {
	ctx := r.Context()
	req := f.Request
	req.AMR, req.ACR = d.AMR, d.ACR
	if req.AuthTime.IsZero() {
		req.AuthTime = s.clock()
	}
	sess, err := s.establishSession(ctx, w, r, req)
	if err != nil {
		return "", err
	}
	req.SessionID = sess.ID
	req.Step = models.StepDone
	req.Done = true
	if err := s.store.UpdateAuthRequest(ctx, req); err != nil {
		return "", fmt.Errorf("save flow: %w", err)
	}
	s.audit(ctx, "login", "success", req.UserID, req.ClientID, "", map[string]any{"amr": req.AMR, "acr": req.ACR})
	return s.issuer + "/authorize/callback?id=" + url.QueryEscape(req.ID), nil
}

// completeFactor records passed methods (amr values, in order) and
// advances the flow.
func (s *Server) completeFactor(w http.ResponseWriter, r *http.Request, f *Flow, methods ...string) (string, error) {
	req := f.Request
	for _, m := range methods {
		if !slices.Contains(req.AMR, m) {
			req.AMR = append(req.AMR, m)
		}
	}
	req.AuthTime = s.clock()
	if len(methods) > 0 {
		s.metrics.logins.WithLabelValues(methods[0], "success").Inc()
	}
	d, err := s.decide(r.Context(), f)
	if err != nil {
		return "", err
	}
	return s.advance(w, r, f, d)
}

// --- FlowControl ----------------------------------------------------------------

func (fc *flowControl) LoadFactor(r *http.Request, id, amr string) (*Flow, error) {
	f, err := fc.s.loadFlow(r, id, models.StepSecondFactor, models.StepFaceEnrol)
	if err != nil {
		return nil, err
	}
	if f.User == nil {
		return nil, ErrFlowWrongStep
	}
	d, err := fc.s.decide(r.Context(), f)
	if err != nil {
		fc.s.log.ErrorContext(r.Context(), "login policy", "err", err)
		return nil, ErrUnavailable
	}
	// A face enrolment that passed over a stream has saved the template
	// before the sign-in can continue (a WebSocket cannot set the session
	// cookie): the step is still the enrolment while the policy would now
	// verify. Its pass ticket continues it; idp/faceweb refuses anything
	// else on such a step.
	enrolledMeanwhile := f.Request.Step == models.StepFaceEnrol && d.Next == models.StepSecondFactor
	if d.Factor != amr || (d.Next != f.Request.Step && !enrolledMeanwhile) {
		return nil, ErrFlowWrongStep
	}
	f.Pending = amr
	f.EnrolledMeanwhile = enrolledMeanwhile
	f.Optional = d.Optional
	f.Fallbacks = d.Fallbacks
	return f, nil
}

func (fc *flowControl) Complete(w http.ResponseWriter, r *http.Request, f *Flow, amr string) {
	next, err := fc.Advance(w, r, f, amr)
	if err != nil {
		fc.RenderError(w, r, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (fc *flowControl) Advance(w http.ResponseWriter, r *http.Request, f *Flow, amr string) (string, error) {
	if f.Pending != amr {
		return "", ErrFlowWrongStep
	}
	if f.User != nil {
		// A success resets this factor's counter, and only this one's.
		if err := fc.s.throttle.Reset(r.Context(), throttle.Account(f.User.ID, amr)); err != nil {
			fc.s.log.ErrorContext(r.Context(), "reset factor throttle", "factor", amr, "err", err)
		}
	}
	fc.s.audit(r.Context(), "login."+amr, "success", f.Request.UserID, f.Request.ClientID, "", nil)
	return fc.s.completeFactor(w, r, f, amr)
}

func (fc *flowControl) Audit(ctx context.Context, f *Flow, typ, outcome, reason string, details map[string]any) {
	fc.s.audit(ctx, typ, outcome, f.Request.UserID, f.Request.ClientID, reason, details)
}

func (fc *flowControl) Render(w http.ResponseWriter, r *http.Request, page string, data map[string]any) {
	fc.s.render(w, r, http.StatusOK, page, data)
}

func (fc *flowControl) RenderError(w http.ResponseWriter, r *http.Request, err error) {
	fc.s.renderFlowError(w, r, err)
}

func (fc *flowControl) Now() time.Time { return fc.s.clock() }

func (fc *flowControl) RateLimitStore() limiter.Store { return fc.s.rlStore }
