package faceweb_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/faceidp/faceidp/internal/logintest/testidp"
	"github.com/faceidp/faceidp/internal/testclock"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/factors/face"
	"github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/factors/recovery"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/idp/faceweb"
	"github.com/faceidp/faceidp/internal/facetest"
	"github.com/faceidp/faceidp/internal/logintest"
	"github.com/faceidp/faceidp/keyring"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage/sqlstore"
)

// pinnedPicker is the test-only seam that fixes challenges: it hands out
// the queued action lists in order. Production builds face.Service with
// the default random picker; no configuration reaches this.
type pinnedPicker struct {
	mu    sync.Mutex
	queue [][]faceauth.Action
	def   []faceauth.Action
}

func (p *pinnedPicker) Pick(n int) ([]faceauth.Action, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 {
		return slices.Clone(p.def), nil
	}
	a := p.queue[0]
	p.queue = p.queue[1:]
	return a, nil
}

const (
	rpRedirect = "http://127.0.0.1:9/callback"
	userPW     = "correct horse battery"
	clientID   = "demo"
)

type env struct {
	t      *testing.T
	ctx    context.Context
	issuer string
	store  *sqlstore.Store
	clock  *testclock.Clock
	picker *pinnedPicker
	svc    *face.Service
	hasher *password.Hasher
	kr     *keyring.Keyring
	// rec is the fallback service (recovery codes, face bypass).
	rec *recovery.Service
	// startInstance starts another provider with the same issuer over the
	// same database, keys and face service (an instance behind the same load
	// balancer) and returns the base URL it listens on.
	startInstance func() string
}

type envConfig struct {
	steps    int
	faceMode policy.FaceMode
	// redirectURIs registered for the client; default rpRedirect.
	redirectURIs, logoutURIs []string
	// engine replaces the shared test engine (e.g. one with a tiny queue).
	// redisURL shares the rate limits of every instance through Redis.
	redisURL string
	engine   *faceauth.Engine
}

// newEnv runs the provider with the face factor on 127.0.0.1, real SQLite
// and the real engine.
func newEnv(t *testing.T, cfg envConfig) *env {
	t.Helper()
	ctx := context.Background()
	d := testidp.NewDeps(t)
	picker := &pinnedPicker{def: []faceauth.Action{faceauth.ActionBlink}}
	engine := cfg.engine
	if engine == nil {
		engine = facetest.Engine(t)
	}
	svc, err := face.New(face.Deps{Store: d.Store, Engine: engine, Keyring: d.Keyring, Now: d.Clock.Now, Rand: rand.Reader, Picker: picker},
		face.Options{Steps: cfg.steps})
	if err != nil {
		t.Fatal(err)
	}
	// start serves a provider on a new port and returns its base URL; an
	// empty issuer means the base URL itself.
	start := func(issuer string) string {
		factor, err := faceweb.New(svc, faceweb.Options{})
		if err != nil {
			t.Fatal(err)
		}
		srv, base := testidp.NewServer()
		if issuer == "" {
			issuer = base
		}
		opts := d.Options(issuer)
		opts.FaceMode, opts.SecondFactors, opts.RateLimitRedisURL = cfg.faceMode, []idp.SecondFactor{factor}, cfg.redisURL
		testidp.Serve(t, srv, opts)
		return base
	}
	issuer := start("")
	e := &env{t: t, ctx: ctx, issuer: issuer, store: d.Store, clock: d.Clock, picker: picker, svc: svc, hasher: d.Hasher, kr: d.Keyring, rec: d.Recovery,
		startInstance: func() string { return start(issuer) }}
	if cfg.redirectURIs == nil {
		cfg.redirectURIs = []string{rpRedirect}
	}
	if err := d.Store.CreateClient(ctx, &models.Client{ID: clientID, Name: "Demo app", RedirectURIs: cfg.redirectURIs,
		PostLogoutRedirectURIs: cfg.logoutURIs, SkipConsent: true}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) addUser(id string) *models.User {
	e.t.Helper()
	hash, err := e.hasher.Hash(userPW)
	if err != nil {
		e.t.Fatal(err)
	}
	u := &models.User{ID: id, Username: id, Email: id + "@example.test", EmailVerified: true, Name: id, PasswordHash: hash}
	if err := e.store.CreateUser(e.ctx, u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) pin(actions ...faceauth.Action) {
	e.picker.mu.Lock()
	defer e.picker.mu.Unlock()
	e.picker.queue = append(e.picker.queue, actions)
}

// newBrowser is a cookie-keeping client that follows redirects within the
// provider and stops at the first one that leaves it.
func (e *env) newBrowser() *http.Client { return logintest.NewBrowser(e.issuer) }

type page struct {
	status int
	url    *url.URL
	body   string
	header http.Header
}

func (e *env) do(c *http.Client, req *http.Request) page {
	e.t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, url: resp.Request.URL, body: string(b), header: resp.Header}
}

func (e *env) get(c *http.Client, u string) page {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.abs(u), nil)
	return e.do(c, req)
}

func (e *env) postForm(c *http.Client, u string, v url.Values) page {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.abs(u), strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(c, req)
}

func (e *env) abs(u string) string {
	if strings.HasPrefix(u, "/") {
		return e.issuer + u
	}
	return u
}

var (
	csrfFieldRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	authReqRe   = regexp.MustCompile(`name="authRequestID" value="([^"]+)"`)
	dataRe      = regexp.MustCompile(`data-([a-z-]+)="([^"]*)"`)
)

func attr(t testing.TB, re *regexp.Regexp, body string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("%s not found in page:\n%s", re, body)
	}
	return html.UnescapeString(m[1])
}

// facePage is the capture page's configuration (its data-* attributes).
type facePage struct {
	purpose, challengeURL, answerURL, csrf string
}

func parseFacePage(t testing.TB, body string) facePage {
	t.Helper()
	d := map[string]string{}
	for _, m := range dataRe.FindAllStringSubmatch(body, -1) {
		d[m[1]] = html.UnescapeString(m[2])
	}
	fp := facePage{d["purpose"], d["challenge-url"], d["answer-url"], d["csrf-token"]}
	if fp.challengeURL == "" || fp.answerURL == "" || fp.csrf == "" {
		t.Fatalf("not a face capture page:\n%s", body)
	}
	return fp
}

// rp is the relying party's client (openid profile) with redirect as its
// redirect URI.
func (e *env) rp(redirect string) *logintest.CodeClient {
	e.t.Helper()
	return logintest.NewCodeClient(e.t, e.issuer, clientID, redirect, "profile")
}

// signInPassword opens the authorize URL and submits the password; it
// returns the page the flow lands on (the face page when face is due).
func (e *env) signInPassword(b *http.Client, authURL, username string) page {
	e.t.Helper()
	p := e.get(b, authURL)
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="password"`) {
		e.t.Fatalf("authorize: want the login form, got %d at %s:\n%s", p.status, p.url, p.body)
	}
	return e.postForm(b, "/login/password", url.Values{
		"csrf_token":    {attr(e.t, csrfFieldRe, p.body)},
		"authRequestID": {attr(e.t, authReqRe, p.body)},
		"username":      {username},
		"password":      {userPW},
	})
}

type apiResp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r apiResp) str(k string) string { s, _ := r.body[k].(string); return s }

func (e *env) call(c *http.Client, req *http.Request) apiResp {
	e.t.Helper()
	p := e.do(c, req)
	r := apiResp{status: p.status, header: p.header, raw: p.body}
	if strings.HasPrefix(p.header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal([]byte(p.body), &r.body); err != nil {
			e.t.Fatalf("bad JSON %q: %v", p.body, err)
		}
	}
	return r
}

func (e *env) challenge(c *http.Client, fp facePage) apiResp {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.abs(fp.challengeURL), strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", fp.csrf)
	return e.call(c, req)
}

// frame is one multipart "frames" part.
type frame struct {
	contentType string
	data        []byte
}

func jpegs(frames [][]byte) []frame {
	out := make([]frame, len(frames))
	for i, f := range frames {
		out[i] = frame{"image/jpeg", f}
	}
	return out
}

func (e *env) answer(c *http.Client, fp facePage, challengeID string, frames []frame) apiResp {
	e.t.Helper()
	return e.answerCSRF(c, fp, challengeID, frames, false)
}

// answerCSRF uploads frames; inForm sends the CSRF token as the csrf_token
// form field instead of the X-CSRF-Token header.
func (e *env) answerCSRF(c *http.Client, fp facePage, challengeID string, frames []frame, inForm bool) apiResp {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if inForm {
		_ = mw.WriteField("csrf_token", fp.csrf)
	}
	_ = mw.WriteField("challenge_id", challengeID)
	_ = mw.WriteField("mirrored", "false")
	for i, f := range frames {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="frames"; filename="frame_%03d"`, i))
		h.Set("Content-Type", f.contentType)
		w, _ := mw.CreatePart(h)
		_, _ = w.Write(f.data)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, e.abs(fp.answerURL), &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if !inForm {
		req.Header.Set("X-CSRF-Token", fp.csrf)
	}
	return e.call(c, req)
}

// follow opens next (the answer's redirect target) and returns the code
// the provider sends to the relying party.
func (e *env) follow(b *http.Client, next string, a logintest.AuthStart) string {
	e.t.Helper()
	p := e.get(b, next)
	loc, err := url.Parse(p.header.Get("Location"))
	if err != nil || p.status/100 != 3 || !strings.HasPrefix(loc.String(), rpRedirect) {
		e.t.Fatalf("after face: want a redirect to the client, got %d %s:\n%s", p.status, p.header.Get("Location"), p.body)
	}
	if loc.Query().Get("state") != a.State {
		e.t.Fatalf("state %q, want %q", loc.Query().Get("state"), a.State)
	}
	return loc.Query().Get("code")
}

// enrolFromPhotos stores a template built from a person's enrolment photos
// (no live challenge), for tests about verification only.
func (e *env) enrolFromPhotos(userID, person string) {
	e.t.Helper()
	facetest.EnrolFromPhotos(e.t, e.store, e.kr, userID, person)
}
