package idp

// Optional enrolment: in face mode "optional" a user without a template is
// offered enrolment after the first factor (factors/policy). The offer can
// be declined with "Not now", which continues the sign-in with the first
// factor alone, is audited, and is remembered in this browser for
// EnrolPostponeTTL so the user is not asked at every sign-in.

import (
	"net/http"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/faceidp/faceidp/models"
)

// EnrolPostponeTTL is how long a "Not now" is remembered in a browser.
const EnrolPostponeTTL = 30 * 24 * time.Hour

// enrolLaterCookie remembers a "Not now": the user it applies to and until
// when. It is sealed like the session cookie (authenticated and encrypted).
const enrolLaterCookie = "faceidp_enrol_later"

// offerEnrolment reports whether the flow may offer optional enrolment:
// not after the user declined it, not once the flow has moved past the
// factor steps (the offer comes right after the first factor), and not
// when the user cannot interact (prompt=none).
func offerEnrolment(f *Flow) bool {
	switch {
	case f.enrolDeclined:
		return false
	case f.Request.Step == models.StepConsent || f.Request.Step == models.StepDone:
		return false
	case slices.Contains(f.Request.Prompt, oidc.PromptNone):
		return false
	}
	return true
}

func (fc *flowControl) SkipEnrolment(w http.ResponseWriter, r *http.Request, f *Flow, amr string) (string, error) {
	s := fc.s
	ctx := r.Context()
	if f.Pending != amr || !f.Optional || f.User == nil || f.Request.Step != models.StepFaceEnrol {
		return "", ErrFlowWrongStep
	}
	// Decide again rather than trust f: the client or user may have come to
	// require the factor since the page was shown.
	d, err := s.decide(ctx, f)
	if err != nil {
		return "", err
	}
	if !d.Optional || d.Factor != amr || d.Next != models.StepFaceEnrol {
		return "", ErrFlowWrongStep
	}
	f.enrolDeclined = true
	until := s.clock().Add(EnrolPostponeTTL)
	s.audit(ctx, "login."+amr+"_enrol_skipped", "info", f.User.ID, f.Request.ClientID, "not now", map[string]any{"ask_again_after": until.UTC().Format(time.RFC3339)})
	if err := s.rememberEnrolPostponed(w, r, f.User.ID, until); err != nil {
		// Not fatal: the user is just asked again next time.
		s.log.ErrorContext(ctx, "remember enrolment postponed", "err", err)
	}
	if d, err = s.decide(ctx, f); err != nil {
		return "", err
	}
	return s.advance(w, r, f, d)
}

func (s *Server) rememberEnrolPostponed(w http.ResponseWriter, r *http.Request, userID string, until time.Time) error {
	c, _ := s.cookies.Get(r, enrolLaterCookie) // a bad old cookie just gets replaced
	opts := *s.cookies.Options
	opts.MaxAge = int(EnrolPostponeTTL / time.Second)
	c.Options = &opts
	c.Values = map[any]any{"uid": userID, "until": until.Unix()}
	return c.Save(r, w)
}

// enrolPostponed reports whether this browser said "Not now" for the
// flow's user within EnrolPostponeTTL.
func (s *Server) enrolPostponed(r *http.Request, f *Flow) bool {
	if f.User == nil {
		return false
	}
	c, err := s.cookies.Get(r, enrolLaterCookie)
	if err != nil {
		return false
	}
	uid, _ := c.Values["uid"].(string)
	until, _ := c.Values["until"].(int64)
	return uid != "" && uid == f.User.ID && s.clock().Unix() < until
}
