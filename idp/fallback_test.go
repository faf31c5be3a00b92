package idp

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/factors/recovery"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// withRecovery gives the provider the fallback service.
func withRecovery(o *Options) {
	svc, err := recovery.New(o.Store, o.Keyring, o.Clock, rand.Reader, recovery.Options{})
	if err != nil {
		panic(err)
	}
	o.Recovery = svc
}

type idClaims struct {
	Sub string   `json:"sub"`
	AMR []string `json:"amr"`
	ACR string   `json:"acr"`
}

// redeem exchanges the code of the redirect loc and returns the ID token's claims.
func (e *env) redeem(t *testing.T, r *rp, loc *url.URL, a authStart) idClaims {
	t.Helper()
	tok, err := r.cfg.Exchange(e.ctx, codeFrom(t, loc, a), oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatalf("token exchange: %v", err)
	}
	idt, err := r.verifier.Verify(e.ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// leave opens u in the browser and returns the redirect out of the provider.
func leave(t *testing.T, b *http.Client, u string) *url.URL {
	t.Helper()
	p := get(t, b, u)
	loc, err := url.Parse(p.header.Get("Location"))
	if p.status/100 != 3 || err != nil {
		t.Fatalf("%s: want a redirect to the client, got %d at %s:\n%s", u, p.status, p.url, p.body)
	}
	return loc
}

var (
	codeRe    = regexp.MustCompile(`<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>`)
	continueR = regexp.MustCompile(`<a href="([^"]+)" id="fallback-continue"`)
)

// generateCodes makes recovery codes on the account page of the signed-in
// browser b and returns them as shown.
func (e *env) generateCodes(t *testing.T, b *http.Client) []string {
	t.Helper()
	acct := get(t, b, e.issuer+AccountPath)
	csrf := csrfInputRe.FindStringSubmatch(acct.body)
	if acct.status != http.StatusOK || csrf == nil {
		t.Fatalf("account page: %d\n%s", acct.status, acct.body)
	}
	if p := postForm(t, b, e.issuer+"/login/account/reauth", url.Values{"csrf_token": {csrf[1]}, "password": {alicePW}}); p.status != http.StatusOK {
		t.Fatalf("re-authentication: %d", p.status)
	}
	p := postForm(t, b, e.issuer+"/login/account/recovery-codes", url.Values{"csrf_token": {csrf[1]}})
	var codes []string
	for _, m := range codeRe.FindAllStringSubmatch(p.body, -1) {
		codes = append(codes, m[1])
	}
	if p.status != http.StatusOK || len(codes) != recovery.CodesPerSet {
		t.Fatalf("generate codes: %d, %d codes\n%s", p.status, len(codes), p.body)
	}
	return codes
}

// useCode opens the fallback page of the sign-in waiting on face page p
// and submits code; it returns the answer.
func (e *env) useCode(t *testing.T, b *http.Client, p page, code string) page {
	t.Helper()
	id := p.url.Query().Get("authRequestID")
	fb := get(t, b, e.issuer+FallbackPath(id))
	csrf := csrfInputRe.FindStringSubmatch(fb.body)
	if fb.status != http.StatusOK || csrf == nil {
		t.Fatalf("fallback page: %d\n%s", fb.status, fb.body)
	}
	return postForm(t, b, e.issuer+"/login/fallback/recovery-code", url.Values{"csrf_token": {csrf[1]}, "authRequestID": {id}, "code": {code}})
}

// continueAfterFallback follows the Continue link of a used fallback to the
// face enrolment, checks that it cannot be skipped, enrols and returns the
// redirect to the client.
func (e *env) continueAfterFallback(t *testing.T, b *http.Client, done page) *url.URL {
	t.Helper()
	m := continueR.FindStringSubmatch(done.body)
	if m == nil {
		t.Fatalf("no Continue link:\n%s", done.body)
	}
	enrol := get(t, b, e.abs(strings.ReplaceAll(m[1], "&amp;", "&")))
	id := enrol.url.Query().Get("authRequestID")
	req, err := e.store.GetAuthRequest(e.ctx, id)
	if err != nil || req.Step != models.StepFaceEnrol {
		t.Fatalf("after a fallback the sign-in is at %q (%v), want face enrolment", req.Step, err)
	}
	csrf := csrfInputRe.FindStringSubmatch(enrol.body)
	if skip := postForm(t, b, e.issuer+"/login/face/skip?authRequestID="+url.QueryEscape(id), url.Values{"csrf_token": {csrf[1]}}); skip.status/100 == 3 {
		t.Fatalf("the forced re-enrolment was skipped: %d %s", skip.status, skip.header.Get("Location"))
	}
	st, body := e.faceTry(t, b, enrol, e.issuer, "pass")
	next, _ := body["next"].(string)
	if st != http.StatusOK || next == "" {
		t.Fatalf("enrolment after the fallback: %d %v", st, body)
	}
	return leave(t, b, next)
}

// Recovery codes through the web flow: generated on the account page,
// stored hashed, one stands in for face once and forces re-enrolment in
// that sign-in; used codes, replaced sets and wrong codes are refused and
// counted; the user sees how many remain.
func TestRecoveryCodesThroughTheWebFlow(t *testing.T) {
	e := newEnv(t, withFakeFace, withRecovery)
	alice := e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	faceClient(e)
	r := e.rp(t, "app", "app-secret")

	// Without codes the fallback page says what to do instead.
	b := e.newBrowser()
	p, a := e.signInPw(t, b, r, "alice", alicePW)
	if fb := get(t, b, e.issuer+FallbackPath(p.url.Query().Get("authRequestID"))); !strings.Contains(fb.body, `id="no-fallback"`) || strings.Contains(fb.body, "recovery-code-form") {
		t.Fatalf("fallback page without codes:\n%s", fb.body)
	}
	_, body := e.faceTry(t, b, p, e.issuer, "pass")
	e.redeem(t, r, leave(t, b, body["next"].(string)), a)

	codes := e.generateCodes(t, b)
	rows, err := e.store.ListRecoveryCodes(e.ctx, alice.ID)
	if err != nil || len(rows) != recovery.CodesPerSet {
		t.Fatalf("stored codes: %d %v", len(rows), err)
	}
	for _, row := range rows {
		for _, c := range codes {
			norm, _ := recovery.Normalize(c)
			if strings.Contains(row.CodeHash, norm) || strings.Contains(strings.ToLower(row.CodeHash), strings.ReplaceAll(c, "-", "")) {
				t.Fatalf("a code is stored in the clear: %+v", row)
			}
		}
		if len(row.CodeHash) != 64 {
			t.Fatalf("stored code hash %q is not an HMAC-SHA256", row.CodeHash)
		}
	}
	if acct := get(t, b, e.issuer+AccountPath); !strings.Contains(acct.body, "<strong>10</strong> of your codes are left") || codeRe.MatchString(acct.body) {
		t.Fatalf("account page after generating (codes must not be shown again):\n%s", acct.body)
	}

	// Another browser: password, then a code (typed in upper case with a
	// space) instead of the face.
	b2 := e.newBrowser()
	p, a = e.signInPw(t, b2, r, "alice", alicePW)
	done := e.useCode(t, b2, p, strings.ToUpper(strings.Replace(codes[0], "-", " ", 1)))
	if done.status != http.StatusOK || !strings.Contains(done.body, "You have 9 recovery codes left") {
		t.Fatalf("use a code: %d\n%s", done.status, done.body)
	}
	c := e.redeem(t, r, e.continueAfterFallback(t, b2, done), a)
	if !slices.Equal(c.AMR, []string{"pwd", "otp", "mfa"}) || c.ACR != policy.ACRMultiFactor {
		t.Fatalf("claims after a recovery code: %+v, want amr [pwd otp mfa] (no face), acr 2fa", c)
	}
	for _, typ := range []string{"recovery.use", "login.otp"} {
		if evs, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: alice.ID, Type: typ}); len(evs) != 1 || evs[0].Outcome != "success" {
			t.Fatalf("%s audit: %+v", typ, evs)
		}
	}
	// The code stood in for face in that sign-in only: single sign-on from
	// the session asks for face again.
	a2 := r.start()
	if sso := get(t, b2, a2.url); sso.url.Path != "/login/face/" {
		t.Fatalf("single sign-on after a recovery code went to %s, want the face step", sso.url)
	}

	// A used code is refused, and counted.
	b3 := e.newBrowser()
	p, _ = e.signInPw(t, b3, r, "alice", alicePW)
	if again := e.useCode(t, b3, p, codes[0]); again.status != http.StatusUnauthorized || !strings.Contains(again.body, "not valid") {
		t.Fatalf("a used code: %d\n%s", again.status, again.body)
	}
	if n := counter(t, e.store, "user:"+alice.ID, "recovery"); n != 1 {
		t.Fatalf("recovery throttle counter %d, want 1", n)
	}

	// Regenerating replaces the set: an unused old code stops working, a
	// new one works.
	fresh := e.generateCodes(t, b)
	if again := e.useCode(t, b3, p, codes[1]); again.status != http.StatusUnauthorized {
		t.Fatalf("a code of the replaced set: %d\n%s", again.status, again.body)
	}
	if ok := e.useCode(t, b3, p, fresh[0]); ok.status != http.StatusOK || !strings.Contains(ok.body, "You have 9 recovery codes left") {
		t.Fatalf("a code of the new set: %d\n%s", ok.status, ok.body)
	}
	if n := counter(t, e.store, "user:"+alice.ID, "recovery"); n != 0 {
		t.Fatalf("a correct code did not reset the recovery counter: %d", n)
	}
}

// Wrong recovery codes are throttled like passwords: five are free, then
// the next attempt waits and is not checked.
func TestRecoveryCodeGuessesAreThrottled(t *testing.T) {
	e := newEnv(t, withFakeFace, withRecovery)
	alice := e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	faceClient(e)
	r := e.rp(t, "app", "app-secret")
	codes, err := e.opts.Recovery.Generate(e.ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	b := e.newBrowser()
	p, _ := e.signInPw(t, b, r, "alice", alicePW)
	for i := range 5 {
		if ans := e.useCode(t, b, p, "aaaaa-aaaa"+string(rune('a'+i))); ans.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i+1, ans.status)
		}
	}
	ans := e.useCode(t, b, p, codes[0])
	if ans.status != http.StatusTooManyRequests || ans.header.Get("Retry-After") == "" {
		t.Fatalf("a right code after five guesses: %d (Retry-After %q), want to wait", ans.status, ans.header.Get("Retry-After"))
	}
	if st, _ := e.opts.Recovery.Remaining(e.ctx, alice.ID); st.Remaining != recovery.CodesPerSet {
		t.Fatalf("a code was used while throttled: %d left", st.Remaining)
	}
}

// The administrator's face bypass: offered on the fallback page while it
// is valid, used once, forces face re-enrolment in that sign-in, adds
// nothing to amr; an expired or used bypass is refused.
func TestFaceBypassThroughTheWebFlow(t *testing.T) {
	e := newEnv(t, withFakeFace, withRecovery)
	alice := e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	faceClient(e)
	r := e.rp(t, "app", "app-secret")
	if _, err := e.opts.Recovery.GrantBypass(e.ctx, alice.ID, "cli:admin", "broken camera", time.Hour); err != nil {
		t.Fatal(err)
	}
	bypass := func(b *http.Client, p page) page {
		t.Helper()
		id := p.url.Query().Get("authRequestID")
		fb := get(t, b, e.issuer+FallbackPath(id))
		csrf := csrfInputRe.FindStringSubmatch(fb.body)
		return postForm(t, b, e.issuer+"/login/fallback/bypass", url.Values{"csrf_token": {csrf[1]}, "authRequestID": {id}})
	}
	b := e.newBrowser()
	p, a := e.signInPw(t, b, r, "alice", alicePW)
	if fb := get(t, b, e.issuer+FallbackPath(p.url.Query().Get("authRequestID"))); !strings.Contains(fb.body, `id="bypass-form"`) {
		t.Fatalf("fallback page with a bypass:\n%s", fb.body)
	}
	done := bypass(b, p)
	if done.status != http.StatusOK || !strings.Contains(done.body, "cannot be used again") {
		t.Fatalf("use the bypass: %d\n%s", done.status, done.body)
	}
	c := e.redeem(t, r, e.continueAfterFallback(t, b, done), a)
	if !slices.Equal(c.AMR, []string{"pwd"}) || c.ACR != policy.ACRSingleFactor {
		t.Fatalf("claims after a bypass: %+v, want amr [pwd], acr 1fa", c)
	}
	for _, typ := range []string{"face_bypass.use", "login.face_bypass"} {
		if evs, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: alice.ID, Type: typ}); len(evs) != 1 || evs[0].Outcome != "success" {
			t.Fatalf("%s audit: %+v", typ, evs)
		}
	}
	// Used: no longer offered, and refused when posted.
	b2 := e.newBrowser()
	p, _ = e.signInPw(t, b2, r, "alice", alicePW)
	if again := bypass(b2, p); again.status != http.StatusForbidden {
		t.Fatalf("a used bypass: %d\n%s", again.status, again.body)
	}
	// Expired: refused.
	if _, err := e.opts.Recovery.GrantBypass(e.ctx, alice.ID, "cli:admin", "again", time.Minute); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute)
	b3 := e.newBrowser()
	p, _ = e.signInPw(t, b3, r, "alice", alicePW)
	if fb := get(t, b3, e.issuer+FallbackPath(p.url.Query().Get("authRequestID"))); strings.Contains(fb.body, `id="bypass-form"`) {
		t.Fatal("an expired bypass is offered")
	}
	if again := bypass(b3, p); again.status != http.StatusForbidden {
		t.Fatalf("an expired bypass: %d\n%s", again.status, again.body)
	}
}

// When face is disabled for the user, the page that says so links to the
// fallbacks: never a dead end.
func TestDisabledFaceOffersTheFallbacks(t *testing.T) {
	e := newEnv(t, withFakeFace, withRecovery)
	alice := e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	faceClient(e)
	r := e.rp(t, "app", "app-secret")
	if _, err := e.opts.Recovery.Generate(e.ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.UpdateThrottle(e.ctx, "user:"+alice.ID, "face", func(t *models.FactorThrottle) error {
		t.UserID, t.Failures = alice.ID, 50
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b := e.newBrowser()
	p, _ := e.signInPw(t, b, r, "alice", alicePW)
	id := p.url.Query().Get("authRequestID")
	// The fake face factor shows the flow's throttled page the way faceweb does.
	th := httpGetThrottled(t, e, b, id)
	if th.status != http.StatusForbidden || !strings.Contains(th.body, FallbackPath(id)) {
		t.Fatalf("face disabled page: %d\n%s", th.status, th.body)
	}
	if fb := get(t, b, e.issuer+FallbackPath(id)); !strings.Contains(fb.body, "recovery-code-form") {
		t.Fatalf("fallback page while face is disabled:\n%s", fb.body)
	}
}

// httpGetThrottled renders the flow's throttled page for a disabled face.
func httpGetThrottled(t *testing.T, e *env, b *http.Client, id string) page {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.issuer+"/login/face/disabled?authRequestID="+url.QueryEscape(id), nil)
	return do(t, b, req)
}
