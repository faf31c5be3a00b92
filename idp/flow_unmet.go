package idp

// When a sign-in cannot satisfy the client's policy or what the relying
// app asked for (acr_values, a face requirement the server cannot serve,
// a face that must not be enrolled during sign-in), the flow ends at the
// app's redirect_uri with OpenID Connect's unmet_authentication_requirements
// (Core 1.0 §3.1.2.6, as registered by the IANA OAuth parameters registry),
// state included. The app decides what to tell its user.

import (
	"context"
	"fmt"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/faceidp/faceidp/factors/policy"
)

// unmetNoFirstFactor is the Decision.Unmet of a client whose policy allows
// only first factors the server does not serve.
const unmetNoFirstFactor = "first_factor_unavailable"

// errUnmetAuthentication is the OIDC error code.
const errUnmetAuthentication = "unmet_authentication_requirements"

func unmetDescription(reason string) string {
	switch reason {
	case policy.UnmetACR:
		return "none of the requested acr_values can be satisfied for this user"
	case policy.UnmetFaceUnavailable:
		return "this client requires face verification, which this server does not offer"
	case policy.UnmetFaceNotEnrolled:
		return "face verification is required and the user has no enrolled face; enrolment during sign-in is disabled for this client"
	case unmetNoFirstFactor:
		return "no sign-in method this client allows is available on this server"
	}
	return "the authentication requirements cannot be met"
}

// unmet ends the flow: it audits why, deletes the auth request and returns
// the URL of the error redirect to the client.
func (s *Server) unmet(ctx context.Context, f *Flow, d policy.Decision) (string, error) {
	req := f.Request
	s.audit(ctx, "login.unmet", "failure", req.UserID, req.ClientID, d.Unmet,
		map[string]any{"acr_values": req.ACRValues, "completed": req.AMR, "step": string(req.Step)})
	if err := s.store.DeleteAuthRequest(ctx, req.ID); err != nil {
		s.log.ErrorContext(ctx, "delete unmet auth request", "err", err)
	}
	e := &oidc.Error{ErrorType: errUnmetAuthentication, Description: unmetDescription(d.Unmet)}
	redirect, err := op.TryErrorRedirect(ctx, &authRequest{req}, e, s.provider.Encoder(), s.log)
	if err != nil {
		return "", fmt.Errorf("unmet authentication requirements: %w", err)
	}
	return redirect.URL, nil
}
