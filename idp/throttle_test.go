package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/csrf"
	"golang.org/x/oauth2"

	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/internal/pgtest"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// fakeFace is a second factor registered as "face" whose verdict the test
// chooses (?result=pass|fail), so the flow's throttle handling is tested
// without the face engine (idp/faceweb tests the real one). It uses
// FlowControl exactly as a factor must: BeginAttempt, then Advance or Fail.
type fakeFace struct {
	flow FlowControl
	// notEnrolled: nobody has a template (face is then only asked where
	// a client requires it, as an enrolment).
	notEnrolled bool
}

func (f *fakeFace) AMR() string { return policy.AMRFace }
func (f *fakeFace) Enrolled(context.Context, string) (bool, error) {
	return !f.notEnrolled, nil
}
func (f *fakeFace) Path(_ models.LoginStep, id string) string {
	return "/login/face/?authRequestID=" + url.QueryEscape(id)
}

func (f *fakeFace) Mount(mux *http.ServeMux, flow FlowControl) {
	f.flow = flow
	mux.HandleFunc("GET /login/face/{$}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := flow.LoadFactor(r, r.URL.Query().Get("authRequestID"), f.AMR()); err != nil {
			flow.RenderError(w, r, err)
			return
		}
		fmt.Fprintf(w, `fake face page <input name="csrf_token" value="%s">`, csrf.Token(r))
	})
	// As faceweb's verify page does: a face disabled for the user is shown
	// on the flow's throttled page.
	mux.HandleFunc("GET /login/face/disabled", func(w http.ResponseWriter, r *http.Request) {
		fl, err := flow.LoadFactor(r, r.URL.Query().Get("authRequestID"), f.AMR())
		if err == nil {
			err = flow.CheckAttempt(r.Context(), fl, f.AMR())
		}
		if err != nil {
			flow.RenderError(w, r, err)
			return
		}
		fmt.Fprint(w, "face not disabled")
	})
	mux.HandleFunc("POST /login/face/skip", func(w http.ResponseWriter, r *http.Request) {
		fl, err := flow.LoadFactor(r, r.URL.Query().Get("authRequestID"), f.AMR())
		if err == nil {
			var next string
			if next, err = flow.SkipEnrolment(w, r, fl, f.AMR()); err == nil {
				http.Redirect(w, r, next, http.StatusSeeOther)
				return
			}
		}
		flow.RenderError(w, r, err)
	})
	mux.HandleFunc("POST /login/face/answer", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		reply := func(status int, v map[string]any) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(v)
		}
		throttled := func(err error) bool {
			var te *ThrottledError
			if !errors.As(err, &te) {
				return false
			}
			if te.Disabled {
				reply(http.StatusForbidden, map[string]any{"error": "face_disabled"})
			} else {
				reply(http.StatusTooManyRequests, map[string]any{"error": "face_throttled", "retry_after": te.Wait.Seconds()})
			}
			return true
		}
		fl, err := flow.LoadFactor(r, r.URL.Query().Get("authRequestID"), f.AMR())
		if err != nil {
			reply(http.StatusConflict, map[string]any{"error": err.Error()})
			return
		}
		att, err := flow.BeginAttempt(ctx, fl, f.AMR())
		if throttled(err) {
			return
		}
		if err != nil {
			reply(http.StatusInternalServerError, map[string]any{"error": err.Error()})
			return
		}
		if r.URL.Query().Get("result") == "pass" {
			next, err := flow.Advance(w, r, fl, f.AMR())
			if err != nil {
				reply(http.StatusInternalServerError, map[string]any{"error": err.Error()})
				return
			}
			reply(http.StatusOK, map[string]any{"result": "pass", "next": next})
			return
		}
		err = flow.Fail(ctx, fl, att, "no_match", nil)
		var te *ThrottledError
		if errors.As(err, &te) && te.Disabled {
			throttled(err)
			return
		}
		resp := map[string]any{"result": "fail"}
		if te != nil {
			resp["retry_after"] = te.Wait.Seconds()
		}
		reply(http.StatusOK, resp)
	})
}

// withFakeFace registers a fresh fakeFace (each instance needs its own).
func withFakeFace(o *Options) { o.SecondFactors = []SecondFactor{&fakeFace{}} }

var csrfInputRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// signIn opens a new sign-in at the relying party and submits the
// password form; the page returned is where the browser lands.
func (e *env) signInPw(t *testing.T, b *http.Client, r *rp, username, pw string, opts ...oauth2.AuthCodeOption) (page, authStart) {
	t.Helper()
	a := r.start(opts...)
	p := get(t, b, a.url)
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="password"`) {
		t.Fatalf("authorize: want the login form, got %d at %s", p.status, p.url)
	}
	f := parseForm(t, p.body)
	f.fields.Set("username", username)
	f.fields.Set("password", pw)
	return postForm(t, b, e.abs(f.action), f.fields), a
}

// faceTry answers the fake face step of the page p (where signIn landed).
func (e *env) faceTry(t *testing.T, b *http.Client, p page, base, result string) (int, map[string]any) {
	t.Helper()
	m := csrfInputRe.FindStringSubmatch(p.body)
	if m == nil || p.url.Path != "/login/face/" {
		t.Fatalf("not on the face step: %d at %s\n%s", p.status, p.url, p.body)
	}
	u := base + "/login/face/answer?authRequestID=" + url.QueryEscape(p.url.Query().Get("authRequestID")) + "&result=" + result
	req, _ := http.NewRequest(http.MethodPost, u, nil)
	req.Header.Set("X-CSRF-Token", m[1])
	resp := do(t, b, req)
	var body map[string]any
	_ = json.Unmarshal([]byte(resp.body), &body)
	return resp.status, body
}

func faceClient(e *env) {
	e.addClient(&models.Client{ID: "app", Name: "App", RedirectURIs: []string{rpRedirect}, SkipConsent: true, RequireFace: true}, "app-secret")
}

func counter(t *testing.T, s storage.Storage, subject, factor string) int {
	t.Helper()
	c, err := s.GetThrottle(context.Background(), subject, factor)
	if err != nil {
		return 0
	}
	return c.Failures
}

// The 2 + 1 + 2 case: five face failures spread over three
// sign-ins, each started with the correct password, trigger the face
// throttle: a correct password never resets the face counter.
func TestFaceFailuresSpreadOverSignInsAreThrottled(t *testing.T) {
	e := newEnv(t, withFakeFace)
	alice := e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	faceClient(e)
	r := e.rp(t, "app", "app-secret")
	b := e.newBrowser()
	for round, fails := range []int{2, 1, 2} {
		p, _ := e.signInPw(t, b, r, "alice", alicePW)
		for i := 0; i < fails; i++ {
			st, body := e.faceTry(t, b, p, e.issuer, "fail")
			if st != http.StatusOK || body["result"] != "fail" {
				t.Fatalf("sign-in %d, face failure %d: %d %v", round+1, i+1, st, body)
			}
		}
	}
	if n := counter(t, e.store, "user:"+alice.ID, "face"); n != 5 {
		t.Fatalf("face failures counted over three sign-ins: %d, want 5", n)
	}
	// A fourth sign-in with the right password still reaches face, where
	// the next attempt must wait 30 s.
	p, _ := e.signInPw(t, b, r, "alice", alicePW)
	st, body := e.faceTry(t, b, p, e.issuer, "pass")
	if st != http.StatusTooManyRequests || body["error"] != "face_throttled" || body["retry_after"] != float64(30) {
		t.Fatalf("6th face attempt right after 5 spread failures: %d %v, want face_throttled, 30 s", st, body)
	}
	e.clock.Advance(30 * time.Second)
	if st, body := e.faceTry(t, b, p, e.issuer, "pass"); st != http.StatusOK || body["result"] != "pass" {
		t.Fatalf("after the wait: %d %v", st, body)
	}
	if n := counter(t, e.store, "user:"+alice.ID, "face"); n != 0 {
		t.Fatalf("a face success left the face counter at %d", n)
	}
}

// Wrong passwords posted at once (from many browsers, as to several
// instances) get exactly the free attempts: the rest are refused without
// being checked, so nobody can guess more by guessing in parallel.
func TestParallelAttemptsNeverSlipPastTheThrottle(t *testing.T) {
	e := newEnv(t, withFakeFace, func(o *Options) { o.LoginsPerUser = 1000; o.LoginsPerIP = 1000 })
	alice := e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	faceClient(e)
	r := e.rp(t, "app", "app-secret")

	const n = 12
	type attempt struct {
		b    *http.Client
		form htmlForm
	}
	attempts := make([]attempt, n)
	for i := range attempts {
		b := e.newBrowser()
		f := parseForm(t, get(t, b, r.start().url).body)
		f.fields.Set("username", "alice")
		f.fields.Set("password", fmt.Sprintf("wrong password %d", i))
		attempts[i] = attempt{b, f}
	}
	statuses := make([]int, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i, a := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			resp, err := a.b.PostForm(e.abs(a.form.action), a.form.fields)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	close(gate)
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusUnauthorized] != throttle.DefaultPasswordAfter || count[http.StatusTooManyRequests] != n-throttle.DefaultPasswordAfter {
		t.Fatalf("%d parallel wrong passwords: statuses %v, want %d checked (401) and the rest refused (429)", n, count, throttle.DefaultPasswordAfter)
	}
	if got := counter(t, e.store, "user:"+alice.ID, "pwd"); got != throttle.DefaultPasswordAfter {
		t.Fatalf("account counter %d, want %d", got, throttle.DefaultPasswordAfter)
	}

	// The same for face attempts fired at once within one sign-in.
	e.clock.Advance(time.Hour)
	b := e.newBrowser()
	p, _ := e.signInPw(t, b, r, "alice", alicePW)
	faceStatus := make([]int, n)
	gate = make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			faceStatus[i], _ = e.faceTry(t, b, p, e.issuer, "fail")
		}()
	}
	close(gate)
	wg.Wait()
	count = map[int]int{}
	for _, s := range faceStatus {
		count[s]++
	}
	if count[http.StatusOK] != throttle.DefaultFaceAfter || counter(t, e.store, "user:"+alice.ID, "face") != throttle.DefaultFaceAfter {
		t.Fatalf("%d parallel face failures: statuses %v, counter %d; want exactly %d judged", n, count,
			counter(t, e.store, "user:"+alice.ID, "face"), throttle.DefaultFaceAfter)
	}
}

// A stranger's wrong passwords throttle the account for every unknown
// browser (the owner's new one too), but not the browser the owner signed
// in from before: it holds a device cookie and has its own counter. An
// attacker holding that cookie is throttled on it like anyone else.
func TestStrangersDoNotBlockTheOwnersKnownBrowser(t *testing.T) {
	e := newEnv(t)
	alice := e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	r := e.rp(t, "app", "app-secret")

	owner := e.newBrowser()
	if p, a := e.signInPw(t, owner, r, "alice", alicePW); p.status != http.StatusSeeOther && p.status != http.StatusFound {
		t.Fatalf("owner's first sign-in: %d", p.status)
	} else {
		loc, _ := url.Parse(p.header.Get("Location"))
		codeFrom(t, loc, a)
	}
	var dev *http.Cookie
	for _, c := range owner.Jar.Cookies(mustURL(t, e.issuer+"/login/")) {
		if c.Name == deviceCookie {
			dev = c
		}
	}
	if dev == nil {
		t.Fatal("no device cookie after a correct password")
	}
	// The stranger: more wrong passwords than the per-minute flood limit
	// per account (10) too.
	stranger := e.newBrowser()
	for i := range 12 {
		e.signInPw(t, stranger, r, "alice", fmt.Sprintf("guess %d", i))
	}
	if n := counter(t, e.store, "user:"+alice.ID, "pwd"); n != throttle.DefaultPasswordAfter {
		t.Fatalf("account counter after the stranger: %d", n)
	}
	if p, _ := e.signInPw(t, e.newBrowser(), r, "alice", alicePW); p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "Try again in") {
		t.Fatalf("the owner from an unknown browser: %d, want throttled\n%s", p.status, p.body)
	}
	p, a := e.signInPw(t, owner, r, "alice", alicePW, oauth2.SetAuthURLParam("prompt", "login"))
	loc, _ := url.Parse(p.header.Get("Location"))
	if p.status/100 != 3 {
		t.Fatalf("the owner's known browser is blocked by the stranger: %d\n%s", p.status, p.body)
	}
	codeFrom(t, loc, a)
	evs, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: alice.ID, Type: "login.pwd"})
	if last := evs[0]; last.Outcome != "success" || last.Details["known_device"] != true {
		t.Errorf("owner's sign-in audit: %+v, want success from a known device", last)
	}
	// Someone who copied the device cookie is throttled on the device.
	thief := e.newBrowser()
	thief.Jar.SetCookies(mustURL(t, e.issuer+"/login/"), []*http.Cookie{dev})
	for i := range throttle.DefaultPasswordAfter {
		e.signInPw(t, thief, r, "alice", fmt.Sprintf("thief %d", i))
	}
	if p, _ := e.signInPw(t, thief, r, "alice", alicePW); p.status != http.StatusTooManyRequests {
		t.Fatalf("copied device cookie after 5 failures: %d, want throttled", p.status)
	}
	// A forged or foreign cookie is no device: the account's counter.
	forged := e.newBrowser()
	forged.Jar.SetCookies(mustURL(t, e.issuer+"/login/"), []*http.Cookie{{Name: deviceCookie, Value: dev.Value[:len(dev.Value)-2] + "AA", Path: "/login/"}})
	if p, _ := e.signInPw(t, forged, r, "alice", alicePW); p.status != http.StatusTooManyRequests {
		t.Fatalf("forged device cookie: %d, want the account's throttle", p.status)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// An unknown login name is throttled exactly like an account, so the
// throttle does not tell which accounts exist.
func TestUnknownNamesAreThrottledLikeAccounts(t *testing.T) {
	e := newEnv(t)
	e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	r := e.rp(t, "app", "app-secret")
	run := func(name string) []string {
		b := e.newBrowser()
		var out []string
		for i := range throttle.DefaultPasswordAfter + 1 {
			p, _ := e.signInPw(t, b, r, name, fmt.Sprintf("guess %d", i))
			msg := regexp.MustCompile(`class="error" role="alert">([^<]*)<`).FindStringSubmatch(p.body)
			if msg == nil {
				t.Fatalf("no message for %s:\n%s", name, p.body)
			}
			out = append(out, fmt.Sprintf("%d %s Retry-After=%s", p.status, msg[1], p.header.Get("Retry-After")))
		}
		return out
	}
	known, unknown := run("alice"), run("mallory")
	if strings.Join(known, "\n") != strings.Join(unknown, "\n") {
		t.Fatalf("an account and a name that is none are throttled differently:\n%s\n--\n%s", strings.Join(known, "\n"), strings.Join(unknown, "\n"))
	}
	if !strings.HasPrefix(known[len(known)-1], "429 Too many sign-in attempts. Try again in 1 minute.") {
		t.Fatalf("6th attempt: %s", known[len(known)-1])
	}
}

// The throttled page shows the wait and a way back to the application:
// "Return to App" ends the sign-in with error=access_denied at the
// client's redirect_uri (with its state).
func TestThrottledPageShowsTheWaitAndTheWayBack(t *testing.T) {
	e := newEnv(t)
	e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "app", Name: "App", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	r := e.rp(t, "app", "app-secret")
	b := e.newBrowser()
	for i := range throttle.DefaultPasswordAfter {
		e.signInPw(t, b, r, "alice", fmt.Sprintf("guess %d", i))
	}
	e.clock.Advance(15 * time.Second)
	p, a := e.signInPw(t, b, r, "alice", alicePW)
	if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "Try again in 45 seconds.") || p.header.Get("Retry-After") != "45" {
		t.Fatalf("throttled page: %d Retry-After=%q\n%s", p.status, p.header.Get("Retry-After"), p.body)
	}
	m := regexp.MustCompile(`(?s)<form method="post" action="/login/cancel" class="cancel">(.*?)</form>`).FindStringSubmatch(p.body)
	if m == nil || !strings.Contains(m[1], "Return to App") {
		t.Fatalf("no way back on the throttled page:\n%s", p.body)
	}
	f := parseForm(t, `<form action="/login/cancel">`+m[1]+`</form>`)
	resp := postForm(t, b, e.issuer+"/login/cancel", f.fields)
	loc, _ := url.Parse(resp.header.Get("Location"))
	if resp.status/100 != 3 || !strings.HasPrefix(loc.String(), rpRedirect) || loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != a.state {
		t.Fatalf("return to the app: %d Location=%s", resp.status, loc)
	}
	// The confirmation page a link (the face page's) leads to.
	b2 := e.newBrowser()
	pg := get(t, b2, r.start().url)
	id := parseForm(t, pg.body).fields.Get("authRequestID")
	cp := get(t, b2, e.issuer+CancelPath(id))
	if cp.status != http.StatusOK || !strings.Contains(cp.body, "Return to App") || parseForm(t, cp.body).action != "/login/cancel" {
		t.Fatalf("cancel page: %d\n%s", cp.status, cp.body)
	}
	// Another browser cannot cancel someone's sign-in.
	if resp := postForm(t, e.newBrowser(), e.issuer+"/login/cancel", url.Values{"authRequestID": {id}}); resp.status/100 == 3 {
		t.Fatalf("cancel from another browser: %d", resp.status)
	}
}

// A face check that must wait is shown on the throttled page with the wait
// (and Retry-After), a link to try face again and the way back to the
// application (error=access_denied at its redirect_uri).
func TestThrottledFacePageShowsTheWaitTheRetryAndTheWayBack(t *testing.T) {
	e := newEnv(t, withFakeFace)
	alice := e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	faceClient(e)
	r := e.rp(t, "app", "app-secret")
	failedAt := e.clock.Now()
	// Five free failures, then 30 s: the sixth failure happened just now.
	if _, err := e.store.UpdateThrottle(e.ctx, "user:"+alice.ID, "face", func(t *models.FactorThrottle) error {
		t.UserID, t.Failures, t.LastFailureAt = alice.ID, throttle.DefaultFaceAfter+1, &failedAt
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b := e.newBrowser()
	p, a := e.signInPw(t, b, r, "alice", alicePW)
	id := p.url.Query().Get("authRequestID")
	e.clock.Advance(10 * time.Second)
	th := httpGetThrottled(t, e, b, id)
	if th.status != http.StatusTooManyRequests || th.header.Get("Retry-After") == "" ||
		!regexp.MustCompile(`Too many failed face checks\. Try again in \d+ seconds\.`).MatchString(th.body) {
		t.Fatalf("face wait page: %d Retry-After=%q\n%s", th.status, th.header.Get("Retry-After"), th.body)
	}
	retry := regexp.MustCompile(`<a href="([^"]+)" id="retry-link">`).FindStringSubmatch(th.body)
	if retry == nil || html.UnescapeString(retry[1]) != "/login/face/?authRequestID="+url.QueryEscape(id) {
		t.Fatalf("no link to try face again:\n%s", th.body)
	}
	m := regexp.MustCompile(`(?s)<form method="post" action="/login/cancel" class="cancel">(.*?)</form>`).FindStringSubmatch(th.body)
	if m == nil || !strings.Contains(m[1], "Return to App") {
		t.Fatalf("no way back to the application:\n%s", th.body)
	}
	resp := postForm(t, b, e.issuer+"/login/cancel", parseForm(t, `<form action="/login/cancel">`+m[1]+`</form>`).fields)
	loc, _ := url.Parse(resp.header.Get("Location"))
	if resp.status/100 != 3 || !strings.HasPrefix(loc.String(), rpRedirect) || loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != a.state {
		t.Fatalf("return to the app: %d Location=%s", resp.status, loc)
	}
}

// Every sign-in gets a new session id and revokes the old one: a copy of
// the cookie taken while the user had only the password does not gain
// face and mfa when the user passes face later.
func TestSessionRotatesAtEverySignIn(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.SecondFactors = []SecondFactor{&fakeFace{notEnrolled: true}} })
	alice := e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "plain", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "plain-secret")
	faceClient(e)
	plain, withFace := e.rp(t, "plain", "plain-secret"), e.rp(t, "app", "app-secret")
	b := e.newBrowser()
	sessionID := func() string {
		for _, c := range b.Jar.Cookies(mustURL(t, e.issuer+"/")) {
			if c.Name == sessionCookie {
				return c.Value
			}
		}
		t.Fatal("no session cookie")
		return ""
	}
	p, _ := e.signInPw(t, b, plain, "alice", alicePW)
	// Enrolment is offered; "Not now" signs in with the password alone.
	m := csrfInputRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("password sign-in: %d at %s", p.status, p.url)
	}
	if p = postForm(t, b, e.issuer+"/login/face/skip?authRequestID="+url.QueryEscape(p.url.Query().Get("authRequestID")), url.Values{"csrf_token": {m[1]}}); p.status/100 != 3 {
		t.Fatalf("password-only sign-in: %d\n%s", p.status, p.body)
	}
	cookiePwd := sessionID()
	sessions, _ := e.store.ListUserSessions(e.ctx, alice.ID)
	if len(sessions) != 1 {
		t.Fatalf("%d sessions after the first sign-in", len(sessions))
	}
	first := sessions[0]

	// The face client: the session stands in for the password, face is added.
	a := withFace.start()
	p = get(t, b, a.url)
	if p.url.Path != "/login/face/" {
		t.Fatalf("face client with a password session: at %s, want the face step", p.url)
	}
	st, body := e.faceTry(t, b, p, e.issuer, "pass")
	if st != http.StatusOK {
		t.Fatalf("face: %d %v", st, body)
	}
	next := get(t, b, body["next"].(string))
	loc, _ := url.Parse(next.header.Get("Location"))
	codeFrom(t, loc, a)
	cookieFace := sessionID()
	if cookieFace == cookiePwd {
		t.Fatal("the session cookie did not change when face was added")
	}
	old, err := e.store.GetSession(e.ctx, first.ID)
	if err != nil || old.Active(e.clock.Now()) {
		t.Fatalf("the password-only session is still active: %+v %v", old, err)
	}
	sessions, _ = e.store.ListUserSessions(e.ctx, alice.ID)
	var current *models.Session
	for i := range sessions {
		if sessions[i].Active(e.clock.Now()) {
			current = &sessions[i]
		}
	}
	if current == nil || current.ID == first.ID || strings.Join(current.AMR, " ") != "pwd face mfa" {
		t.Fatalf("session after face: %+v", current)
	}
	if first.ID == "" || strings.Join(first.AMR, " ") != "pwd" {
		t.Fatalf("first session: %+v", first)
	}
	// The copy of the password-time cookie is worth nothing now: a new
	// sign-in with it asks for the password again.
	thief := e.newBrowser()
	thief.Jar.SetCookies(mustURL(t, e.issuer+"/"), []*http.Cookie{{Name: sessionCookie, Value: cookiePwd, Path: "/"}})
	if p := get(t, thief, plain.start().url); p.status != http.StatusOK || !strings.Contains(p.body, `name="password"`) {
		t.Fatalf("old cookie: %d at %s, want the login form", p.status, p.url)
	}
	// And the next sign-in (a password re-entry) rotates again.
	if p, _ := e.signInPw(t, b, plain, "alice", alicePW, oauth2.SetAuthURLParam("prompt", "login")); p.status/100 != 3 {
		t.Fatalf("re-authentication: %d", p.status)
	}
	if sessionID() == cookieFace {
		t.Fatal("the session id did not change at the next sign-in")
	}
}

// Two instances over one PostgreSQL database and one Redis see the same
// counters: failures spread over both are counted together.
func TestThrottleSharedByTwoInstances(t *testing.T) {
	shared := func(o *Options) { o.RateLimitRedisURL = testRedisURL(); withFakeFace(o) }
	e := newEnvDB(t, pgtest.SchemaURL(t), shared)
	bURL, _ := e.secondInstance(t, withFakeFace)
	alice := e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	faceClient(e)
	r := e.rp(t, "app", "app-secret")

	// Password: the forms come from A, the posts alternate between A and B.
	try := func(base, pw string) page {
		br := e.newBrowser()
		f := parseForm(t, get(t, br, r.start().url).body)
		f.fields.Set("username", "alice")
		f.fields.Set("password", pw)
		return postForm(t, br, base+f.action, f.fields)
	}
	for i := range throttle.DefaultPasswordAfter {
		base := e.issuer
		if i%2 == 1 {
			base = bURL
		}
		if p := try(base, fmt.Sprintf("guess %d", i)); p.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, p.status)
		}
	}
	for _, base := range []string{e.issuer, bURL} {
		if p := try(base, alicePW); p.status != http.StatusTooManyRequests {
			t.Fatalf("after 5 failures over two instances, on %s: %d, want throttled", base, p.status)
		}
	}
	e.clock.Advance(time.Minute)

	// Face: failures on A and on B, one counter.
	b := e.newBrowser()
	p, _ := e.signInPw(t, b, r, "alice", alicePW)
	for i := range throttle.DefaultFaceAfter {
		base := e.issuer
		if i%2 == 1 {
			base = bURL
		}
		if st, body := e.faceTry(t, b, p, base, "fail"); st != http.StatusOK {
			t.Fatalf("face failure %d on %s: %d %v", i+1, base, st, body)
		}
	}
	for _, base := range []string{e.issuer, bURL} {
		if st, body := e.faceTry(t, b, p, base, "pass"); st != http.StatusTooManyRequests {
			t.Fatalf("face after 5 failures over two instances, on %s: %d %v", base, st, body)
		}
	}
	if n := counter(t, e.store, "user:"+alice.ID, "face"); n != throttle.DefaultFaceAfter {
		t.Fatalf("face counter %d", n)
	}
}
