package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/faceidp/faceidp/idp/accounts"
	"github.com/faceidp/faceidp/models"
)

func (c *console) render(w http.ResponseWriter, r *http.Request, v *view) error {
	if n := c.takeNotice(w, r); n != "" && v.Notice == "" {
		v.Notice = n
	}
	c.page(w, r, http.StatusOK, *v)
	return nil
}

func (c *console) users(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Page, v.Query = "users", r.URL.Query().Get("q")
	p := pageFrom(r)
	us, err := c.a.acc.SearchUsers(r.Context(), v.Query, p)
	if err != nil {
		return err
	}
	v.Users = us
	v.PrevPage, v.NextPage = pager(r, p, len(us))
	return c.render(w, r, v)
}

// pager links the previous and next pages of a list.
func pager(r *http.Request, p accounts.Page, n int) (prev, next string) {
	q := r.URL.Query()
	if p.Offset > 0 {
		q.Set("offset", strconv.Itoa(max(0, p.Offset-p.Limit)))
		prev = r.URL.Path + "?" + q.Encode()
	}
	if n == p.Limit {
		q.Set("offset", strconv.Itoa(p.Offset+p.Limit))
		next = r.URL.Path + "?" + q.Encode()
	}
	return prev, next
}

func (c *console) createUser(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Page = "users"
	u, pw, err := c.a.acc.CreateUserWithPassword(r.Context(), accounts.NewUser{
		Username: r.PostFormValue("username"), Email: r.PostFormValue("email"), Name: r.PostFormValue("name"),
		RequireFace: r.PostFormValue("require_face") == "on", Admin: r.PostFormValue("admin") == "on",
		EmailVerified: r.PostFormValue("email_verified") == "on",
	})
	if err != nil {
		return err
	}
	v.Page, v.Notice = "secret", fmt.Sprintf("User %s created.", u.Username)
	v.SecretLabel, v.Secret = "Initial password for "+u.Username+" (shown once; hand it over yourself)", pw
	return c.showOnce(w, r, v)
}

func (c *console) user(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Page = "user"
	st, err := c.a.acc.UserFactorState(r.Context(), r.PathValue("user"))
	if err != nil {
		return err
	}
	v.User = st
	return c.render(w, r, v)
}

func (c *console) userAction(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx, ref := r.Context(), r.PathValue("user")
	u, err := c.a.acc.FindUser(ctx, ref)
	if err != nil {
		return err
	}
	back := "/admin/users/" + url.PathEscape(u.ID)
	switch r.PathValue("action") {
	case "disable":
		if u.ID == v.Admin.ID {
			return fmt.Errorf("you cannot disable your own account here")
		}
		n, err := c.a.acc.DisableUser(ctx, u.ID)
		if err != nil {
			return err
		}
		return c.redirect(w, r, back, fmt.Sprintf("Disabled; %d session(s) revoked.", n))
	case "enable":
		if _, err := c.a.acc.EnableUser(ctx, u.ID); err != nil {
			return err
		}
		return c.redirect(w, r, back, "Enabled; throttles cleared.")
	case "unlock":
		n, err := c.a.acc.Unlock(ctx, u.ID)
		if err != nil {
			return err
		}
		return c.redirect(w, r, back, fmt.Sprintf("Unlocked: %d throttle counter(s) cleared.", n))
	case "reset-password":
		pw, err := c.a.acc.ResetPassword(ctx, u.ID)
		if err != nil {
			return err
		}
		v.Page, v.Notice = "secret", "Password of "+u.Username+" reset; their sessions were signed out."
		v.SecretLabel, v.Secret = "New password for "+u.Username+" (shown once; hand it over yourself)", pw
		return c.showOnce(w, r, v)
	case "require-face":
		on := r.PostFormValue("require") == "true"
		if _, err := c.a.acc.SetRequireFace(ctx, u.ID, on); err != nil {
			return err
		}
		return c.redirect(w, r, back, fmt.Sprintf("Face required: %v.", on))
	case "admin":
		on := r.PostFormValue("admin") == "true"
		if !on && u.ID == v.Admin.ID {
			return fmt.Errorf("you cannot remove your own admin role")
		}
		if _, err := c.a.acc.SetAdmin(ctx, u.ID, on); err != nil {
			return err
		}
		return c.redirect(w, r, back, fmt.Sprintf("Admin role: %v.", on))
	case "face-revoke":
		ok, err := c.a.acc.ResetFace(ctx, u.ID)
		if err != nil {
			return err
		}
		if !ok {
			return c.redirect(w, r, back, "No face was enrolled.")
		}
		return c.redirect(w, r, back, "Face enrolment revoked.")
	case "face-reenrol":
		if err := c.a.acc.ForceFaceReenrol(ctx, u.ID); err != nil {
			return err
		}
		return c.redirect(w, r, back, "Face enrolment revoked; the next sign-in enrols a new face.")
	case "face-enable":
		if _, err := c.a.acc.EnableFace(ctx, u.ID); err != nil {
			return err
		}
		return c.redirect(w, r, back, "Face sign-in enabled again.")
	case "bypass":
		hours, err := strconv.Atoi(r.PostFormValue("hours"))
		if err != nil || hours < 1 || hours > 168 {
			return fmt.Errorf("the bypass lasts 1 to 168 hours")
		}
		b, err := c.a.acc.GrantFaceBypass(ctx, u.ID, r.PostFormValue("reason"), time.Duration(hours)*time.Hour)
		if err != nil {
			return err
		}
		return c.redirect(w, r, back, "Face bypass granted until "+b.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")+".")
	case "bypass-revoke":
		if _, err := c.a.acc.RevokeFaceBypass(ctx, u.ID); err != nil {
			return err
		}
		return c.redirect(w, r, back, "Face bypass revoked.")
	case "recovery-codes":
		codes, err := c.a.acc.RegenerateRecoveryCodes(ctx, u.ID)
		if err != nil {
			return err
		}
		v.Page, v.Notice, v.Codes = "secret", "New recovery codes for "+u.Username+"; the old ones no longer work.", codes
		return c.showOnce(w, r, v)
	}
	return accountsNotFound("no such action")
}

func accountsNotFound(msg string) error { return fmt.Errorf("%s: %w", msg, accounts.ErrNotFound) }

func (c *console) faces(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Page = "faces"
	p := pageFrom(r)
	fs, err := c.a.acc.ListFaceEnrolments(r.Context(), p)
	if err != nil {
		return err
	}
	v.Faces = fs
	v.PrevPage, v.NextPage = pager(r, p, len(fs))
	return c.render(w, r, v)
}

func (c *console) clients(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Page = "clients"
	cs, err := c.a.acc.ListClients(r.Context())
	if err != nil {
		return err
	}
	v.Clients = cs
	return c.render(w, r, v)
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ' ' || r == ',' }) {
		out = append(out, l)
	}
	return out
}

func (c *console) createClient(w http.ResponseWriter, r *http.Request, v *view) error {
	kind := r.PostFormValue("kind")
	in := accounts.NewClient{
		ID: strings.TrimSpace(r.PostFormValue("id")), Name: r.PostFormValue("name"),
		RedirectURIs: lines(r.PostFormValue("redirect_uris")), SkipConsent: r.PostFormValue("skip_consent") == "on",
		RequireFace: r.PostFormValue("require_face") == "on",
	}
	switch kind {
	case "confidential":
		in.GenerateSecret = true
	case "service":
		in.Service, in.Scopes = true, []string{Scope}
	}
	cl, secret, err := c.a.acc.CreateClient(r.Context(), in)
	if err != nil {
		v.Page = "clients"
		if cs, lerr := c.a.acc.ListClients(r.Context()); lerr == nil {
			v.Clients = cs
		}
		return err
	}
	if secret == "" {
		return c.redirect(w, r, "/admin/clients/"+url.PathEscape(cl.ID), "Client created (public: PKCE, no secret).")
	}
	v.Page, v.Notice = "secret", "Client "+cl.ID+" created."
	v.SecretLabel, v.Secret = "Client secret of "+cl.ID+" (shown once)", secret
	return c.showOnce(w, r, v)
}

func (c *console) client(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Page = "client"
	cl, err := c.a.acc.GetClient(r.Context(), r.PathValue("client"))
	if err != nil {
		return err
	}
	v.Client = cl
	return c.render(w, r, v)
}

func (c *console) clientAction(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx, id := r.Context(), r.PathValue("client")
	if id == ConsoleClientID {
		return fmt.Errorf("the console's own client is managed by faceidp")
	}
	back := "/admin/clients/" + url.PathEscape(id)
	switch r.PathValue("action") {
	case "edit":
		name := r.PostFormValue("name")
		if _, err := c.a.acc.UpdateClient(ctx, id, accounts.ClientEdit{
			Name: &name, RedirectURIs: lines(r.PostFormValue("redirect_uris")), PostLogoutRedirectURIs: nonNil(lines(r.PostFormValue("post_logout_redirect_uris"))),
		}); err != nil {
			return err
		}
		return c.redirect(w, r, back, "Client saved.")
	case "rotate-secret":
		secret, err := c.a.acc.RotateClientSecret(ctx, id)
		if err != nil {
			return err
		}
		v.Page, v.Notice = "secret", "The old secret of "+id+" no longer works."
		v.SecretLabel, v.Secret = "New client secret of "+id+" (shown once)", secret
		return c.showOnce(w, r, v)
	case "policy":
		p := models.ClientPolicy{FaceMode: r.PostFormValue("face_mode"), FaceEnrolment: r.PostFormValue("face_enrolment"), FirstFactors: r.PostForm["first_factors"]}
		switch r.PostFormValue("passkey_skips_face") {
		case "true":
			t := true
			p.PasskeySkipsFace = &t
		case "false":
			f := false
			p.PasskeySkipsFace = &f
		}
		if _, err := c.a.acc.SetClientPolicy(ctx, id, p); err != nil {
			return err
		}
		return c.redirect(w, r, back, "Policy saved.")
	case "disable", "enable":
		if _, err := c.a.acc.SetClientDisabled(ctx, id, r.PathValue("action") == "disable"); err != nil {
			return err
		}
		return c.redirect(w, r, back, "Client "+r.PathValue("action")+"d.")
	}
	return accountsNotFound("no such action")
}

func (c *console) keys(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Page = "keys"
	ks, err := c.a.acc.ListSigningKeys(r.Context())
	if err != nil {
		return err
	}
	v.Keys = ks
	return c.render(w, r, v)
}

func (c *console) rotateKeys(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := c.a.acc.RotateSigningKeys(r.Context()); err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/keys", "Signing keys rotated; the retired ones stay published until their tokens expire.")
}

func (c *console) audit(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Page, v.Filter = "audit", r.URL.Query()
	aq, err := auditQuery(r)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("format") == "csv" {
		aq.Page = accounts.Page{Limit: accounts.MaxExport}
		evs, err := c.a.acc.QueryAudit(r.Context(), aq)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="faceidp-audit.csv"`)
		return accounts.WriteAuditCSV(w, evs)
	}
	evs, err := c.a.acc.QueryAudit(r.Context(), aq)
	if err != nil {
		return err
	}
	v.Events = evs
	v.PrevPage, v.NextPage = pager(r, aq.Page, len(evs))
	return c.render(w, r, v)
}

func (c *console) abuse(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Page = "abuse"
	a, err := c.a.acc.AbuseOverview(r.Context(), 24*time.Hour)
	if err != nil {
		return err
	}
	v.Abuse = a
	return c.render(w, r, v)
}
