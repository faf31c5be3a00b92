package demorp

import (
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"
)

// page is what the single template renders.
type page struct {
	Issuer   string
	ClientID string
	// AccountURL is the provider's account page (face, passkeys, recovery codes).
	AccountURL string
	Error      string
	Notice     string
	Session    *sessionView
}

type sessionView struct {
	Subject      string
	Name         string
	AMR          []string
	ACR          string
	AuthTime     string
	Expiry       string
	Claims       []claim
	ClaimsJSON   string
	Userinfo     string
	UserinfoErr  string
	HasRefresh   bool
	AccessExpiry string
	CSRF         string
}

type claim struct{ Name, Value string }

// view renders s for the template; the caller holds the app's lock.
func (s *session) view() *sessionView {
	v := &sessionView{Subject: s.idToken.Subject, CSRF: s.csrf, HasRefresh: s.token.RefreshToken != "", UserinfoErr: s.uiErr}
	if n, ok := s.claims["name"].(string); ok {
		v.Name = n
	}
	if amr, ok := s.claims["amr"].([]any); ok {
		for _, m := range amr {
			if str, ok := m.(string); ok {
				v.AMR = append(v.AMR, str)
			}
		}
	}
	v.ACR, _ = s.claims["acr"].(string)
	if at, ok := s.claims["auth_time"].(float64); ok {
		v.AuthTime = time.Unix(int64(at), 0).UTC().Format(time.RFC1123)
	}
	v.Expiry = s.idToken.Expiry.UTC().Format(time.RFC1123)
	if !s.token.Expiry.IsZero() {
		v.AccessExpiry = s.token.Expiry.UTC().Format(time.RFC1123)
	}
	names := make([]string, 0, len(s.claims))
	for k := range s.claims {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		b, _ := json.Marshal(s.claims[k])
		v.Claims = append(v.Claims, claim{k, string(b)})
	}
	b, _ := json.MarshalIndent(s.claims, "", "  ")
	v.ClaimsJSON = string(b)
	if s.userinfo != nil {
		b, _ := json.MarshalIndent(s.userinfo, "", "  ")
		v.Userinfo = string(b)
	}
	return v
}

func (a *App) render(w http.ResponseWriter, status int, p page) {
	if p.Issuer == "" {
		p.Issuer, p.ClientID = a.opts.Issuer, a.opts.ClientID
	}
	p.AccountURL = strings.TrimSuffix(p.Issuer, "/") + "/login/account/"
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pageTemplate.Execute(w, p); err != nil {
		a.opts.Logger.Warn("demo-rp: render page", "err", err)
	}
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>faceidp demo app</title>
<style>
body{font-family:system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;color:#1d2330;background:#f7f8fa}
h1{font-size:1.5rem} h2{font-size:1.15rem;margin-top:2rem}
.card{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:1rem 1.25rem;margin:1rem 0}
.error{border-color:#d33;background:#fff4f4} .notice{border-color:#2a7;background:#f2fbf6}
table{border-collapse:collapse;width:100%} td{border-top:1px solid #eee;padding:.35rem .5rem;vertical-align:top}
td:first-child{font-family:monospace;white-space:nowrap;width:10rem}
td:last-child{font-family:monospace;word-break:break-all}
pre{background:#f1f3f6;padding:.75rem;overflow:auto;font-size:.85rem}
.btn{display:inline-block;padding:.55rem 1rem;border-radius:6px;border:1px solid #345;background:#234;color:#fff;text-decoration:none;font-size:1rem;cursor:pointer;margin-right:.5rem}
.btn.secondary{background:#fff;color:#234}
.tag{display:inline-block;padding:.1rem .5rem;border-radius:1rem;background:#e3ecff;margin-right:.3rem;font-family:monospace}
form{display:inline}
</style></head><body>
<h1>faceidp demo app</h1>
<p>A relying party signing in through <code>{{.Issuer}}</code> as client <code>{{.ClientID}}</code>, with the authorization code flow and PKCE.</p>
{{if .Error}}<div class="card error" role="alert"><strong>Error:</strong> {{.Error}}</div>{{end}}
{{if .Notice}}<div class="card notice" role="status">{{.Notice}}</div>{{end}}
{{with .Session}}
<div class="card">
<p>Signed in as <strong>{{if .Name}}{{.Name}}{{else}}{{.Subject}}{{end}}</strong>.</p>
<p>Authentication methods (amr): {{range .AMR}}<span class="tag" data-amr="{{.}}">{{.}}</span>{{else}}none reported{{end}}</p>
<p>acr: <code>{{.ACR}}</code> · authenticated at (auth_time): {{.AuthTime}} · ID token expires: {{.Expiry}}</p>
<form method="post" action="/refresh"><input type="hidden" name="csrf" value="{{.CSRF}}"><button class="btn secondary" type="submit"{{if not .HasRefresh}} disabled{{end}}>Refresh tokens</button></form>
<a class="btn secondary" href="/login?prompt=login">Sign in again (prompt=login)</a>
<form method="post" action="/logout"><input type="hidden" name="csrf" value="{{.CSRF}}"><button class="btn" type="submit">Sign out</button></form>
<p><a id="account" href="{{$.AccountURL}}">Your faceidp account</a>: add a passkey, make recovery codes, enrol your face again.</p>
</div>
<h2>ID token claims (verified)</h2>
<div class="card"><table id="claims">{{range .Claims}}<tr><td>{{.Name}}</td><td>{{.Value}}</td></tr>{{end}}</table></div>
<h2>Userinfo</h2>
<div class="card">{{if .UserinfoErr}}<p class="error">userinfo failed: {{.UserinfoErr}}</p>{{else}}<pre id="userinfo">{{.Userinfo}}</pre>{{end}}
{{if .AccessExpiry}}<p>Access token expires: {{.AccessExpiry}}</p>{{end}}</div>
{{else}}
<div class="card"><p>You are not signed in.</p>
<a class="btn" href="/login">Sign in with faceidp</a>
<p>Once signed in, <a id="account" href="{{.AccountURL}}">your faceidp account</a> lets you add a passkey and then sign in with it.</p></div>
{{end}}
</body></html>
`))
