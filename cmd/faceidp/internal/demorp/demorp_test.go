package demorp

import (
	"context"
	"crypto/rand"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/internal/teststore"
	"github.com/faceidp/faceidp/keyring"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage/sqlstore"
)

// stack is a real provider (idp over SQLite) and the demo app, both on
// 127.0.0.1, with a browser-like client that keeps cookies.
type stack struct {
	t       *testing.T
	issuer  string
	rp      string
	browser *http.Client
	store   *sqlstore.Store
}

func random(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func newStack(t *testing.T, clientSecret string) *stack {
	t.Helper()
	ctx := context.Background()
	store := teststore.SQLite(t)
	kr, err := keyring.New([]keyring.Key{{ID: "k1", Secret: random(t, 32)}}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var tokenKey [32]byte
	copy(tokenKey[:], random(t, 32))

	op := httptest.NewUnstartedServer(nil)
	rp := httptest.NewUnstartedServer(nil)
	s := &stack{t: t, issuer: "http://" + op.Listener.Addr().String(), rp: "http://" + rp.Listener.Addr().String(), store: store}

	srv, err := idp.New(ctx, idp.Options{
		Issuer: s.issuer, Store: store, Keyring: kr,
		CookieHashKey: random(t, 32), CookieBlockKey: random(t, 32), TokenKey: tokenKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	op.Config.Handler = srv.Handler()
	op.Start()
	t.Cleanup(op.Close)

	hasher, err := password.New(password.Params{}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := hasher.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateUser(ctx, &models.User{ID: "u-ada", Username: "ada", Email: "ada@example.com", EmailVerified: true,
		Name: "Ada Lovelace", PasswordHash: pw}); err != nil {
		t.Fatal(err)
	}
	client := &models.Client{ID: "demo", Name: "Demo app", SkipConsent: true,
		RedirectURIs: []string{s.rp + "/callback"}, PostLogoutRedirectURIs: []string{s.rp + "/"}}
	if clientSecret != "" {
		if client.SecretHash, err = hasher.Hash(clientSecret); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.CreateClient(ctx, client); err != nil {
		t.Fatal(err)
	}

	app, err := New(Options{Issuer: s.issuer, ClientID: "demo", ClientSecret: clientSecret, BaseURL: s.rp,
		Now: time.Now, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	rp.Config.Handler = app.Handler()
	rp.Start()
	t.Cleanup(rp.Close)

	jar, _ := cookiejar.New(nil)
	s.browser = &http.Client{Jar: jar, Timeout: 30 * time.Second}
	return s
}

type response struct {
	status int
	url    string
	body   string
}

func (s *stack) do(req *http.Request) response {
	s.t.Helper()
	resp, err := s.browser.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Request.URL.String(), string(b)}
}

func (s *stack) get(u string) response {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return s.do(req)
}

func (s *stack) post(u string, v url.Values) response {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return s.do(req)
}

var (
	formRe  = regexp.MustCompile(`(?s)<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>`)
	inputRe = regexp.MustCompile(`<input([^>]*)>`)
	attrRe  = regexp.MustCompile(`(\w+)="([^"]*)"`)
)

// form returns the action and fields of the page's form whose action ends
// with suffix.
func form(t *testing.T, body, suffix string) (string, url.Values) {
	t.Helper()
	for _, m := range formRe.FindAllStringSubmatch(body, -1) {
		action := html.UnescapeString(m[1])
		if !strings.HasSuffix(action, suffix) {
			continue
		}
		v := url.Values{}
		for _, in := range inputRe.FindAllStringSubmatch(m[2], -1) {
			attrs := map[string]string{}
			for _, a := range attrRe.FindAllStringSubmatch(in[1], -1) {
				attrs[a[1]] = html.UnescapeString(a[2])
			}
			if attrs["name"] != "" {
				v.Set(attrs["name"], attrs["value"])
			}
		}
		return action, v
	}
	t.Fatalf("no form posting to *%s in:\n%s", suffix, body)
	return "", nil
}

// signIn goes from the demo app's sign-in button to its signed-in page.
func (s *stack) signIn(path string) response {
	s.t.Helper()
	login := s.get(s.rp + path)
	if !strings.HasPrefix(login.url, s.issuer+"/login") || !strings.Contains(login.body, `name="password"`) {
		s.t.Fatalf("sign-in did not reach the provider's login form: %s %d\n%s", login.url, login.status, login.body)
	}
	action, fields := form(s.t, login.body, "/login/password")
	fields.Set("username", "ada")
	fields.Set("password", "correct horse battery staple")
	return s.post(s.issuer+action, fields)
}

func TestDemoAppSignsInRefreshesAndLogsOut(t *testing.T) {
	for _, tc := range []struct{ name, secret string }{{"public client", ""}, {"confidential client", "s3cret-s3cret"}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, tc.secret)

			home := s.get(s.rp + "/")
			if !strings.Contains(home.body, "You are not signed in") {
				t.Fatalf("home page before sign-in:\n%s", home.body)
			}

			page := s.signIn("/login")
			if page.status != http.StatusOK || page.url != s.rp+"/" {
				t.Fatalf("after sign-in: %d %s\n%s", page.status, page.url, page.body)
			}
			for _, want := range []string{"Signed in as <strong>Ada Lovelace</strong>", `data-amr="pwd"`, "auth_time", "u-ada",
				`&#34;email&#34;: &#34;ada@example.com&#34;`, `id="account" href="` + s.issuer + `/login/account/"`} {
				if !strings.Contains(page.body, want) {
					t.Errorf("signed-in page lacks %q:\n%s", want, page.body)
				}
			}

			action, fields := form(t, page.body, "/refresh")
			refreshed := s.post(s.rp+action, fields)
			if !strings.Contains(refreshed.body, "Tokens refreshed") || !strings.Contains(refreshed.body, "rotated the refresh token") {
				t.Errorf("refresh did not report a rotation:\n%s", refreshed.body)
			}

			// A forged form (no CSRF token) must not log the user out.
			if r := s.post(s.rp+"/logout", url.Values{}); r.status != http.StatusForbidden {
				t.Errorf("logout without the form token: status %d", r.status)
			}

			action, fields = form(t, refreshed.body, "/logout")
			out := s.post(s.rp+action, fields)
			if !strings.HasPrefix(out.url, s.rp+"/") || !strings.Contains(out.body, "You are signed out") {
				t.Fatalf("logout did not come back signed out: %s\n%s", out.url, out.body)
			}
			// The provider's session is gone too: signing in asks for the password again.
			again := s.get(s.rp + "/login")
			if !strings.Contains(again.body, `name="password"`) {
				t.Errorf("provider session survived RP-initiated logout: %s", again.url)
			}
		})
	}
}

func TestDemoAppRefusesForeignCallbacks(t *testing.T) {
	s := newStack(t, "")
	// A callback with no sign-in in progress (e.g. a forged link).
	r := s.get(s.rp + "/callback?code=abc&state=xyz")
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "unknown or expired") {
		t.Errorf("forged callback: %d\n%s", r.status, r.body)
	}
	// A sign-in in progress whose state does not match.
	req, _ := http.NewRequest(http.MethodGet, s.rp+"/login", nil)
	noFollow := *s.browser
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	r = s.get(s.rp + "/callback?code=abc&state=not-the-state")
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "state mismatch") {
		t.Errorf("state mismatch: %d\n%s", r.status, r.body)
	}
}

func TestDemoAppExplainsUnreachableProvider(t *testing.T) {
	app, err := New(Options{Issuer: "http://127.0.0.1:1", ClientID: "demo", BaseURL: "http://127.0.0.1:9", Now: time.Now, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	app.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
	if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "discover provider at http://127.0.0.1:1") {
		t.Errorf("unreachable provider: %d\n%s", rec.Code, rec.Body.String())
	}
}
