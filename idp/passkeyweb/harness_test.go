package passkeyweb_test

import (
	"bytes"
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

	"github.com/faceidp/faceidp/factors/passkey"
	"github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/factors/recovery"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/idp/passkeyweb"
	"github.com/faceidp/faceidp/internal/logintest"
	"github.com/faceidp/faceidp/internal/logintest/testidp"
	"github.com/faceidp/faceidp/internal/softauthn"
	"github.com/faceidp/faceidp/internal/testclock"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// The passkey surface over HTTP with a software authenticator
// (internal/softauthn) against a provider on 127.0.0.1 over SQLite. The
// relying party ID is "localhost" and the origin a fixed localhost one:
// the passkey service judges what the authenticator signed, not the
// address the test client dials.

const (
	rpID       = "localhost"
	origin     = "http://localhost:8443"
	rpRedirect = "http://127.0.0.1:9/callback"
	userPW     = "correct horse battery"
)

type env struct {
	t      *testing.T
	ctx    context.Context
	issuer string
	store  storage.Storage
	clock  *testclock.Clock
	face   *testidp.FakeFace
	svc    *passkey.Service
	rec    *recovery.Service
	hasher *password.Hasher
}

type envConfig struct {
	policy   policy.Policy
	faceMode policy.FaceMode
	uv       string // passkeys.user_verification
}

// newEnv runs the provider with the passkey surface as a first factor
// and a fake face (the flow after a passkey is tested without the face
// engine; idp/faceweb's tests use the real one).
func newEnv(t *testing.T, cfg envConfig) *env {
	t.Helper()
	d := testidp.NewDeps(t)
	svc, err := passkey.New(passkey.Config{RPID: rpID, Origins: []string{origin}, UserVerification: cfg.uv}, d.Store, d.Clock.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	surface, err := passkeyweb.New(svc, d.Store, passkeyweb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	face := testidp.NewFakeFace()
	srv, issuer := testidp.NewServer()
	opts := d.Options(issuer)
	opts.FaceMode, opts.Policy = cfg.faceMode, cfg.policy
	opts.SecondFactors, opts.FirstFactors = []idp.SecondFactor{face}, []idp.FirstFactor{surface}
	testidp.Serve(t, srv, opts)
	return &env{t: t, ctx: context.Background(), issuer: issuer, store: d.Store, clock: d.Clock, face: face, svc: svc, rec: d.Recovery, hasher: d.Hasher}
}

func (e *env) addUser(id string) *models.User {
	e.t.Helper()
	hash, err := e.hasher.Hash(userPW)
	if err != nil {
		e.t.Fatal(err)
	}
	u := &models.User{ID: "user-" + id, Username: id, Email: id + "@example.test", EmailVerified: true, Name: id, PasswordHash: hash}
	if err := e.store.CreateUser(e.ctx, u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) addClient(c *models.Client) *rp {
	e.t.Helper()
	c.RedirectURIs, c.SkipConsent = []string{rpRedirect}, true
	if err := e.store.CreateClient(e.ctx, c); err != nil {
		e.t.Fatal(err)
	}
	return &rp{e: e, CodeClient: logintest.NewCodeClient(e.t, e.issuer, c.ID, rpRedirect)}
}

// --- a browser --------------------------------------------------------------

type page struct {
	status int
	url    *url.URL
	body   string
	header http.Header
	json   map[string]any
}

func (p page) str(k string) string { s, _ := p.json[k].(string); return s }

func (p page) location() *url.URL {
	u, _ := url.Parse(p.header.Get("Location"))
	return u
}

type browser struct {
	e *env
	c *http.Client
	// csrf is the token of the last page that had one.
	csrf string
}

func (e *env) browser() *browser { return &browser{e: e, c: logintest.NewBrowser(e.issuer)} }

var (
	csrfFieldRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	csrfDataRe  = regexp.MustCompile(`data-csrf-token="([^"]+)"`)
	authReqRe   = regexp.MustCompile(`name="authRequestID" value="([^"]+)"`)
)

func (b *browser) do(req *http.Request) page {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	p := page{status: resp.StatusCode, url: resp.Request.URL, body: string(raw), header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(raw, &p.json)
	}
	if m := csrfFieldRe.FindStringSubmatch(p.body); m != nil {
		b.csrf = html.UnescapeString(m[1])
	} else if m := csrfDataRe.FindStringSubmatch(p.body); m != nil {
		b.csrf = html.UnescapeString(m[1])
	}
	return p
}

func (b *browser) abs(u string) string {
	if strings.HasPrefix(u, "/") {
		return b.e.issuer + u
	}
	return u
}

func (b *browser) get(u string) page {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.abs(u), nil)
	return b.do(req)
}

func (b *browser) post(u string, v url.Values) page {
	b.e.t.Helper()
	if v.Get("csrf_token") == "" && b.csrf != "" {
		v.Set("csrf_token", b.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, b.abs(u), strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// postJSON posts body with the CSRF token in X-CSRF-Token (csrf "" sends none).
func (b *browser) postJSON(u string, body any, csrf string) page {
	b.e.t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, b.abs(u), bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	return b.do(req)
}

// --- the relying party ------------------------------------------------------

// rp is the relying party's client, whose redirect URI nothing serves:
// the test reads the code from the redirect.
type rp struct {
	e *env
	*logintest.CodeClient
}

// redeem follows a redirect to the relying party and returns the ID token's claims.
func (r *rp) redeem(loc *url.URL, a logintest.AuthStart) logintest.Claims {
	t := r.e.t
	t.Helper()
	if loc == nil || !strings.HasPrefix(loc.String(), rpRedirect) {
		t.Fatalf("want a redirect to the client, got %v", loc)
	}
	if e := loc.Query().Get("error"); e != "" {
		t.Fatalf("client got error %s: %s", e, loc.Query().Get("error_description"))
	}
	if loc.Query().Get("state") != a.State {
		t.Fatalf("state %q, want %q", loc.Query().Get("state"), a.State)
	}
	return r.Redeem(t, r.e.ctx, loc.Query().Get("code"), a)
}

// --- steps ------------------------------------------------------------------

// open starts a sign-in and returns the login page and its auth request id.
func (b *browser) open(a logintest.AuthStart) (page, string) {
	b.e.t.Helper()
	p := b.get(a.URL)
	if p.status != http.StatusOK || p.url.Path != "/login/" {
		b.e.t.Fatalf("authorize: want the login page, got %d at %s:\n%s", p.status, p.url, p.body)
	}
	return p, p.url.Query().Get("authRequestID")
}

// password submits the password form of the login page p.
func (b *browser) password(p page, username string) page {
	b.e.t.Helper()
	m := authReqRe.FindStringSubmatch(p.body)
	if m == nil {
		b.e.t.Fatalf("no login form:\n%s", p.body)
	}
	return b.post("/login/password", url.Values{"authRequestID": {m[1]}, "username": {username}, "password": {userPW}})
}

// passFace answers the fake face page the browser landed on.
func (b *browser) passFace(p page) *url.URL {
	b.e.t.Helper()
	if p.url.Path != "/login/face/" {
		b.e.t.Fatalf("not on the face step: %d at %s\n%s", p.status, p.url, p.body)
	}
	next := b.post("/login/face/answer?result=pass&authRequestID="+url.QueryEscape(p.url.Query().Get("authRequestID")), url.Values{})
	if next.status != http.StatusOK {
		b.e.t.Fatalf("face answer: %d %s", next.status, next.body)
	}
	return b.follow(strings.TrimSpace(next.body))
}

// follow opens a URL within the provider and returns where it leaves it
// (nil when it stays: the page is then in b.last).
func (b *browser) follow(u string) *url.URL {
	b.e.t.Helper()
	if !strings.HasPrefix(b.abs(u), b.e.issuer) {
		loc, _ := url.Parse(u)
		return loc
	}
	p := b.get(u)
	if p.status/100 == 3 {
		return p.location()
	}
	b.e.t.Fatalf("%s: want a redirect out of the provider, got %d at %s:\n%s", u, p.status, p.url, p.body)
	return nil
}

// passkeyBegin starts a passkey sign-in on the sign-in of authRequestID.
func (b *browser) passkeyBegin(id string, body map[string]any) page {
	b.e.t.Helper()
	return b.postJSON("/login/passkey/begin?authRequestID="+url.QueryEscape(id), body, b.csrf)
}

func (b *browser) passkeyFinish(id, ceremonyID string, cred []byte) page {
	b.e.t.Helper()
	return b.postJSON("/login/passkey/finish?authRequestID="+url.QueryEscape(id),
		map[string]any{"ceremony_id": ceremonyID, "credential": json.RawMessage(cred)}, b.csrf)
}

// options returns a begin answer's options as JSON.
func options(t *testing.T, p page) []byte {
	t.Helper()
	if p.status != http.StatusOK || p.str("ceremony_id") == "" {
		t.Fatalf("begin: %d %s", p.status, p.body)
	}
	raw, _ := json.Marshal(p.json["options"])
	return raw
}

// signInWithPasskey runs a usernameless sign-in with a at the sign-in
// started by start; it returns the finish answer.
func (b *browser) signInWithPasskey(a *softauthn.Authenticator, start logintest.AuthStart) page {
	b.e.t.Helper()
	_, id := b.open(start)
	begun := b.passkeyBegin(id, map[string]any{})
	resp, err := a.Assert(options(b.e.t, begun))
	if err != nil {
		b.e.t.Fatal(err)
	}
	return b.passkeyFinish(id, begun.str("ceremony_id"), resp)
}

// signInPasswordFace signs u in with the password (and the fake face when
// asked) and returns the redirect to the client.
func (b *browser) signInPasswordFace(r *rp, u *models.User) (*url.URL, logintest.AuthStart) {
	b.e.t.Helper()
	a := r.Start()
	p, _ := b.open(a)
	next := b.password(p, u.Username)
	if next.status/100 == 3 {
		return next.location(), a
	}
	return b.passFace(next), a
}

// reauth confirms the password on the account page.
func (b *browser) reauth() {
	b.e.t.Helper()
	b.get("/login/account/")
	p := b.post("/login/account/reauth", url.Values{"password": {userPW}})
	if p.status != http.StatusOK || p.url.Query().Get("done") != "reauth" {
		b.e.t.Fatalf("re-authentication: %d at %s\n%s", p.status, p.url, p.body)
	}
}

// register adds a passkey on the account page (after reauth).
func (b *browser) register(a *softauthn.Authenticator, name string) (page, *softauthn.Credential) {
	b.e.t.Helper()
	begun := b.postJSON("/login/passkey/register/begin", map[string]any{}, b.csrf)
	if begun.status != http.StatusOK {
		return begun, nil
	}
	resp, cred, err := a.Register(options(b.e.t, begun))
	if err != nil {
		b.e.t.Fatal(err)
	}
	return b.postJSON("/login/passkey/register/finish", map[string]any{"ceremony_id": begun.str("ceremony_id"), "name": name, "credential": json.RawMessage(resp)}, b.csrf), cred
}

func (e *env) audit(userID, typ string) []models.AuditEvent {
	e.t.Helper()
	evs, err := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: userID, Type: typ})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}
