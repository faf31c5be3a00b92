// Package faceweb serves the face factor over HTTP: the hosted capture
// pages, the JSON face API under /login/face/ (documented in
// docs/face-api.md) and the account page where a signed-in user re-enrols
// or deletes their template. It plugs into the login state machine through
// idp.SecondFactor.
//
// It is a package of its own, not part of idp, because the face engine
// needs cgo (dlib): idp stays buildable without it.
package faceweb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/ulule/limiter/v3"

	"github.com/faceidp/faceidp/factors/face"
	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/models"
)

// Defaults for Options.
const (
	DefaultChallengesPerMinute = 10
	DefaultRetryAfter          = 2 * time.Second
	// multipartSlack covers the multipart framing, the challenge_id and
	// mirrored fields around the frames.
	multipartSlack = 64 << 10
)

// Options configure the face HTTP glue.
type Options struct {
	// ChallengesPerMinute caps the challenges one user may request per
	// minute (default 10); more get 429.
	ChallengesPerMinute int64
	// ReadyChecksPerMinute caps the get-ready frames one user may send per
	// minute (default DefaultReadyChecksPerMinute); more get 429.
	ReadyChecksPerMinute int64
	// RetryAfter is what a 503 (engine busy) tells the client to wait.
	RetryAfter time.Duration
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Factor is the face second factor. Register it with
// idp.Options.SecondFactors.
type Factor struct {
	svc   *face.Service
	opts  Options
	limit *limiter.Limiter
	// readyLimit bounds the get-ready frames per user.
	readyLimit *limiter.Limiter
	log        *slog.Logger
	flow       idp.FlowControl
	account    idp.AccountControl
}

var (
	_ idp.SecondFactor = (*Factor)(nil)
	_ idp.BodyLimiter  = (*Factor)(nil)
)

// New builds the face factor over the face service.
func New(svc *face.Service, opts Options) (*Factor, error) {
	if svc == nil {
		return nil, errors.New("faceweb: no face service")
	}
	if opts.ChallengesPerMinute == 0 {
		opts.ChallengesPerMinute = DefaultChallengesPerMinute
	}
	if opts.ChallengesPerMinute < 0 {
		return nil, fmt.Errorf("faceweb: challenges per minute must be positive, got %d", opts.ChallengesPerMinute)
	}
	if opts.ReadyChecksPerMinute == 0 {
		opts.ReadyChecksPerMinute = DefaultReadyChecksPerMinute
	}
	if opts.ReadyChecksPerMinute < 0 {
		return nil, fmt.Errorf("faceweb: ready checks per minute must be positive, got %d", opts.ReadyChecksPerMinute)
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = DefaultRetryAfter
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Factor{
		svc:  svc,
		opts: opts,
		log:  opts.Logger,
	}, nil
}

// AMR is "face" (RFC 8176).
func (f *Factor) AMR() string { return policy.AMRFace }

// Enrolled reports whether the user has a face template.
func (f *Factor) Enrolled(ctx context.Context, userID string) (bool, error) {
	return f.svc.Enrolled(ctx, userID)
}

// Path is the capture page for a login step.
func (f *Factor) Path(step models.LoginStep, authRequestID string) string {
	q := "?authRequestID=" + url.QueryEscape(authRequestID)
	if step == models.StepFaceEnrol {
		return "/login/face/enrol" + q
	}
	return "/login/face/" + q
}

// MaxBodyBytes is the largest answer upload: every frame at its maximum
// size plus the multipart framing.
func (f *Factor) MaxBodyBytes() int64 {
	lim := f.svc.Limits()
	return int64(lim.MaxFrames)*lim.MaxFrameBytes + multipartSlack
}

// Mount registers the routes (all under /login/face/, behind CSRF).
func (f *Factor) Mount(mux *http.ServeMux, flow idp.FlowControl) {
	f.flow = flow
	// On the provider's store: with Redis, the per-user challenge limit
	// holds across every instance behind the load balancer.
	f.limit = limiter.New(flow.RateLimitStore(), limiter.Rate{Period: time.Minute, Limit: f.opts.ChallengesPerMinute})
	f.readyLimit = limiter.New(flow.RateLimitStore(), limiter.Rate{Period: time.Minute, Limit: f.opts.ReadyChecksPerMinute})
	f.account, _ = flow.(idp.AccountControl)

	mux.HandleFunc("GET /login/face/{$}", f.verifyPage)
	mux.HandleFunc("GET /login/face/enrol", f.enrolPage)
	mux.HandleFunc("POST /login/face/challenge", f.flowChallenge)
	mux.HandleFunc("POST /login/face/answer", f.flowAnswer)
	mux.HandleFunc("POST /login/face/ready", f.flowReady)
	mux.HandleFunc("GET /login/face/stream", f.flowStream)
	mux.HandleFunc("GET "+completePath, f.flowComplete)
	mux.HandleFunc("POST /login/face/enrol/skip", f.skipEnrol)

	if f.account != nil {
		mux.HandleFunc("GET /login/face/account", f.accountPage)
		mux.HandleFunc("POST /login/face/account", f.accountSubmit)
		mux.HandleFunc("GET /login/face/account/enrol", f.accountEnrolPage)
		mux.HandleFunc("POST /login/face/account/challenge", f.accountChallenge)
		mux.HandleFunc("POST /login/face/account/answer", f.accountAnswer)
		mux.HandleFunc("POST /login/face/account/ready", f.accountReady)
		mux.HandleFunc("GET /login/face/account/stream", f.accountStream)
	}
}
