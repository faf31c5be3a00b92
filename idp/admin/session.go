package admin

import (
	"crypto/hmac"
	"crypto/sha256"
	"net/http"
	"time"

	"github.com/gorilla/sessions"
)

// The console session: who signed in and when (auth_time, for the fresh
// sign-in destructive actions need), and the pending sign-in's state and
// PKCE verifier. It lives in its own encrypted cookie, scoped to /admin/.
const sessionCookie = "faceidp_admin"

type consoleSession struct {
	Subject   string
	AuthTime  time.Time
	ExpiresAt time.Time
	// The sign-in in progress.
	State    string
	Verifier string
	Next     string
}

func deriveKey(key []byte, label string, n int) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	k := m.Sum(nil)
	return k[:n]
}

func newCookieStore(hashKey, blockKey []byte, secure bool) *sessions.CookieStore {
	cs := sessions.NewCookieStore(deriveKey(hashKey, "faceidp admin session hash", 32), deriveKey(blockKey, "faceidp admin session block", 32))
	cs.Options = &sessions.Options{Path: "/admin/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode, MaxAge: 0}
	return cs
}

func (c *console) load(r *http.Request) consoleSession {
	var cs consoleSession
	s, err := c.cookies.Get(r, sessionCookie)
	if err != nil {
		return cs
	}
	cs.Subject, _ = s.Values["sub"].(string)
	if v, ok := s.Values["auth_time"].(int64); ok {
		cs.AuthTime = time.Unix(v, 0)
	}
	if v, ok := s.Values["exp"].(int64); ok {
		cs.ExpiresAt = time.Unix(v, 0)
	}
	cs.State, _ = s.Values["state"].(string)
	cs.Verifier, _ = s.Values["verifier"].(string)
	cs.Next, _ = s.Values["next"].(string)
	return cs
}

func (c *console) save(w http.ResponseWriter, r *http.Request, cs consoleSession) error {
	s, _ := c.cookies.New(r, sessionCookie)
	s.Values["sub"] = cs.Subject
	s.Values["auth_time"] = cs.AuthTime.Unix()
	s.Values["exp"] = cs.ExpiresAt.Unix()
	s.Values["state"] = cs.State
	s.Values["verifier"] = cs.Verifier
	s.Values["next"] = cs.Next
	return s.Save(r, w)
}

func (c *console) clear(w http.ResponseWriter, r *http.Request) {
	s, _ := c.cookies.New(r, sessionCookie)
	s.Options.MaxAge = -1
	_ = s.Save(r, w)
}
