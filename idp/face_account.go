package idp

// Account access for second factors outside a login flow: the face
// factor's account page (idp/faceweb) lets a signed-in user re-enrol or
// delete their face template after entering their password again. It lives
// here because it needs the browser session and the password hasher.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	pwhash "github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/models"
)

// ReauthTTL is how long a password re-entry on an account page counts.
const ReauthTTL = 5 * time.Minute

const reauthCookie = "faceidp_reauth"

// Re-authentication errors.
var (
	ErrWrongPassword = &FlowError{http.StatusUnauthorized, "Wrong password."}
	ErrTooManyTries  = &FlowError{http.StatusTooManyRequests, msgTooMany}
	// ErrPasswordBusy: the process-wide argon2id gate had no room; nothing
	// was checked or counted.
	ErrPasswordBusy = &FlowError{http.StatusServiceUnavailable, msgBusy}
)

// AccountControl is what a factor's account page may do. The FlowControl
// handed to SecondFactor.Mount implements it:
//
//	ac, ok := flow.(idp.AccountControl)
type AccountControl interface {
	// SignedIn returns the browser's active session and its user, or nils.
	SignedIn(r *http.Request) (*models.Session, *models.User)
	// Reauthenticate checks the user's password again (rate-limited and
	// throttled like the password step). On success the browser is marked
	// as re-authenticated for sess during ReauthTTL. It returns
	// ErrWrongPassword (or a *FlowError saying the wrong password now
	// makes the user wait), ErrTooManyTries, a *ThrottledError,
	// ErrPasswordBusy or an internal error.
	Reauthenticate(w http.ResponseWriter, r *http.Request, sess *models.Session, u *models.User, password string) error
	// Reauthenticated reports whether the browser re-entered the password
	// for sess within ReauthTTL.
	Reauthenticated(r *http.Request, sess *models.Session) bool
	// ForgetReauthentication ends the re-authenticated state.
	ForgetReauthentication(w http.ResponseWriter, r *http.Request)
	// MarkReauthenticated marks the browser as re-authenticated for sess
	// after a check the caller made (method names it: "hwk" for a passkey).
	MarkReauthenticated(w http.ResponseWriter, r *http.Request, sess *models.Session, u *models.User, method string) error
	// MayAddAuthenticator reports whether sess may add a way to sign in
	// for u (ErrStepUpRequired when the session is weaker than the user's
	// own sign-in).
	MayAddAuthenticator(r *http.Request, sess *models.Session, u *models.User) error
	// AuditUser records an account event of a factor.
	AuditUser(ctx context.Context, userID, typ, outcome, reason string, details map[string]any)
}

var _ AccountControl = (*flowControl)(nil)

func (fc *flowControl) SignedIn(r *http.Request) (*models.Session, *models.User) {
	return fc.s.currentSession(r.Context(), r)
}

func (fc *flowControl) Reauthenticate(w http.ResponseWriter, r *http.Request, sess *models.Session, u *models.User, password string) error {
	s := fc.s
	ctx := r.Context()
	userKey := "user:" + hashToken(strings.ToLower(u.Username))
	if dev := s.knownDevice(r, u.ID); dev != "" {
		userKey = "device:" + dev
	}
	_, ipLimited := s.rateLimited(ctx, "ip:"+stateFrom(ctx).remoteIP, s.ipLimit)
	if _, userLimited := s.rateLimited(ctx, userKey, s.usrLimit); ipLimited || userLimited {
		s.audit(ctx, "reauth.pwd", "failure", u.ID, "", "rate limited", nil)
		return ErrTooManyTries
	}
	// The same counters as the password step: the account's and the
	// source's, or this browser's own when it holds the device cookie.
	att, _, err := s.beginPassword(r, u.Username, u, "")
	if err != nil {
		return err // *ThrottledError or internal
	}
	defer func() { _ = att.Release(context.WithoutCancel(ctx)) }()
	var ok bool
	if u.PasswordHash == "" {
		err = s.hasher.VerifyDummy(password)
	} else {
		ok, _, err = s.hasher.Verify(u.PasswordHash, password)
	}
	if errors.Is(err, pwhash.ErrBusy) {
		return ErrPasswordBusy // nothing was checked: the deferred Release uncounts it
	}
	if err != nil {
		s.log.ErrorContext(ctx, "verify password", "user_id", u.ID, "err", err)
	}
	if !ok {
		s.metrics.logins.WithLabelValues(policy.AMRPassword, "failure").Inc()
		s.audit(ctx, "reauth.pwd", "failure", u.ID, "", "wrong password", nil)
		results, err := att.Fail(ctx)
		if err != nil {
			s.log.ErrorContext(ctx, "count failed re-authentication", "err", err)
		}
		if te := s.auditFailures(ctx, u.ID, "", results); te != nil {
			return &FlowError{http.StatusUnauthorized, ErrWrongPassword.Message + " " + te.Message()}
		}
		return ErrWrongPassword
	}
	if err := att.Succeed(ctx); err != nil {
		s.log.ErrorContext(ctx, "reset password throttle", "err", err)
	}
	s.audit(ctx, "reauth.pwd", "success", u.ID, "", "", nil)
	return s.setReauthCookie(w, r, sess)
}

// setReauthCookie marks the browser as re-authenticated for sess during
// ReauthTTL.
func (s *Server) setReauthCookie(w http.ResponseWriter, r *http.Request, sess *models.Session) error {
	c, _ := s.cookies.Get(r, reauthCookie) // a bad old cookie just gets replaced
	opts := *s.cookies.Options
	opts.MaxAge = int(ReauthTTL / time.Second)
	c.Options = &opts
	c.Values = map[any]any{"sid": sess.ID, "until": s.clock().Add(ReauthTTL).Unix()}
	if err := c.Save(r, w); err != nil {
		return fmt.Errorf("save re-authentication cookie: %w", err)
	}
	return nil
}

func (fc *flowControl) Reauthenticated(r *http.Request, sess *models.Session) bool {
	c, err := fc.s.cookies.Get(r, reauthCookie)
	if err != nil || sess == nil {
		return false
	}
	sid, _ := c.Values["sid"].(string)
	until, _ := c.Values["until"].(int64)
	return sid != "" && sid == sess.ID && fc.s.clock().Unix() < until
}

func (fc *flowControl) ForgetReauthentication(w http.ResponseWriter, r *http.Request) {
	c, _ := fc.s.cookies.Get(r, reauthCookie)
	opts := *fc.s.cookies.Options
	opts.MaxAge = -1
	c.Options = &opts
	c.Values = map[any]any{}
	_ = c.Save(r, w)
}

func (fc *flowControl) AuditUser(ctx context.Context, userID, typ, outcome, reason string, details map[string]any) {
	fc.s.audit(ctx, typ, outcome, userID, "", reason, details)
}
