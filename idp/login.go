package idp

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/csrf"
	"github.com/ulule/limiter/v3"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
	"github.com/faceidp/faceidp/templates"
)

// mountLogin registers the hosted login UI on mux (served under /login/).
func (s *Server) mountLogin(mux *http.ServeMux) {
	mux.HandleFunc("GET /login/{$}", s.loginStart)
	mux.HandleFunc("POST /login/password", s.loginPassword)
	mux.HandleFunc("GET /login/cancel", s.cancelPage)
	mux.HandleFunc("POST /login/cancel", s.cancelSubmit)
	mux.HandleFunc("GET /login/consent", s.consentPage)
	mux.HandleFunc("POST /login/consent", s.consentSubmit)
	mux.HandleFunc("GET /login/logged-out", s.loggedOut)
	mux.HandleFunc("GET /login/logout", s.logoutPage)
	mux.HandleFunc("POST /login/logout", s.logoutSubmit)
	s.mountAccount(mux)
	mux.Handle("GET /login/static/", http.StripPrefix("/login/static/", templates.Static()))
}

// loginStart is where op sends the browser for a new auth request.
func (s *Server) loginStart(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	req, err := s.loadAuthRequest(ctx, r.URL.Query().Get("authRequestID"))
	if errors.Is(err, storage.ErrUnavailable) {
		s.renderFlowError(w, r, err)
		return
	}
	if err != nil || req.Done {
		s.renderFlowError(w, r, ErrFlowExpired)
		return
	}
	owns, err := s.bindBrowser(ctx, w, r, req)
	if err != nil {
		s.log.ErrorContext(ctx, "bind browser", "err", err)
		s.renderFlowError(w, r, ErrUnavailable)
		return
	}
	if !owns {
		s.audit(ctx, "login.binding", "failure", req.UserID, req.ClientID, "browser binding mismatch", nil)
		s.renderFlowError(w, r, ErrFlowOtherBrowser)
		return
	}
	f, err := s.flowFor(ctx, req)
	if err != nil {
		s.renderFlowError(w, r, err)
		return
	}
	if req.Step != models.StepFirstFactor {
		// A reload mid-flow: go back to the current step.
		d, err := s.decide(ctx, f)
		if err != nil {
			s.renderFlowError(w, r, err)
			return
		}
		s.redirectNext(w, r, f, d)
		return
	}
	prompt := req.Prompt
	if len(req.AMR) == 0 {
		// A session stands in only for the user an id_token_hint names:
		// another user's session gets login_required or a fresh sign-in.
		if sess, u := s.currentSession(ctx, r); sess != nil && (req.HintSubject == "" || req.HintSubject == u.ID) {
			// The existing session stands in for the factors it holds (a
			// recovery code or bypass it used does not carry over), unless
			// the policy says they do not count here: too old for max_age
			// (prompt=login is max_age=0), or a first factor this client
			// does not allow.
			age := s.clock().Sub(sess.AuthTime)
			req.UserID, req.AMR, req.AuthTime, f.User, f.sessionAge = u.ID, policy.SessionMethods(sess.AMR), sess.AuthTime, u, &age
			d, err := s.decide(ctx, f)
			if err != nil {
				s.renderFlowError(w, r, err)
				return
			}
			if d.Reauthenticate || d.Next == models.StepFirstFactor {
				req.UserID, req.AMR, req.AuthTime, f.User, f.sessionAge = "", nil, time.Time{}, nil, nil
			} else {
				if slices.Contains(prompt, oidc.PromptNone) && d.Next != models.StepDone && d.Next != policy.StepUnmet {
					e := oidc.ErrInteractionRequired()
					if d.Next == models.StepConsent {
						e = &oidc.Error{ErrorType: "consent_required", Description: "the user has not consented to this application"}
					}
					op.AuthRequestError(w, r, &authRequest{req}, e, s.provider)
					return
				}
				s.audit(ctx, "login.session", "success", u.ID, req.ClientID, "existing session", map[string]any{"amr": sess.AMR})
				s.redirectNext(w, r, f, d)
				return
			}
		}
	}
	if slices.Contains(prompt, oidc.PromptNone) {
		s.audit(ctx, "login.session", "failure", "", req.ClientID, "prompt=none without a usable session", nil)
		op.AuthRequestError(w, r, &authRequest{req}, oidc.ErrLoginRequired(), s.provider)
		return
	}
	// An impossible request (acr_values this client can never reach, only
	// first factors the server does not serve) is answered before anyone
	// types anything.
	d, err := s.decide(ctx, f)
	if err != nil {
		s.renderFlowError(w, r, err)
		return
	}
	if d.Next == policy.StepUnmet {
		s.redirectNext(w, r, f, d)
		return
	}
	s.renderLogin(w, r, f, http.StatusOK, req.LoginHint, "")
}

func (s *Server) redirectNext(w http.ResponseWriter, r *http.Request, f *Flow, d policy.Decision) {
	next, err := s.advance(w, r, f, d)
	if err != nil {
		s.renderFlowError(w, r, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, f *Flow, status int, username, msg string) {
	offer, err := s.loginOffer(f)
	if err != nil {
		s.renderFlowError(w, r, err)
		return
	}
	data := map[string]any{
		"AuthRequestID": f.Request.ID,
		"ClientName":    clientName(f.Client),
		"Username":      username,
		"Error":         msg,
		"Password":      offer.Password,
		"Passkey":       offer.Passkey,
	}
	if sess, u := s.currentSession(r.Context(), r); sess != nil {
		data["SignedInAs"], data["AccountPath"] = u.Username, AccountPath
	}
	s.render(w, r, status, "login", data)
}

// loginPassword checks the first factor. A failure shows the same message
// and costs the same argon2id time whether or not the account exists, is
// disabled or has no password; the per-factor throttle treats a login name
// that names no account exactly like an account, so neither the message
// nor the wait tells an attacker which accounts exist. An attempt the
// throttle refuses is not checked at all: the person is told when to try
// again, never "wrong password" for what may be the right one.
func (s *Server) loginPassword(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		s.renderFlowError(w, r, &FlowError{http.StatusBadRequest, "The form could not be read."})
		return
	}
	f, err := s.loadFlow(r, r.PostForm.Get("authRequestID"), models.StepFirstFactor)
	if err != nil {
		s.renderFlowError(w, r, err)
		return
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	pw := r.PostForm.Get("password")
	if offer, err := s.loginOffer(f); err != nil || !offer.Password {
		s.audit(ctx, "login.pwd", "failure", "", f.Request.ClientID, "password not allowed for this client", nil)
		s.renderLogin(w, r, f, http.StatusForbidden, username, "This application does not accept passwords. Sign in with a passkey.")
		return
	}
	if username == "" || pw == "" {
		s.renderLogin(w, r, f, http.StatusBadRequest, username, "Enter your username or email and your password.")
		return
	}
	clientID := f.Request.ClientID
	if wait, limited := s.rateLimited(ctx, "ip:"+stateFrom(ctx).remoteIP, s.ipLimit); limited {
		s.tooMany(w, r, f, username, wait)
		return
	}
	u, err := s.store.GetUserByLogin(ctx, username)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		s.log.ErrorContext(ctx, "look up user", "err", err)
		s.renderFlowError(w, r, ErrUnavailable)
		return
	}
	if errors.Is(err, storage.ErrNotFound) {
		u = nil
	}
	// The per-minute flood limit per account, or per known device: a
	// stranger flooding the account's name does not reach the owner's
	// browser.
	userKey := "user:" + hashToken(strings.ToLower(username))
	if u != nil {
		if dev := s.knownDevice(r, u.ID); dev != "" {
			userKey = "device:" + dev
		}
	}
	if wait, limited := s.rateLimited(ctx, userKey, s.usrLimit); limited {
		s.tooMany(w, r, f, username, wait)
		return
	}
	att, device, err := s.beginPassword(r, username, u, clientID)
	var te *ThrottledError
	if errors.As(err, &te) {
		s.metrics.logins.WithLabelValues(policy.AMRPassword, "throttled").Inc()
		w.Header().Set("Retry-After", retryAfterSeconds(te.Wait))
		s.renderLogin(w, r, f, http.StatusTooManyRequests, username, te.Message())
		return
	}
	if err != nil {
		s.log.ErrorContext(ctx, "password throttle", "err", err)
		s.renderFlowError(w, r, ErrUnavailable)
		return
	}
	// Whatever happens below settles the attempt; a path that returns
	// without deciding releases it.
	defer func() { _ = att.Release(context.WithoutCancel(ctx)) }()

	var ok, rehash bool
	if u == nil || u.PasswordHash == "" {
		err = s.hasher.VerifyDummy(pw)
	} else {
		ok, rehash, err = s.hasher.Verify(u.PasswordHash, pw)
	}
	if errors.Is(err, password.ErrBusy) {
		// Nothing was checked: the deferred Release leaves the attempt
		// uncounted, for known and unknown accounts alike.
		s.passwordBusy(w, r, f, username)
		return
	}
	if err != nil && u != nil {
		s.log.ErrorContext(ctx, "verify password", "user_id", u.ID, "err", err)
	}
	details := map[string]any{"known_device": device != ""}
	if !ok {
		var uid, reason string
		switch {
		case u == nil:
			reason = "unknown user"
		case u.PasswordHash == "":
			uid, reason = u.ID, "no password set"
		default:
			uid, reason = u.ID, "wrong password"
		}
		s.metrics.logins.WithLabelValues(policy.AMRPassword, "failure").Inc()
		s.audit(ctx, "login.pwd", "failure", uid, clientID, reason, details)
		results, err := att.Fail(ctx)
		if err != nil {
			s.log.ErrorContext(ctx, "count failed password", "err", err)
		}
		msg := msgWrongCredentials
		if te := s.auditFailures(ctx, uid, clientID, results); te != nil {
			msg += " " + te.Message()
			w.Header().Set("Retry-After", retryAfterSeconds(te.Wait))
		}
		s.renderLogin(w, r, f, http.StatusUnauthorized, username, msg)
		return
	}
	// The password is right: only now may the person learn about the
	// account itself.
	if err := att.Succeed(ctx); err != nil {
		s.log.ErrorContext(ctx, "reset password throttle", "err", err)
	}
	if u.Disabled {
		s.metrics.logins.WithLabelValues(policy.AMRPassword, "failure").Inc()
		s.audit(ctx, "login.pwd", "failure", u.ID, clientID, "account disabled", details)
		s.renderLogin(w, r, f, http.StatusForbidden, username, msgDisabled)
		return
	}
	if err := s.rememberDevice(w, r, u.ID); err != nil {
		s.log.ErrorContext(ctx, "set device cookie", "err", err)
	}
	f.User = u
	if rehash {
		if h, err := s.hasher.Hash(pw); err == nil {
			u.PasswordHash = h
			if err := s.store.UpdateUser(ctx, u); err != nil {
				s.log.ErrorContext(ctx, "update password hash after login", "err", err)
			}
		}
	}
	if f.Request.UserID != "" && f.Request.UserID != u.ID {
		f.Request.AMR = nil // factors of another user do not carry over
	}
	f.Request.UserID = u.ID
	s.audit(ctx, "login.pwd", "success", u.ID, clientID, "", details)
	next, err := s.completeFactor(w, r, f, policy.AMRPassword)
	if err != nil {
		s.renderFlowError(w, r, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// passwordBusy answers a password attempt the argon2id gate had no room
// for: 503 with Retry-After. Nothing was checked, so it is neither a
// failure nor a success; unknown and known accounts get it alike.
func (s *Server) passwordBusy(w http.ResponseWriter, r *http.Request, f *Flow, username string) {
	s.metrics.logins.WithLabelValues(policy.AMRPassword, "busy").Inc()
	w.Header().Set("Retry-After", "1")
	s.renderLogin(w, r, f, http.StatusServiceUnavailable, username, msgBusy)
}

// tooMany answers an attempt over the per-minute flood limit.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, f *Flow, username string, wait time.Duration) {
	s.audit(r.Context(), "login.pwd", "failure", "", f.Request.ClientID, "rate limited", nil)
	s.metrics.logins.WithLabelValues(policy.AMRPassword, "rate_limited").Inc()
	w.Header().Set("Retry-After", retryAfterSeconds(wait))
	s.renderLogin(w, r, f, http.StatusTooManyRequests, username, "Too many sign-in attempts. Try again in "+throttle.FormatWait(wait)+".")
}

// rateLimited counts an attempt under key and reports whether the
// per-minute limit is exceeded and how long until it resets. The store
// does not fail open: with Redis unreachable it counts in memory
// (fallbackStore); only a cancelled request gets here with an error.
func (s *Server) rateLimited(ctx context.Context, key string, l *limiter.Limiter) (time.Duration, bool) {
	lc, err := l.Get(ctx, key)
	if err != nil {
		s.log.ErrorContext(ctx, "rate limiter", "err", err)
		return time.Second, true
	}
	if !lc.Reached {
		return 0, false
	}
	return max(time.Unix(lc.Reset, 0).Sub(time.Now()), time.Second), true
}

func (s *Server) consentPage(w http.ResponseWriter, r *http.Request) {
	f, err := s.loadFlow(r, r.URL.Query().Get("authRequestID"), models.StepConsent)
	if err != nil {
		s.renderFlowError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "consent", map[string]any{
		"AuthRequestID": f.Request.ID,
		"ClientName":    clientName(f.Client),
		"Username":      f.User.Username,
		"Scopes":        describeScopes(f.Request.Scopes),
		"AccountPath":   AccountPath,
	})
}

func describeScopes(scopes []string) []string {
	var out []string
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeOpenID:
			out = append(out, "Your account identifier")
		case oidc.ScopeProfile:
			out = append(out, "Your name and username")
		case oidc.ScopeEmail:
			out = append(out, "Your email address")
		case oidc.ScopeOfflineAccess:
			out = append(out, "Access while you are not signed in")
		default:
			out = append(out, sc)
		}
	}
	return out
}

func (s *Server) consentSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		s.renderFlowError(w, r, &FlowError{http.StatusBadRequest, "The form could not be read."})
		return
	}
	f, err := s.loadFlow(r, r.PostForm.Get("authRequestID"), models.StepConsent)
	if err != nil {
		s.renderFlowError(w, r, err)
		return
	}
	if r.PostForm.Get("decision") != "allow" {
		s.audit(ctx, "consent", "failure", f.User.ID, f.Client.ID, "user denied consent", nil)
		if err := s.store.DeleteAuthRequest(ctx, f.Request.ID); err != nil {
			s.log.ErrorContext(ctx, "delete denied auth request", "err", err)
		}
		op.AuthRequestError(w, r, &authRequest{f.Request}, oidc.ErrAccessDenied().WithDescription("the user denied access"), s.provider)
		return
	}
	scopes := slices.Clone(f.Request.Scopes)
	if old, err := s.store.GetConsent(ctx, f.User.ID, f.Client.ID); err == nil {
		for _, sc := range old.Scopes {
			if !slices.Contains(scopes, sc) {
				scopes = append(scopes, sc)
			}
		}
	}
	now := s.clock()
	if err := s.store.SaveConsent(ctx, &models.Consent{UserID: f.User.ID, ClientID: f.Client.ID, Scopes: scopes, CreatedAt: now, UpdatedAt: now}); err != nil {
		s.log.ErrorContext(ctx, "save consent", "err", err)
		s.renderFlowError(w, r, ErrUnavailable)
		return
	}
	s.audit(ctx, "consent", "success", f.User.ID, f.Client.ID, "", map[string]any{"scopes": f.Request.Scopes})
	d, err := s.decide(ctx, f)
	if err != nil {
		s.renderFlowError(w, r, err)
		return
	}
	// Consent was just given; the factors decide nothing else here.
	if d.Next == models.StepConsent {
		d.Next = models.StepDone
	}
	s.redirectNext(w, r, f, d)
}

func (s *Server) loggedOut(w http.ResponseWriter, r *http.Request) {
	s.clearSessionCookie(w, r)
	s.render(w, r, http.StatusOK, "loggedout", nil)
}

func (s *Server) csrfFailed(w http.ResponseWriter, r *http.Request) {
	s.audit(r.Context(), "csrf", "failure", "", "", csrf.FailureReason(r).Error(), map[string]any{"path": r.URL.Path})
	s.renderError(w, r, http.StatusForbidden, "The form expired or came from another site. Go back, reload the page and try again.")
}

// render writes a page; data gets the CSRF field and token.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	data["CSRFField"] = csrf.TemplateField(r)
	data["CSRFToken"] = csrf.Token(r)
	var buf bytes.Buffer
	if err := s.tmpl.Render(&buf, page, data); err != nil {
		s.log.ErrorContext(r.Context(), "render page", "page", page, "err", err)
		http.Error(w, msgUnavailable, http.StatusInternalServerError)
		return
	}
	setSecurityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	var buf bytes.Buffer
	if err := s.tmpl.Render(&buf, "error", map[string]any{"Message": msg}); err != nil {
		http.Error(w, msg, status)
		return
	}
	setSecurityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func (s *Server) renderFlowError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, storage.ErrUnavailable) {
		s.storageUnavailable(r.Context(), err)
		s.renderUnavailable(w, r)
		return
	}
	var te *ThrottledError
	if errors.As(err, &te) {
		s.renderThrottled(w, r, te)
		return
	}
	var fe *FlowError
	if errors.As(err, &fe) {
		if fe.Status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "5")
		}
		s.renderError(w, r, fe.Status, fe.Message)
		return
	}
	s.log.ErrorContext(r.Context(), "login flow", "err", err)
	s.renderError(w, r, http.StatusInternalServerError, msgUnavailable)
}
