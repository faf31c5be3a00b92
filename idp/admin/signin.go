package admin

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"

	"github.com/faceidp/faceidp/factors/policy"
)

// The console signs its administrators in as any relying party would:
// the authorization code flow with PKCE to faceidp's own /authorize, as
// the internal client ConsoleClientID whose policy requires face (or a
// user-verified passkey). The code is exchanged at the token endpoint in
// process, and the access token it returns names the user, the factors
// used and the time of the sign-in.

// login starts a sign-in; fresh=1 forces a new one (max_age=0), for a
// destructive action after FreshAuth has passed.
func (c *console) login(w http.ResponseWriter, r *http.Request) {
	state, err := c.random()
	if err != nil {
		c.serverError(w, r, err)
		return
	}
	verifier, err := c.random()
	if err != nil {
		c.serverError(w, r, err)
		return
	}
	cs := c.load(r)
	cs.State, cs.Verifier, cs.Next = state, verifier, localPath(r.URL.Query().Get("next"))
	if err := c.save(w, r, cs); err != nil {
		c.serverError(w, r, err)
		return
	}
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id": {ConsoleClientID}, "redirect_uri": {c.redirectURI()}, "response_type": {"code"},
		"scope": {"openid profile"}, "state": {state},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	if r.URL.Query().Get("fresh") == "1" {
		q.Set("max_age", "0")
		q.Set("prompt", "login")
	}
	http.Redirect(w, r, "/authorize?"+q.Encode(), http.StatusSeeOther)
}

func (c *console) redirectURI() string { return c.host.Issuer() + "/admin/callback" }

// localPath keeps next to a path of the console (no open redirect).
func localPath(next string) string {
	if !strings.HasPrefix(next, "/admin/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/admin/users"
	}
	return next
}

// callback finishes the sign-in: the state must match, the code is
// exchanged with the PKCE verifier, and the user must hold the admin role
// and have passed face or a passkey.
func (c *console) callback(w http.ResponseWriter, r *http.Request) {
	cs := c.load(r)
	q := r.URL.Query()
	if cs.State == "" || q.Get("state") != cs.State {
		c.page(w, r, http.StatusBadRequest, view{Page: "error", Error: "This sign-in was not started here or has already been used. Start again."})
		return
	}
	if e := q.Get("error"); e != "" {
		c.page(w, r, http.StatusForbidden, view{Page: "error", Error: "The sign-in was not completed: " + e})
		return
	}
	form := url.Values{
		"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {c.redirectURI()},
		"client_id": {ConsoleClientID}, "code_verifier": {cs.Verifier},
	}
	req := httptest.NewRequestWithContext(r.Context(), http.MethodPost, c.host.Issuer()+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = r.RemoteAddr
	rec := httptest.NewRecorder()
	c.host.Handler().ServeHTTP(rec, req)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	body, _ := io.ReadAll(rec.Result().Body)
	if rec.Code != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
		c.a.opts.Logger.Warn("admin console: code exchange failed", "status", rec.Code)
		c.page(w, r, http.StatusForbidden, view{Page: "error", Error: "The sign-in could not be completed. Start again."})
		return
	}
	at, u, err := c.host.UserToken(r.Context(), tok.AccessToken)
	if err != nil {
		c.page(w, r, http.StatusForbidden, view{Page: "error", Error: "The sign-in could not be completed. Start again."})
		return
	}
	if !u.Admin {
		c.clear(w, r)
		c.page(w, r, http.StatusForbidden, view{Page: "forbidden"})
		return
	}
	if !slices.Contains(at.AMR, policy.AMRFace) && !slices.Contains(at.AMR, policy.AMRPasskey) && !slices.Contains(at.AMR, policy.AMRSyncedPasskey) {
		c.page(w, r, http.StatusForbidden, view{Page: "error", Error: "The console needs a sign-in with your face (or a passkey)."})
		return
	}
	now := c.a.opts.Clock()
	next := cs.Next
	if err := c.save(w, r, consoleSession{Subject: u.ID, AuthTime: at.AuthTime, ExpiresAt: now.Add(c.a.opts.SessionTTL)}); err != nil {
		c.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, localPath(next), http.StatusSeeOther)
}

func (c *console) random() (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(c.a.opts.Rand, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
