package idp

import (
	"context"
	"net/http"
	"time"

	"github.com/ulule/limiter/v3"

	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/models"
)

// Second factors plug into the login flow without changing it.
//
// How the hook works
//
//  1. Register the factor: Options.SecondFactors = []SecondFactor{myFactor}.
//     AMR() is its RFC 8176 value ("face"); it is what the flow records in
//     the auth request's AMR and, once all factors are done, in the ID
//     token's amr claim (plus "mfa" when two or more factors were used).
//  2. New calls Mount(mux, flow) once. Register your handlers on mux under
//     "/login/<amr>/" with method patterns, e.g.
//     mux.HandleFunc("GET /login/face/", ...) and
//     mux.HandleFunc("POST /login/face/verify", ...). Everything under
//     /login/ is behind gorilla/csrf: every POST (including fetch/XHR) must
//     carry the token from csrf.Token(r) in the "csrf_token" form field or
//     the "X-CSRF-Token" header. Request bodies are capped at
//     Options.MaxBodyBytes unless the factor implements BodyLimiter.
//  3. After each factor, factors/policy decides the next step. When it asks
//     for your factor, the browser is redirected to
//     Path(models.StepSecondFactor, authRequestID) (verify) or
//     Path(models.StepFaceEnrol, authRequestID) (enrol during sign-in).
//     Enrolled(ctx, userID) tells the policy whether the user can verify.
//  4. In your handlers call flow.LoadFactor(r, authRequestID, AMR()): it
//     checks the request exists, has not expired, belongs to this browser
//     (browser binding) and is waiting for your factor; it returns the
//     user and client. On an error show it with flow.RenderError(w, r, err).
//  5. On success call flow.Complete(w, r, f, AMR()): it records the factor,
//     runs the policy again and redirects the browser to whatever comes
//     next (another factor, consent, or back to the client). For an XHR
//     endpoint use flow.Advance(w, r, f, AMR()) instead, which returns the
//     URL to navigate to rather than redirecting.
//     When the flow only offers enrolment (face mode optional and nothing
//     requires face: f.Optional), show a "Not now" button that POSTs to
//     your handler, which calls flow.SkipEnrolment(w, r, f, AMR()): the
//     sign-in continues without the factor, and this browser is not asked
//     again for EnrolPostponeTTL.
//  6. Attempts are throttled per user and per factor (factors/throttle;
//     the policy of your amr in Options.Throttle). Before judging an
//     attempt call flow.BeginAttempt(ctx, f, AMR()): it reserves the
//     attempt, or returns a *ThrottledError (wait until RetryAt, or the
//     factor is Disabled for this user; tell them, and offer the way back:
//     CancelPath). flow.CheckAttempt answers the same without reserving,
//     e.g. before issuing a challenge. Then settle the attempt: on success
//     flow.Complete/Advance (which resets this factor's counter, no other);
//     on failure flow.Fail(ctx, f, attempt, reason, details), which audits
//     it (details: scores, never images or descriptors), counts it and
//     returns a *ThrottledError when the user must now wait or the factor
//     is now disabled; when nothing was judged (unusable input, server
//     error) attempt.Release(ctx).
//  7. Render pages with flow.Render(w, r, "face", data): the page is
//     templates/face.html ({{define "title"}} and {{define "content"}}),
//     data gets "CSRFField" and "CSRFToken" added. Static files go in
//     templates/static/ and are served at /login/static/.
type SecondFactor interface {
	// AMR is the factor's RFC 8176 amr value, e.g. "face".
	AMR() string
	// Mount registers the factor's handlers on the login mux.
	Mount(mux *http.ServeMux, flow FlowControl)
	// Enrolled reports whether the user can use the factor.
	Enrolled(ctx context.Context, userID string) (bool, error)
	// Path is where the flow sends the browser for step
	// (models.StepSecondFactor or models.StepFaceEnrol).
	Path(step models.LoginStep, authRequestID string) string
}

// BodyLimiter is optionally implemented by a SecondFactor whose requests
// (under /login/<amr>/) need more than Options.MaxBodyBytes, e.g. images.
type BodyLimiter interface {
	MaxBodyBytes() int64
}

// FlowControl is what a second factor may do with a login flow.
type FlowControl interface {
	// LoadFactor loads the flow waiting for factor amr (see SecondFactor).
	LoadFactor(r *http.Request, authRequestID, amr string) (*Flow, error)
	// Complete records factor amr as passed and redirects to the next step.
	Complete(w http.ResponseWriter, r *http.Request, f *Flow, amr string)
	// Advance records factor amr as passed and returns the URL of the next
	// step; for XHR endpoints. An error has already been audited.
	Advance(w http.ResponseWriter, r *http.Request, f *Flow, amr string) (string, error)
	// SkipEnrolment continues a flow that offers optional enrolment in
	// factor amr (f.Optional) without it: it audits the choice, remembers
	// it in this browser for EnrolPostponeTTL and returns the URL of the
	// next step. ErrFlowWrongStep when the enrolment is not optional.
	SkipEnrolment(w http.ResponseWriter, r *http.Request, f *Flow, amr string) (string, error)
	// BeginAttempt reserves an attempt at factor amr by the flow's user
	// under the per-factor throttle; *ThrottledError when the user must
	// wait or the factor is disabled for them (already audited).
	BeginAttempt(ctx context.Context, f *Flow, amr string) (*FactorAttempt, error)
	// CheckAttempt reports, without reserving, whether BeginAttempt would
	// refuse now (*ThrottledError) or not (nil).
	CheckAttempt(ctx context.Context, f *Flow, amr string) error
	// Fail audits a failed attempt and counts it (a nil attempt is audited
	// only). The error is a *ThrottledError when this failure makes the
	// user wait or disabled the factor, else nil or an internal error.
	Fail(ctx context.Context, f *Flow, attempt *FactorAttempt, reason string, details map[string]any) error
	// Throttle is the provider's per-factor limiter, for a factor that
	// needs counters of its own beyond BeginAttempt's per-user one (a first
	// factor such as a passkey, which also counts per source address:
	// throttle.Source(RemoteIP(ctx), amr); recovery codes). Its rules are
	// Options.Throttle.
	Throttle() *throttle.Limiter
	// Audit records a non-failure event of the factor (e.g. enrolment).
	Audit(ctx context.Context, f *Flow, typ, outcome, reason string, details map[string]any)
	// Render renders a page of package templates with CSRF fields added.
	Render(w http.ResponseWriter, r *http.Request, page string, data map[string]any)
	// RenderError shows err (a *FlowError, or anything else as a generic
	// failure) on the error page.
	RenderError(w http.ResponseWriter, r *http.Request, err error)
	// Now is the server's clock.
	Now() time.Time
	// RateLimitStore is the store behind the provider's own login limits:
	// in memory, or Redis shared by every instance when
	// Options.RateLimitRedisURL is set. A factor builds its limits on it
	// (with keys of its own prefix) so they hold across instances.
	RateLimitStore() limiter.Store
}

// Flow is a login flow as a factor sees it.
type Flow struct {
	Request *models.AuthRequest
	Client  *models.Client
	// User is nil before the first factor.
	User *models.User
	// Pending is the amr value of the factor the flow waits for (second
	// factor steps only).
	Pending string
	// Optional is true when the pending step is an offered enrolment the
	// user may skip (see FlowControl.SkipEnrolment).
	Optional bool
	// Fallbacks lists what may stand in for the pending face verification
	// for this user (policy.AMRRecoveryCode, policy.MethodFaceBypass);
	// FallbackPath is the page that offers them. Show it when the camera
	// cannot be used, after failures, or when face is disabled.
	Fallbacks []string
	// EnrolledMeanwhile is set at the face enrolment step when the user has
	// enrolled since (a streamed enrolment that passed, whose pass ticket
	// continues the sign-in): the step takes no further challenge.
	EnrolledMeanwhile bool

	// sessionAge is set while the flow's factors are seeded from an
	// existing login session: how long ago it authenticated.
	sessionAge *time.Duration

	// enrolDeclined: the user declined the enrolment offer in this request
	// ("Not now", now or remembered from an earlier sign-in).
	enrolDeclined bool
}

// FlowError is a login flow error with the HTTP status and the message to
// show the user.
type FlowError struct {
	Status  int
	Message string
}

func (e *FlowError) Error() string { return e.Message }

// Flow errors a factor may return or show.
var (
	ErrFlowExpired      = &FlowError{http.StatusBadRequest, msgExpired}
	ErrFlowOtherBrowser = &FlowError{http.StatusForbidden, msgOtherBrowser}
	ErrFlowWrongStep    = &FlowError{http.StatusConflict, "This sign-in step is not expected now. Start again from the application."}
	ErrUnavailable      = &FlowError{http.StatusServiceUnavailable, msgUnavailable}
)
