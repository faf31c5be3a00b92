package admin_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/idp/accounts"
	"github.com/faceidp/faceidp/idp/admin"
	"github.com/faceidp/faceidp/idp/clientsecret"
	"github.com/faceidp/faceidp/internal/logintest"
	"github.com/faceidp/faceidp/internal/logintest/testidp"
	"github.com/faceidp/faceidp/internal/testclock"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

const userPW = "correct horse battery"

type env struct {
	t      *testing.T
	ctx    context.Context
	issuer string
	store  storage.Storage
	clock  *testclock.Clock
	acc    *accounts.Service
	face   *testidp.FakeFace
}

// newEnv runs the provider with the console and a fake face (the real
// face factor is exercised by the Chromium tests of idp/faceweb).
func newEnv(t *testing.T) *env {
	t.Helper()
	face := testidp.NewFakeFace()
	e := newEnvWith(t, testidp.NewDeps(t), face)
	e.face = face
	return e
}

// newEnvWith runs the provider over d with the console and the second
// factor face.
func newEnvWith(t *testing.T, d *testidp.Deps, face idp.SecondFactor) *env {
	t.Helper()
	ctx := context.Background()
	secrets, err := clientsecret.New(d.Keyring, d.Hasher, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	limiter, err := throttle.New(d.Store, throttle.DefaultRules(), d.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	acc := accounts.New(d.Store, d.Hasher, secrets, d.Clock.Now, rand.Reader).WithRecovery(d.Recovery).WithThrottle(limiter).
		WithKeyRotation(func(ctx context.Context) error {
			return idp.RotateSigningKeys(ctx, idp.RotateSigningKeysOptions{Store: d.Store, Keyring: d.Keyring, Clock: d.Clock.Now, Rand: rand.Reader})
		})
	srv, issuer := testidp.NewServer()
	adm, err := admin.New(ctx, issuer, admin.Options{Accounts: acc, Store: d.Store, CookieHashKey: d.CookieHashKey, CookieBlockKey: d.CookieBlockKey, Clock: d.Clock.Now, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	opts := d.Options(issuer)
	opts.SecondFactors, opts.Admin = []idp.SecondFactor{face}, adm.Handler
	testidp.Serve(t, srv, opts)
	return &env{t: t, ctx: ctx, issuer: issuer, store: d.Store, clock: d.Clock, acc: acc}
}

func (e *env) addUser(name string, isAdmin bool) *models.User {
	e.t.Helper()
	u, err := e.acc.CreateUser(e.ctx, accounts.NewUser{Username: name, Email: name + "@example.test", Password: userPW, Admin: isAdmin})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// serviceToken registers a service client with scopes and obtains a token
// with the client-credentials grant asking for ask.
func (e *env) serviceToken(id string, scopes []string, ask string) (string, int) {
	e.t.Helper()
	_, secret, err := e.acc.CreateClient(e.ctx, accounts.NewClient{ID: id, Service: true, Scopes: scopes})
	if err != nil {
		e.t.Fatal(err)
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if ask != "" {
		form.Set("scope", ask)
	}
	req, _ := http.NewRequest(http.MethodPost, e.issuer+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	return tok.AccessToken, resp.StatusCode
}

// --- a browser for the console ------------------------------------------------

type page struct {
	status int
	url    *url.URL
	body   string
}

type browser struct {
	e    *env
	c    *http.Client
	csrf string
}

var (
	csrfFieldRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	authReqRe   = regexp.MustCompile(`name="authRequestID" value="([^"]+)"`)
)

func (e *env) browser() *browser { return &browser{e: e, c: logintest.NewBrowser(e.issuer)} }

func (b *browser) do(req *http.Request) page {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	p := page{status: resp.StatusCode, url: resp.Request.URL, body: string(raw)}
	if m := csrfFieldRe.FindStringSubmatch(p.body); m != nil {
		b.csrf = html.UnescapeString(m[1])
	}
	return p
}

func (b *browser) get(u string) page {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.e.issuer+u, nil)
	return b.do(req)
}

func (b *browser) post(u string, v url.Values) page {
	b.e.t.Helper()
	if v.Get("csrf_token") == "" && b.csrf != "" {
		v.Set("csrf_token", b.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, b.e.issuer+u, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", b.e.issuer+"/admin/users")
	return b.do(req)
}

// signIn opens the console and signs u in with the password and the fake
// face; it returns the page the console lands on.
func (b *browser) signIn(next string, u *models.User) page {
	b.e.t.Helper()
	p := b.get(next)
	if p.url.Path != "/login/" {
		b.e.t.Fatalf("the console did not send an unsigned browser to the login page: %d at %s", p.status, p.url)
	}
	m := authReqRe.FindStringSubmatch(p.body)
	if m == nil {
		b.e.t.Fatalf("no login form:\n%s", p.body)
	}
	p = b.post("/login/password", url.Values{"authRequestID": {m[1]}, "username": {u.Username}, "password": {userPW}})
	if p.url.Path != "/login/face/" {
		b.e.t.Fatalf("the console's client did not ask for the face: %d at %s\n%s", p.status, p.url, p.body)
	}
	next2 := b.post("/login/face/answer?result=pass&authRequestID="+url.QueryEscape(p.url.Query().Get("authRequestID")), url.Values{})
	if next2.status != http.StatusOK {
		b.e.t.Fatalf("face answer: %d %s", next2.status, next2.body)
	}
	return b.get(strings.TrimPrefix(strings.TrimSpace(next2.body), b.e.issuer))
}

// audit returns the audit events of type typ.
func (e *env) audit(typ string) []models.AuditEvent {
	e.t.Helper()
	evs, err := e.store.ListAudit(e.ctx, storage.AuditFilter{Type: typ})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}
