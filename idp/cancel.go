package idp

// A way back to the application from any step of the sign-in: a throttled
// or disabled factor is never a dead end. "Return to <app>" ends the
// sign-in and sends the browser to the client's redirect_uri with
// error=access_denied (through op.AuthRequestError, with the client's
// state), so the application can show its own page.

import (
	"net/http"
	"net/url"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/models"
)

// CancelPath is where a page links for "return to the application": GET
// shows a confirmation with a form, POST cancels.
func CancelPath(authRequestID string) string {
	return "/login/cancel?authRequestID=" + url.QueryEscape(authRequestID)
}

func clientName(c *models.Client) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

func (s *Server) cancelPage(w http.ResponseWriter, r *http.Request) {
	f, err := s.loadFlow(r, r.URL.Query().Get("authRequestID"))
	if err != nil {
		s.renderFlowError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "cancel", map[string]any{
		"AuthRequestID": f.Request.ID,
		"ClientName":    clientName(f.Client),
	})
}

func (s *Server) cancelSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		s.renderFlowError(w, r, &FlowError{http.StatusBadRequest, "The form could not be read."})
		return
	}
	f, err := s.loadFlow(r, r.PostForm.Get("authRequestID"))
	if err != nil {
		s.renderFlowError(w, r, err)
		return
	}
	s.audit(ctx, "login.cancel", "info", f.Request.UserID, f.Client.ID, "the user returned to the application", map[string]any{"step": string(f.Request.Step)})
	if err := s.store.DeleteAuthRequest(ctx, f.Request.ID); err != nil {
		s.log.ErrorContext(ctx, "delete cancelled auth request", "err", err)
	}
	op.AuthRequestError(w, r, &authRequest{f.Request}, oidc.ErrAccessDenied().WithDescription("the user cancelled the sign-in"), s.provider)
}

// renderThrottled shows a throttled or disabled factor: what happened,
// when to try again (or what to do when it is disabled), and the way back
// to the application when the request names its sign-in.
func (s *Server) renderThrottled(w http.ResponseWriter, r *http.Request, te *ThrottledError) {
	data := map[string]any{"Message": te.Message(), "Fallback": te.Fallback(), "Disabled": te.Disabled}
	id := r.URL.Query().Get("authRequestID")
	if id == "" && r.PostForm != nil {
		id = r.PostForm.Get("authRequestID")
	}
	if f, err := s.loadFlow(r, id); err == nil {
		data["AuthRequestID"], data["ClientName"] = f.Request.ID, clientName(f.Client)
		// After the wait, the same step again: the sign-in form, or the
		// throttled second factor's page.
		switch {
		case te.Disabled:
		case f.Request.Step == models.StepFirstFactor:
			data["RetryURL"], data["RetryLabel"] = loginURL(s.issuer)(f.Request.ID), "Back to the sign-in form"
		case f.Request.Step == models.StepSecondFactor && s.factors[te.Factor] != nil:
			data["RetryURL"] = s.factors[te.Factor].Path(models.StepSecondFactor, f.Request.ID)
			data["RetryLabel"] = "Try again after the wait"
		}
		if te.Factor == policy.AMRFace && f.Request.Step == models.StepSecondFactor && s.opts.Recovery != nil {
			data["FallbackPath"] = FallbackPath(f.Request.ID)
		}
	}
	status := http.StatusTooManyRequests
	if te.Disabled {
		status = http.StatusForbidden
	} else {
		w.Header().Set("Retry-After", retryAfterSeconds(te.Wait))
	}
	s.render(w, r, status, "throttled", data)
}
