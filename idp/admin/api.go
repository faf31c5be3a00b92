package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/idp/accounts"
	"github.com/faceidp/faceidp/storage"
)

// apiServer is the JSON API under /admin/api/v1/ (docs/admin-api.md).
type apiServer struct {
	a    *Admin
	host idp.AdminHost
}

const apiPrefix = "/admin/api/v1"

// maxAPIBody caps request bodies of the API.
const maxAPIBody = 64 << 10

func (s *apiServer) mount(mux *http.ServeMux) {
	h := func(pattern string, fn func(w http.ResponseWriter, r *http.Request) error) {
		method, path, _ := strings.Cut(pattern, " ")
		mux.Handle(method+" "+apiPrefix+path, s.authenticated(fn))
	}
	h("GET /users", s.listUsers)
	h("POST /users", s.createUser)
	h("GET /users/{user}", s.getUser)
	h("POST /users/{user}/disable", s.userAct(func(r *http.Request, ref string) (any, error) {
		n, err := s.a.acc.DisableUser(r.Context(), ref)
		return map[string]any{"sessions_revoked": n}, err
	}))
	h("POST /users/{user}/enable", s.userAct(func(r *http.Request, ref string) (any, error) {
		n, err := s.a.acc.EnableUser(r.Context(), ref)
		return map[string]any{"throttles_cleared": n}, err
	}))
	h("POST /users/{user}/unlock", s.userAct(func(r *http.Request, ref string) (any, error) {
		n, err := s.a.acc.Unlock(r.Context(), ref)
		return map[string]any{"throttles_cleared": n}, err
	}))
	h("POST /users/{user}/reset-password", s.userAct(func(r *http.Request, ref string) (any, error) {
		pw, err := s.a.acc.ResetPassword(r.Context(), ref)
		return map[string]any{"password": pw}, err
	}))
	h("PUT /users/{user}/require-face", s.userBool("require_face", s.a.acc.SetRequireFace))
	h("PUT /users/{user}/admin", s.userBool("admin", s.a.acc.SetAdmin))
	h("POST /users/{user}/face/revoke", s.userAct(func(r *http.Request, ref string) (any, error) {
		deleted, err := s.a.acc.ResetFace(r.Context(), ref)
		return map[string]any{"revoked": deleted}, err
	}))
	h("POST /users/{user}/face/reenrol", s.userAct(func(r *http.Request, ref string) (any, error) {
		return map[string]any{"require_face": true}, s.a.acc.ForceFaceReenrol(r.Context(), ref)
	}))
	h("POST /users/{user}/face/enable", s.userAct(func(r *http.Request, ref string) (any, error) {
		cleared, err := s.a.acc.EnableFace(r.Context(), ref)
		return map[string]any{"was_throttled": cleared}, err
	}))
	h("POST /users/{user}/face-bypass", s.grantBypass)
	h("DELETE /users/{user}/face-bypass", s.userAct(func(r *http.Request, ref string) (any, error) {
		ok, err := s.a.acc.RevokeFaceBypass(r.Context(), ref)
		return map[string]any{"revoked": ok}, err
	}))
	h("POST /users/{user}/recovery-codes", s.userAct(func(r *http.Request, ref string) (any, error) {
		codes, err := s.a.acc.RegenerateRecoveryCodes(r.Context(), ref)
		return map[string]any{"codes": codes}, err
	}))
	h("GET /face-enrolments", s.listFaces)
	h("GET /clients", s.listClients)
	h("POST /clients", s.createClient)
	h("GET /clients/{client}", s.getClient)
	h("PATCH /clients/{client}", s.updateClient)
	h("POST /clients/{client}/rotate-secret", s.rotateSecret)
	h("PUT /clients/{client}/policy", s.setPolicy)
	h("PUT /clients/{client}/disabled", s.setClientDisabled)
	h("GET /keys", s.listKeys)
	h("POST /keys/rotate", s.rotateKeys)
	h("GET /audit", s.audit)
	h("GET /abuse", s.abuse)
	mux.Handle(apiPrefix+"/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeAPIError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	}))
}

// apiError is an error with its HTTP status and stable code.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func badRequest(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, "invalid_request", fmt.Sprintf(format, args...)}
}

func writeAPIError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// authenticated checks the bearer token (a service client's, with the
// admin scope), names the client as the actor of what fn does, and maps
// fn's error to a JSON error.
func (s *apiServer) authenticated(fn func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		scheme, token, _ := strings.Cut(auth, " ")
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="faceidp admin"`)
			writeAPIError(w, http.StatusUnauthorized, "unauthorized", "an access token (Authorization: Bearer) from the client_credentials grant is required")
			return
		}
		at, c, err := s.host.ServiceToken(r.Context(), strings.TrimSpace(token))
		if errors.Is(err, idp.ErrInvalidToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="faceidp admin", error="invalid_token"`)
			writeAPIError(w, http.StatusUnauthorized, "invalid_token", "the access token is invalid, expired or revoked, or not a service client's")
			return
		}
		if err != nil {
			writeAPIError(w, http.StatusServiceUnavailable, "unavailable", "the database is unavailable; try again")
			return
		}
		if !slices.Contains(at.Scopes, Scope) || !slices.Contains(c.Scopes, Scope) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="faceidp admin", error="insufficient_scope", scope="admin"`)
			writeAPIError(w, http.StatusForbidden, "insufficient_scope", `the access token lacks the "admin" scope`)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxAPIBody)
		ctx := accounts.WithActor(r.Context(), accounts.Actor{Name: "client:" + c.ID, RemoteIP: idp.RemoteIP(r.Context())})
		if err := fn(w, r.WithContext(ctx)); err != nil {
			s.fail(w, err)
		}
	})
}

// fail answers err: its own status for an apiError, otherwise by kind.
func (s *apiServer) fail(w http.ResponseWriter, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		writeAPIError(w, ae.status, ae.code, ae.message)
	case errors.Is(err, storage.ErrUnavailable):
		s.a.opts.Logger.Error("admin api: storage unavailable", "err", err)
		writeAPIError(w, http.StatusServiceUnavailable, "unavailable", "the database is unavailable; try again")
	case errors.Is(err, accounts.ErrNotFound):
		writeAPIError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, accounts.ErrConflict):
		writeAPIError(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, accounts.ErrNotConfigured):
		writeAPIError(w, http.StatusNotImplemented, "not_configured", err.Error())
	default:
		writeAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
	}
}

// decode reads a JSON body strictly into v.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &apiError{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is larger than %d bytes", maxAPIBody)}
		}
		return badRequest("the body is not the JSON this endpoint takes: %v", err)
	}
	return nil
}

// page reads limit and offset from the query.
func page(r *http.Request) (accounts.Page, error) {
	var p accounts.Page
	for name, dst := range map[string]*int{"limit": &p.Limit, "offset": &p.Offset} {
		if v := r.URL.Query().Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return p, badRequest("%s must be a non-negative integer, got %q", name, v)
			}
			*dst = n
		}
	}
	if p.Limit == 0 {
		p.Limit = 50
	}
	if p.Limit > accounts.MaxPageSize {
		return p, badRequest("limit is at most %d", accounts.MaxPageSize)
	}
	return p, nil
}

// list is a page of items with the offset of the next page (nil on the
// last one).
type list struct {
	Items      any  `json:"items"`
	Limit      int  `json:"limit"`
	Offset     int  `json:"offset"`
	NextOffset *int `json:"next_offset"`
}

func writeList[T any](w http.ResponseWriter, p accounts.Page, items []T) {
	l := list{Items: items, Limit: p.Limit, Offset: p.Offset}
	if items == nil {
		l.Items = []T{}
	}
	if len(items) == p.Limit {
		n := p.Offset + p.Limit
		l.NextOffset = &n
	}
	writeJSON(w, http.StatusOK, l)
}

// writePage answers the page p of items, each as view shows it; err, when
// not nil, is returned for the caller's error answer instead.
func writePage[T, V any](w http.ResponseWriter, p accounts.Page, items []T, err error, view func(*T) V) error {
	if err != nil {
		return err
	}
	out := make([]V, len(items))
	for i := range items {
		out[i] = view(&items[i])
	}
	writeList(w, p, out)
	return nil
}

func (s *apiServer) userAct(fn func(r *http.Request, ref string) (any, error)) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		out, err := fn(r, r.PathValue("user"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

func (s *apiServer) userBool(field string, fn func(ctx context.Context, ref string, v bool) (bool, error)) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var body map[string]*bool
		if err := decode(r, &body); err != nil {
			return err
		}
		v, ok := body[field]
		if !ok || v == nil || len(body) != 1 {
			return badRequest(`the body must be {"%s": true|false}`, field)
		}
		changed, err := fn(r.Context(), r.PathValue("user"), *v)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{field: *v, "changed": changed})
		return nil
	}
}

// duration parses a Go duration ("24h") or a number of seconds.
func duration(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, badRequest("%q is not a duration like 24h", v)
	}
	return d, nil
}
