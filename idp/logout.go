package idp

import (
	"context"
	"net/http"
	"net/url"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
//
// With an id_token_hint the relying party proves which sign-in it ends, so
// op handles the request directly (endSession). Without one, any site could
// log the user out with a link or an <img>, so the user is asked first: the
// request is validated (client_id, post_logout_redirect_uri against the
// client's registered list) and the browser goes to /login/logout, a
// CSRF-protected confirmation form; only its POST ends the session.

const msgBadLogout = "This sign-out request is not valid: the application is unknown or asked to return you to an address it has not registered (post_logout_redirect_uri)."

// endSession handles /end_session.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "The sign-out request could not be read.")
		return
	}
	if r.Form.Get("id_token_hint") != "" {
		st := stateFrom(r.Context())
		st.sessionID = s.sessionIDFromCookie(r)
		st.clearSession = func() { s.clearSessionCookie(w, r) }
		s.serveOP(w, r, func(w http.ResponseWriter) { s.renderUnavailable(w, r) })
		return
	}
	req := logoutRequest(r.Form)
	if _, err := s.validateLogout(r.Context(), req); err != nil {
		s.renderLogoutError(w, r)
		return
	}
	q := url.Values{}
	for k, v := range map[string]string{"client_id": req.ClientID, "post_logout_redirect_uri": req.PostLogoutRedirectURI, "state": req.State} {
		if v != "" {
			q.Set(k, v)
		}
	}
	http.Redirect(w, r, s.issuer+"/login/logout?"+q.Encode(), http.StatusFound)
}

// renderLogoutError answers a logout request validateLogout refused: 503
// when the client could not be read, else the bad-request page.
func (s *Server) renderLogoutError(w http.ResponseWriter, r *http.Request) {
	if stateFrom(r.Context()).unavailable {
		s.renderUnavailable(w, r)
		return
	}
	s.renderError(w, r, http.StatusBadRequest, msgBadLogout)
}

func logoutRequest(v url.Values) *oidc.EndSessionRequest {
	return &oidc.EndSessionRequest{
		ClientID:              v.Get("client_id"),
		PostLogoutRedirectURI: v.Get("post_logout_redirect_uri"),
		State:                 v.Get("state"),
	}
}

// validateLogout checks a hint-less logout request the way op checks one
// with a hint: post_logout_redirect_uri is honoured only for the client
// named by client_id and only if that client registered it.
func (s *Server) validateLogout(ctx context.Context, req *oidc.EndSessionRequest) (*op.EndSessionRequest, error) {
	if req.ClientID == "" {
		// Nothing names a client, so no redirect URI can be trusted.
		req.PostLogoutRedirectURI = ""
	}
	return op.ValidateEndSessionRequest(ctx, req, s.provider)
}

// logoutPage shows the confirmation, or, when the browser has no active
// session, goes straight where the logout would have gone.
func (s *Server) logoutPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	req := logoutRequest(r.URL.Query())
	end, err := s.validateLogout(ctx, req)
	if err != nil {
		s.renderLogoutError(w, r)
		return
	}
	sess, u := s.currentSession(ctx, r)
	if sess == nil {
		http.Redirect(w, r, end.RedirectURI, http.StatusFound)
		return
	}
	var clientName string
	if req.ClientID != "" {
		if c, err := s.store.GetClient(ctx, req.ClientID); err == nil {
			clientName = c.Name
			if clientName == "" {
				clientName = c.ID
			}
		}
	}
	s.render(w, r, http.StatusOK, "logout", map[string]any{
		"ClientName":            clientName,
		"Username":              u.Username,
		"ClientID":              req.ClientID,
		"PostLogoutRedirectURI": req.PostLogoutRedirectURI,
		"State":                 req.State,
	})
}

// logoutSubmit ends the session after the user confirmed (the CSRF check
// has passed by the time it runs).
func (s *Server) logoutSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	req := logoutRequest(r.PostForm)
	end, err := s.validateLogout(ctx, req)
	if err != nil {
		s.renderLogoutError(w, r)
		return
	}
	if r.PostForm.Get("decision") != "logout" {
		s.audit(ctx, "logout", "info", "", req.ClientID, "user chose to stay signed in", nil)
		s.render(w, r, http.StatusOK, "logout", map[string]any{"StillSignedIn": true})
		return
	}
	st := stateFrom(ctx)
	st.sessionID = s.sessionIDFromCookie(r)
	st.clearSession = func() { s.clearSessionCookie(w, r) }
	redirect, err := (&opStorage{s: s}).TerminateSessionFromRequest(ctx, end)
	if err != nil {
		s.log.ErrorContext(ctx, "end session", "err", err)
		s.renderError(w, r, http.StatusInternalServerError, msgUnavailable)
		return
	}
	http.Redirect(w, r, redirect, http.StatusSeeOther)
}
