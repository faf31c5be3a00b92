package faceweb_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/internal/fixtures"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// The browser end-to-end test: headless Chromium with a fake camera fed a
// .y4m made from a fixture clip signs in to a relying party through the
// whole redirect flow: password, face enrolment on first sign-in,
// sign-out, sign-in again with a face challenge, callback, ID token with
// amr face + mfa. A second browser showing a static photo is refused with
// a message the user understands; a third that denies the camera gets
// advice and starts no face attempt.
//
// The challenge is pinned to a single blink through face.Deps.Picker (a
// test-only seam: production configuration cannot set it), because the
// fake camera loops one clip.

const chromiumPath = "/usr/bin/chromium"

func TestBrowserFaceSignIn(t *testing.T) {
	chromium := os.Getenv("FACEIDP_CHROMIUM")
	if chromium == "" {
		chromium = chromiumPath
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("Chromium not found at %s (install it with `apt-get install -y chromium`, or set FACEIDP_CHROMIUM): %v", chromium, err)
	}
	liveY4M := makeY4M(t, "p01_blink")
	photoY4M := makeY4M(t, "spoof_static_photo_p02")

	// The relying party listens on its own 127.0.0.1 port.
	app := &demoApp{}
	rpSrv := httptest.NewUnstartedServer(app)
	rpBase := "http://" + rpSrv.Listener.Addr().String()
	e := newEnv(t, envConfig{steps: 1, faceMode: policy.FaceRequired,
		redirectURIs: []string{rpBase + "/callback"}, logoutURIs: []string{rpBase + "/signed-out"}})
	e.picker.def = []faceauth.Action{faceauth.ActionBlink}
	alice := e.addUser("alice")
	e.addUser("bob")
	app.init(t, e, rpBase)
	rpSrv.Start()
	t.Cleanup(rpSrv.Close)

	// Run 1: the live clip.
	ctx := newChromium(t, chromium, liveY4M, allowCamera)
	signIn := func(want string) {
		t.Helper()
		run(t, ctx, "open the demo app and sign in",
			chromedp.Navigate(rpBase+"/"),
			chromedp.Click("#sign-in", chromedp.ByID),
			chromedp.WaitVisible("#username", chromedp.ByID),
			chromedp.SendKeys("#username", "alice", chromedp.ByID),
			chromedp.SendKeys("#password", userPW, chromedp.ByID),
			chromedp.Submit("#password", chromedp.ByID),
			chromedp.WaitVisible("#face-start", chromedp.ByID),
		)
		var purpose string
		run(t, ctx, "read the face page", chromedp.AttributeValue("#face-app", "data-purpose", &purpose, nil, chromedp.ByID))
		if purpose != want {
			t.Fatalf("face page is for %q, want %q", purpose, want)
		}
		run(t, ctx, "press start", chromedp.Click("#face-start", chromedp.ByID))
		out := waitOutcome(t, ctx, rpBase+"/callback")
		if !strings.HasPrefix(out.Href, rpBase+"/callback") {
			t.Fatalf("%s: face step did not finish: message %q at %s", want, out.Message, out.Href)
		}
		var shown string
		run(t, ctx, "read the claims", chromedp.Text("#claims", &shown, chromedp.ByID))
		c := app.lastClaims()
		for _, m := range []string{policy.AMRPassword, policy.AMRFace, policy.AMRMFA} {
			if !slices.Contains(c.AMR, m) || !strings.Contains(shown, `"`+m+`"`) {
				t.Fatalf("%s: amr %v (page shows %s) lacks %q", want, c.AMR, shown, m)
			}
		}
		if c.Sub != alice.ID {
			t.Fatalf("sub %q, want %q", c.Sub, alice.ID)
		}
	}
	signIn("enrol")
	if ok, _ := e.svc.Enrolled(e.ctx, alice.ID); !ok {
		t.Fatal("alice is not enrolled after the first sign-in")
	}
	run(t, ctx, "sign out",
		chromedp.Click("#sign-out", chromedp.ByID),
		chromedp.WaitVisible("#signed-out", chromedp.ByID),
	)
	signIn("verify")

	// Run 2: another browser whose camera shows a still photo; bob's
	// enrolment is refused with a message, and nothing is stored.
	ctx2 := newChromium(t, chromium, photoY4M, allowCamera)
	run(t, ctx2, "bob signs in",
		chromedp.Navigate(rpBase+"/login"),
		chromedp.WaitVisible("#username", chromedp.ByID),
		chromedp.SendKeys("#username", "bob", chromedp.ByID),
		chromedp.SendKeys("#password", userPW, chromedp.ByID),
		chromedp.Submit("#password", chromedp.ByID),
		chromedp.WaitVisible("#face-start", chromedp.ByID),
		chromedp.Click("#face-start", chromedp.ByID),
	)
	out := waitOutcome(t, ctx2, rpBase+"/callback")
	if strings.HasPrefix(out.Href, rpBase) {
		t.Fatalf("a static photo signed bob in (%s)", out.Href)
	}
	if !strings.Contains(out.Message, "photo cannot be used") || !out.Error || !out.RetryShown {
		t.Fatalf("static photo: page says %q (error=%v, retry=%v), want the photo refusal and a Try again button", out.Message, out.Error, out.RetryShown)
	}
	if ok, _ := e.svc.Enrolled(e.ctx, "bob"); ok {
		t.Fatal("a static photo enrolled bob")
	}

	// Run 3: the user refuses the camera permission: advice, no challenge.
	ctx3 := newChromium(t, chromium, liveY4M, denyCamera)
	before, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: "bob"})
	run(t, ctx3, "bob signs in and denies the camera",
		chromedp.Navigate(rpBase+"/login"),
		chromedp.WaitVisible("#username", chromedp.ByID),
		chromedp.SendKeys("#username", "bob", chromedp.ByID),
		chromedp.SendKeys("#password", userPW, chromedp.ByID),
		chromedp.Submit("#password", chromedp.ByID),
		chromedp.WaitVisible("#face-start", chromedp.ByID),
		chromedp.Click("#face-start", chromedp.ByID),
	)
	out = waitOutcome(t, ctx3, rpBase+"/callback")
	if !strings.Contains(out.Message, "Camera access was denied") || !out.Error {
		t.Fatalf("denied camera: page says %q", out.Message)
	}
	var startShown bool
	run(t, ctx3, "start button", chromedp.Evaluate(`!document.getElementById("face-start").hidden`, &startShown))
	if !startShown {
		t.Fatal("after a denied camera the Start button is gone")
	}
	after, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: "bob", Type: "face.enrol"})
	for _, ev := range after {
		if !slices.ContainsFunc(before, func(b models.AuditEvent) bool { return b.ID == ev.ID }) {
			t.Fatalf("a face attempt was made without a camera: %+v", ev)
		}
	}
}

// makeY4M turns a fixture clip into a .y4m for Chromium's fake camera.
func makeY4M(t *testing.T, clip string) string {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg not found (install it with `apt-get install -y ffmpeg`): %v", err)
	}
	out := filepath.Join(t.TempDir(), clip+".y4m")
	cmd := exec.Command(ffmpeg, "-loglevel", "error", "-framerate", "10",
		"-i", filepath.Join(fixtures.SharedDir(t), "liveness", clip, "frame_%03d.jpg"), "-pix_fmt", "yuv420p", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make %s: %v\n%s", out, err, b)
	}
	return out
}

type cameraPermission bool

const (
	allowCamera cameraPermission = true
	denyCamera  cameraPermission = false
)

// newChromium starts a headless Chromium with a fake camera showing y4m
// and a fresh profile. Its console and errors go to the test log.
func newChromium(t *testing.T, path, y4m string, camera cameraPermission) context.Context {
	t.Helper()
	permission := chromedp.Flag("use-fake-ui-for-media-stream", true) // allow
	if camera == denyCamera {
		permission = chromedp.Flag("deny-permission-prompts", true)
	}
	opts := []chromedp.ExecAllocatorOption{
		permission,
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-video-capture", y4m),
		chromedp.WindowSize(1000, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value))
			}
			t.Logf("browser console %s: %s", ev.Type, strings.Join(parts, " "))
		case *runtime.EventExceptionThrown:
			t.Logf("browser exception: %s", ev.ExceptionDetails.Error())
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start Chromium %s: %v", path, err)
	}
	return ctx
}

func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var loc string
		_ = chromedp.Run(ctx, chromedp.Location(&loc))
		t.Fatalf("%s: %v (browser at %s)", what, err, loc)
	}
}

// outcome is what the face page shows once the capture is over.
type outcome struct {
	Href       string `json:"href"`
	Message    string `json:"message"`
	Error      bool   `json:"error"`
	RetryShown bool   `json:"retry"`
}

// waitOutcome polls until the browser left the face page for done or the
// page shows an error.
func waitOutcome(t *testing.T, ctx context.Context, done string) outcome {
	t.Helper()
	const probe = `(() => {
		const m = document.getElementById("face-message");
		const r = document.getElementById("face-retry");
		return {href: location.href, message: m ? m.textContent : "",
			error: !!(m && m.classList.contains("error")), retry: !!(r && !r.hidden)};
	})()`
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		var o outcome
		if err := chromedp.Run(ctx, chromedp.Evaluate(probe, &o)); err != nil {
			// Navigating: the page is being replaced.
			time.Sleep(200 * time.Millisecond)
			continue
		}
		if strings.HasPrefix(o.Href, done) || o.Error {
			return o
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatal("the face step did not finish within 90 s")
	return outcome{}
}

// demoApp is the relying party of the browser test: a public client with
// PKCE using coreos/go-oidc and x/oauth2, like a third-party app.
type demoApp struct {
	t        *testing.T
	cfg      oauth2.Config
	verifier *gooidc.IDTokenVerifier
	endURL   string
	base     string

	mu      sync.Mutex
	pending map[string]authStart // by state
	claims  claims
	rawID   string
}

func (a *demoApp) init(t *testing.T, e *env, base string) {
	r := e.rp(base + "/callback")
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := r.provider.Claims(&meta); err != nil || meta.EndSession == "" {
		t.Fatalf("discovery has no end_session_endpoint: %v", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.t, a.cfg, a.verifier, a.endURL, a.base = t, r.cfg, r.verifier, meta.EndSession, base
	a.pending = map[string]authStart{}
}

func (a *demoApp) lastClaims() claims {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.claims
}

func (a *demoApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	switch r.URL.Path {
	case "/":
		fmt.Fprint(w, `<!doctype html><title>Demo app</title><h1>Demo app</h1><a id="sign-in" href="/login">Sign in</a>`)
	case "/login":
		a.mu.Lock()
		s := (&rp{cfg: a.cfg}).start()
		a.pending[s.state] = s
		a.mu.Unlock()
		http.Redirect(w, r, s.url, http.StatusFound)
	case "/callback":
		a.mu.Lock()
		s, ok := a.pending[r.URL.Query().Get("state")]
		delete(a.pending, r.URL.Query().Get("state"))
		a.mu.Unlock()
		if !ok {
			http.Error(w, "unknown state", http.StatusBadRequest)
			return
		}
		if e := r.URL.Query().Get("error"); e != "" {
			http.Error(w, e+": "+r.URL.Query().Get("error_description"), http.StatusBadRequest)
			return
		}
		tok, err := a.cfg.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(s.verifier))
		if err != nil {
			http.Error(w, "token exchange: "+err.Error(), http.StatusBadGateway)
			return
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := a.verifier.Verify(r.Context(), raw)
		if err != nil || idt.Nonce != s.nonce {
			http.Error(w, fmt.Sprintf("ID token: %v (nonce ok: %v)", err, err == nil && idt.Nonce == s.nonce), http.StatusBadGateway)
			return
		}
		var c claims
		var all map[string]any
		if err := errors.Join(idt.Claims(&c), idt.Claims(&all)); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		a.mu.Lock()
		a.claims, a.rawID = c, raw
		a.mu.Unlock()
		pretty, _ := json.MarshalIndent(all, "", "  ")
		fmt.Fprintf(w, `<!doctype html><title>Signed in</title><h1>Signed in</h1><pre id="claims">%s</pre><a id="sign-out" href="/logout">Sign out</a>`, html.EscapeString(string(pretty)))
	case "/logout":
		a.mu.Lock()
		q := url.Values{"id_token_hint": {a.rawID}, "client_id": {a.cfg.ClientID}, "post_logout_redirect_uri": {a.base + "/signed-out"}}
		a.mu.Unlock()
		http.Redirect(w, r, a.endURL+"?"+q.Encode(), http.StatusFound)
	case "/signed-out":
		fmt.Fprint(w, `<!doctype html><title>Signed out</title><h1 id="signed-out">Signed out</h1><a id="sign-in" href="/login">Sign in again</a>`)
	default:
		http.NotFound(w, r)
	}
}
