package idp

import (
	"context"
	"crypto/rand"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/faceidp/faceidp/internal/testclock"
	"github.com/faceidp/faceidp/internal/teststore"

	"github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/internal/logintest"
	"github.com/faceidp/faceidp/keyring"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
	"github.com/faceidp/faceidp/storage/sqlstore"
)

type swapHandler struct{ h http.Handler }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

// env is an in-process provider on 127.0.0.1 over a fresh SQLite database.
type env struct {
	t      *testing.T
	ctx    context.Context
	issuer string
	store  storage.Storage
	idp    *Server
	clock  *testclock.Clock
	hasher *password.Hasher
	kr     *keyring.Keyring
	opts   Options // what New was given
	dbURL  string
}

type envOption func(*Options)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	return newEnvDB(t, "sqlite://"+filepath.Join(t.TempDir(), "faceidp.db"), opts...)
}

// newEnvDB is newEnv over the database at dbURL (fresh and empty).
func newEnvDB(t *testing.T, dbURL string, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	clock := testclock.New(time.Now().UTC().Truncate(time.Second))
	store := teststore.Open(t, dbURL, sqlstore.WithClock(clock.Now))
	kr, err := keyring.New([]keyring.Key{{ID: "k1", Secret: logintest.RandomBytes(t, 32)}}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h := &swapHandler{}
	srv := httptest.NewUnstartedServer(h)
	issuer := "http://" + srv.Listener.Addr().String()
	var tokenKey [32]byte
	copy(tokenKey[:], logintest.RandomBytes(t, 32))
	o := Options{
		Issuer:         issuer,
		Store:          store,
		Keyring:        kr,
		CookieHashKey:  logintest.RandomBytes(t, 32),
		CookieBlockKey: logintest.RandomBytes(t, 32),
		TokenKey:       tokenKey,
		Clock:          clock.Now,
	}
	for _, opt := range opts {
		opt(&o)
	}
	s, err := New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	h.h = s.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	hasher, err := password.New(password.Params{}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, issuer: issuer, store: store, idp: s, clock: clock, hasher: hasher, kr: kr, opts: o, dbURL: dbURL}
}

// secondInstance starts another provider process-alike on its own address:
// same issuer, secrets and database (its own connection pool), as a second
// instance behind a load balancer would be. It returns its base URL; a
// request sent there is served by that instance only.
func (e *env) secondInstance(t *testing.T, opts ...envOption) (string, *Server) {
	t.Helper()
	store, err := sqlstore.Open(e.ctx, e.dbURL, sqlstore.WithClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	o := e.opts
	o.Store = store
	for _, opt := range opts {
		opt(&o)
	}
	s, err := New(e.ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv.URL, s
}

func (e *env) addUser(id, username, email, name, pw string) *models.User {
	e.t.Helper()
	hash, err := e.hasher.Hash(pw)
	if err != nil {
		e.t.Fatal(err)
	}
	u := &models.User{ID: id, Username: username, Email: email, EmailVerified: true, Name: name, PasswordHash: hash}
	if err := e.store.CreateUser(e.ctx, u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// addClient registers c; a secret is stored as faceidp stores generated
// ones (HMAC under the master key), whatever its strength.
func (e *env) addClient(c *models.Client, secret string) {
	e.t.Helper()
	if secret != "" {
		h, err := e.idp.secrets.Hash(c.ID, secret)
		if err != nil {
			e.t.Fatal(err)
		}
		c.SecretHash = h
	}
	if err := e.store.CreateClient(e.ctx, c); err != nil {
		e.t.Fatal(err)
	}
}

// addLegacyClient registers c with its secret hashed as before issue 8
// (argon2id), as an upgraded database holds it.
func (e *env) addLegacyClient(c *models.Client, secret string) {
	e.t.Helper()
	h, err := e.hasher.Hash(secret)
	if err != nil {
		e.t.Fatal(err)
	}
	c.SecretHash = h
	if err := e.store.CreateClient(e.ctx, c); err != nil {
		e.t.Fatal(err)
	}
}

// newBrowser returns a client with a cookie jar that follows redirects
// within the provider and stops at the first redirect that leaves it (the
// relying party's redirect_uri or post_logout_redirect_uri).
func (e *env) newBrowser() *http.Client { return logintest.NewBrowser(e.issuer) }

type page struct {
	status int
	url    *url.URL
	body   string
	header http.Header
}

func do(t *testing.T, c *http.Client, req *http.Request) page {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, url: resp.Request.URL, body: string(b), header: resp.Header}
}

func get(t *testing.T, c *http.Client, u string) page {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, c, req)
}

func postForm(t *testing.T, c *http.Client, u string, v url.Values) page {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, c, req)
}

var (
	formRe  = regexp.MustCompile(`(?s)<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>`)
	inputRe = regexp.MustCompile(`<input([^>]*)>`)
	attrRe  = regexp.MustCompile(`(\w+)="([^"]*)"`)
	buttons = regexp.MustCompile(`<button[^>]*type="submit"`)
)

type htmlForm struct {
	action  string
	fields  url.Values
	names   []string
	buttons int
}

// parseForm extracts the first form of a page: its action, its inputs
// (hidden values included) and how many submit buttons it has.
func parseForm(t testing.TB, body string) htmlForm {
	t.Helper()
	m := formRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form in page:\n%s", body)
	}
	f := htmlForm{action: html.UnescapeString(m[1]), fields: url.Values{}}
	for _, in := range inputRe.FindAllStringSubmatch(m[2], -1) {
		attrs := map[string]string{}
		for _, a := range attrRe.FindAllStringSubmatch(in[1], -1) {
			attrs[a[1]] = html.UnescapeString(a[2])
		}
		if attrs["name"] == "" {
			continue
		}
		f.names = append(f.names, attrs["name"])
		f.fields.Set(attrs["name"], attrs["value"])
	}
	f.buttons = len(buttons.FindAllString(m[2], -1))
	return f
}

func (e *env) abs(action string) string {
	if strings.HasPrefix(action, "/") {
		return e.issuer + action
	}
	return action
}
