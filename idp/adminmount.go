package idp

import (
	"context"
	"net/http"

	"github.com/faceidp/faceidp/models"
)

// AdminHost is what the admin surface (idp/admin) uses of the provider:
// it checks the access tokens the provider issued, and signs its
// administrators in through the provider's own endpoints, in process.
type AdminHost interface {
	Issuer() string
	// Handler serves the provider (the admin console exchanges its
	// authorization codes through it without a network round trip).
	Handler() http.Handler
	ServiceToken(ctx context.Context, token string) (*models.AccessToken, *models.Client, error)
	UserToken(ctx context.Context, token string) (*models.AccessToken, *models.User, error)
}

var _ AdminHost = (*Server)(nil)

// mountAdmin serves opts.Admin under /admin/ with the login pages'
// security headers.
func (s *Server) mountAdmin(root *http.ServeMux) {
	if s.opts.Admin == nil {
		return
	}
	h := s.opts.Admin(s)
	root.Handle("/admin/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w)
		h.ServeHTTP(w, r)
	}))
	root.Handle("GET /admin", http.RedirectHandler("/admin/", http.StatusSeeOther))
}
