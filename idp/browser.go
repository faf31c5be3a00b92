package idp

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

const (
	sessionCookie = "faceidp_session"
	browserCookie = "faceidp_browser"
)

// User-facing messages. They never say whether an account exists.
const (
	msgWrongCredentials = "Wrong username or password."
	msgTooMany          = "Too many sign-in attempts. Wait a minute and try again."
	msgDisabled         = "This account is disabled. Contact your administrator."
	msgExpired          = "This sign-in request has expired or is unknown."
	msgOtherBrowser     = "This sign-in was started in another browser. Start again from the application."
	msgUnavailable      = "The sign-in service is temporarily unavailable. Try again later."
	msgBusy             = "The sign-in service is busy. Try again in a moment."
)

// loadAuthRequest returns a pending auth request that has not expired.
func (s *Server) loadAuthRequest(ctx context.Context, id string) (*models.AuthRequest, error) {
	if id == "" {
		return nil, errors.New("auth request id missing")
	}
	r, err := s.store.GetAuthRequest(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("auth request: %w", err)
	}
	if !s.clock().Before(r.ExpiresAt) {
		return nil, errors.New("auth request expired")
	}
	return r, nil
}

// browserID returns the browser's random binding value, creating the
// cookie when create is set and it is missing.
func (s *Server) browserID(w http.ResponseWriter, r *http.Request, create bool) string {
	if c, err := r.Cookie(browserCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	if !create {
		return ""
	}
	v, err := randomID(s.rand)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{
		Name: browserCookie, Value: v, Path: "/", HttpOnly: true,
		Secure: !s.insecure, SameSite: http.SameSiteLaxMode,
	})
	return v
}

// bindBrowser ties an unbound auth request to this browser; it reports
// whether the request belongs to this browser afterwards.
func (s *Server) bindBrowser(ctx context.Context, w http.ResponseWriter, r *http.Request, req *models.AuthRequest) (bool, error) {
	if req.BrowserBinding != "" {
		return s.browserOwns(r, req), nil
	}
	id := s.browserID(w, r, true)
	if id == "" {
		return false, errors.New("no browser binding")
	}
	req.BrowserBinding = hashToken(id)
	if err := s.store.UpdateAuthRequest(ctx, req); err != nil {
		return false, fmt.Errorf("bind auth request: %w", err)
	}
	return true, nil
}

func (s *Server) browserOwns(r *http.Request, req *models.AuthRequest) bool {
	id := s.browserID(nil, r, false)
	if id == "" || req.BrowserBinding == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(hashToken(id)), []byte(req.BrowserBinding)) == 1
}

// --- login sessions -----------------------------------------------------------

func (s *Server) sessionIDFromCookie(r *http.Request) string {
	sess, err := s.cookies.Get(r, sessionCookie)
	if err != nil {
		return ""
	}
	id, _ := sess.Values["sid"].(string)
	return id
}

// currentSession returns the browser's server-side session if it is active
// and its user may still sign in.
func (s *Server) currentSession(ctx context.Context, r *http.Request) (*models.Session, *models.User) {
	id := s.sessionIDFromCookie(r)
	if id == "" {
		return nil, nil
	}
	sess, err := s.store.GetSession(ctx, id)
	if err != nil || !sess.Active(s.clock()) {
		return nil, nil
	}
	u, err := s.store.GetUser(ctx, sess.UserID)
	if err != nil || u.Disabled {
		return nil, nil
	}
	return sess, u
}

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, id string) error {
	sess, _ := s.cookies.Get(r, sessionCookie) // a bad old cookie just gets replaced
	sess.Values = map[any]any{"sid": id}
	return sess.Save(r, w)
}

func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	sess, _ := s.cookies.Get(r, sessionCookie)
	sess.Options.MaxAge = -1
	sess.Values = map[any]any{}
	_ = sess.Save(r, w)
}

// establishSession records a completed authentication in a new browser
// session: every sign-in gets a new session ID and the browser's previous
// session, whoever's it was, is revoked. Updating the old record in place
// would let a copy of the old cookie (taken while the user had only the
// password) inherit the factors added since.
func (s *Server) establishSession(ctx context.Context, w http.ResponseWriter, r *http.Request, req *models.AuthRequest) (*models.Session, error) {
	now := s.clock()
	if oldID := s.sessionIDFromCookie(r); oldID != "" {
		if err := s.store.RevokeSession(ctx, oldID, now); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, fmt.Errorf("revoke previous session: %w", err)
		}
	}
	id, err := randomID(s.rand)
	if err != nil {
		return nil, err
	}
	sess := &models.Session{
		ID: id, UserID: req.UserID, AuthTime: req.AuthTime, AMR: req.AMR,
		UserAgent: truncate(r.UserAgent(), 512), RemoteIP: stateFrom(ctx).remoteIP,
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(s.opts.SessionTTL),
	}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	if err := s.setSessionCookie(w, r, id); err != nil {
		return nil, fmt.Errorf("set session cookie: %w", err)
	}
	return sess, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
