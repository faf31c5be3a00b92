package admin

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/csrf"
	"github.com/gorilla/sessions"

	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/idp/accounts"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// console serves the server-rendered pages (templates/admin.html).
type console struct {
	a       *Admin
	host    idp.AdminHost
	cookies *sessions.CookieStore
	secure  bool
}

func newConsole(a *Admin, host idp.AdminHost) *console {
	secure := strings.HasPrefix(host.Issuer(), "https://")
	return &console{a: a, host: host, cookies: newCookieStore(a.opts.CookieHashKey, a.opts.CookieBlockKey, secure), secure: secure}
}

// view is the data of admin.html; Page selects the section.
type view struct {
	Page      string
	Admin     *models.User
	CSRFField template.HTML
	Notice    string
	Error     string
	// Secret is a one-time value (password, client secret) shown once.
	Secret      string
	SecretLabel string
	Codes       []string

	Query    string
	Users    []models.User
	User     *accounts.FactorState
	Faces    []accounts.FaceEnrolment
	Clients  []models.Client
	Client   *models.Client
	Keys     []models.SigningKey
	Events   []models.AuditEvent
	Filter   url.Values
	Abuse    *accounts.Abuse
	PrevPage string
	NextPage string
	Now      time.Time
}

func (c *console) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/login", c.login)
	mux.HandleFunc("GET /admin/callback", c.callback)
	mux.HandleFunc("POST /admin/logout", func(w http.ResponseWriter, r *http.Request) {
		c.clear(w, r)
		c.page(w, r, http.StatusOK, view{Page: "signedout"})
	})
	get := func(pattern string, fn func(w http.ResponseWriter, r *http.Request, v *view) error) {
		mux.Handle("GET "+pattern, c.authed(false, fn))
	}
	post := func(pattern string, fn func(w http.ResponseWriter, r *http.Request, v *view) error) {
		mux.Handle("POST "+pattern, c.authed(true, fn))
	}
	mux.Handle("GET /admin/{$}", http.RedirectHandler("/admin/users", http.StatusSeeOther))
	get("/admin/once", c.once)
	get("/admin/users", c.users)
	post("/admin/users", c.createUser)
	get("/admin/users/{user}", c.user)
	post("/admin/users/{user}/{action}", c.userAction)
	get("/admin/faces", c.faces)
	get("/admin/clients", c.clients)
	post("/admin/clients", c.createClient)
	get("/admin/clients/{client}", c.client)
	post("/admin/clients/{client}/{action}", c.clientAction)
	get("/admin/keys", c.keys)
	post("/admin/keys/rotate", c.rotateKeys)
	get("/admin/audit", c.audit)
	get("/admin/abuse", c.abuse)

	protect := csrf.Protect(deriveKey(c.a.opts.CookieHashKey, "faceidp admin csrf", 32),
		csrf.Secure(c.secure), csrf.HttpOnly(true), csrf.Path("/admin/"), csrf.SameSite(csrf.SameSiteStrictMode),
		csrf.CookieName("faceidp_admin_csrf"), csrf.FieldName("csrf_token"),
		csrf.ErrorHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.page(w, r, http.StatusForbidden, view{Page: "error", Error: "The form expired or did not come from this console. Reload the page and try again."})
		})))(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.secure {
			r = csrf.PlaintextHTTPRequest(r)
		}
		protect.ServeHTTP(w, r)
	})
}

// authed runs fn for a signed-in administrator: no session → sign in;
// a user without the admin role (or disabled) → 403. A POST (every
// action) needs a sign-in within FreshAuth, or it is sent to sign in
// again first. Everything fn does is audited with the admin's subject.
func (c *console) authed(write bool, fn func(w http.ResponseWriter, r *http.Request, v *view) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs := c.load(r)
		now := c.a.opts.Clock()
		if cs.Subject == "" || !now.Before(cs.ExpiresAt) {
			next := r.URL.RequestURI()
			if write {
				next = r.Header.Get("Referer")
				if u, err := url.Parse(next); err == nil {
					next = u.RequestURI()
				}
			}
			http.Redirect(w, r, "/admin/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		u, err := c.a.acc.FindUser(r.Context(), cs.Subject)
		if err != nil && !errors.Is(err, accounts.ErrNotFound) {
			c.serverError(w, r, err)
			return
		}
		if err != nil || !u.Admin || u.Disabled || u.ID != cs.Subject {
			c.page(w, r, http.StatusForbidden, view{Page: "forbidden"})
			return
		}
		if write && now.Sub(cs.AuthTime) > c.a.opts.FreshAuth {
			back := "/admin/users"
			if ref, err := url.Parse(r.Header.Get("Referer")); err == nil && ref.Path != "" {
				back = ref.RequestURI()
			}
			http.Redirect(w, r, "/admin/login?fresh=1&next="+url.QueryEscape(back), http.StatusSeeOther)
			return
		}
		ctx := accounts.WithActor(r.Context(), accounts.Actor{Name: "admin:" + u.ID, RemoteIP: idp.RemoteIP(r.Context())})
		r = r.WithContext(ctx)
		v := &view{Admin: u, CSRFField: csrf.TemplateField(r), Now: now}
		if err := fn(w, r, v); err != nil {
			if errors.Is(err, storage.ErrUnavailable) {
				c.serverError(w, r, err)
				return
			}
			v.Error = err.Error()
			status := http.StatusBadRequest
			if errors.Is(err, accounts.ErrNotFound) {
				status = http.StatusNotFound
			}
			c.page(w, r, status, *v)
		}
	})
}

func (c *console) page(w http.ResponseWriter, r *http.Request, status int, v view) {
	if v.CSRFField == "" {
		v.CSRFField = csrf.TemplateField(r)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := c.a.tmpl.Render(w, "admin", v); err != nil {
		c.a.opts.Logger.Error("admin console: render", "err", err)
	}
}

func (c *console) serverError(w http.ResponseWriter, r *http.Request, err error) {
	c.a.opts.Logger.Error("admin console", "err", err)
	c.page(w, r, http.StatusServiceUnavailable, view{Page: "error", Error: "The server could not do this right now (the database may be unavailable). Try again."})
}

// redirect answers an action with the page to show next; notice is
// shown there once (kept in the session cookie, not the URL, so no link
// can put words in the console's mouth).
func (c *console) redirect(w http.ResponseWriter, r *http.Request, to, notice string) error {
	if s, err := c.cookies.Get(r, sessionCookie); err == nil {
		s.AddFlash(notice)
		if err := s.Save(r, w); err != nil {
			return err
		}
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// takeNotice returns and forgets the notice of the last action.
func (c *console) takeNotice(w http.ResponseWriter, r *http.Request) string {
	s, err := c.cookies.Get(r, sessionCookie)
	if err != nil {
		return ""
	}
	fl := s.Flashes()
	if len(fl) == 0 {
		return ""
	}
	_ = s.Save(r, w)
	n, _ := fl[len(fl)-1].(string)
	return n
}

func pageFrom(r *http.Request) accounts.Page {
	off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	return accounts.Page{Limit: 50, Offset: max(off, 0)}
}
