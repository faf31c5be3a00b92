package faceweb_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/internal/fixtures"
	"github.com/faceidp/faceidp/storage"
)

// TestAccountReenrolAndDelete: a signed-in user enrols from the account
// page after entering the password again, is then asked for face at the
// next sign-in, and deletes the template the same way.
func TestAccountReenrolAndDelete(t *testing.T) {
	e := newEnv(t, envConfig{steps: 1, faceMode: policy.FaceOptional})
	u := e.addUser("alice")
	rp := e.rp(rpRedirect)
	b := e.newBrowser()

	// Optional mode, no template: enrolment is offered; "Not now" signs in
	// with the password alone.
	if p := e.skip(b, e.signInPassword(b, rp.Start().URL, "alice")); p.status/100 != 3 || !strings.HasPrefix(p.header.Get("Location"), rpRedirect) {
		t.Fatalf("password sign-in: %d %s", p.status, p.header.Get("Location"))
	}

	acct := e.get(b, "/login/face/account")
	if acct.status != http.StatusOK || !strings.Contains(acct.body, "No face is enrolled") {
		t.Fatalf("account page: %d\n%s", acct.status, acct.body)
	}
	csrf := attr(t, csrfFieldRe, acct.body)

	// The enrolment API needs the password re-entered first.
	direct := facePage{challengeURL: "/login/face/account/challenge", answerURL: "/login/face/account/answer", csrf: csrf}
	if r := e.challenge(b, direct); r.status != http.StatusForbidden || r.str("error") != "reauth_required" {
		t.Fatalf("challenge without re-authentication: %d %s", r.status, r.raw)
	}
	// A wrong password is refused and counted.
	p := e.postForm(b, "/login/face/account", url.Values{"csrf_token": {csrf}, "action": {"enrol"}, "password": {"wrong"}})
	if !strings.Contains(p.body, "Wrong password.") {
		t.Fatalf("wrong password: %d\n%s", p.status, p.body)
	}
	// This browser signed in with the password: it is a known device, and
	// the failure counts in its own password counter.
	if ts, _ := e.store.ListUserThrottles(e.ctx, u.ID); len(ts) != 1 || ts[0].Factor != "pwd" || !strings.HasPrefix(ts[0].Subject, "device:") || ts[0].Failures != 1 {
		t.Fatalf("password counters after a wrong re-entry: %+v, want the device's with 1 failure", ts)
	}

	enrolPage := e.postForm(b, "/login/face/account", url.Values{"csrf_token": {csrf}, "action": {"enrol"}, "password": {userPW}})
	if enrolPage.status != http.StatusOK || enrolPage.url.Path != "/login/face/account/enrol" {
		t.Fatalf("re-authentication: %d at %s\n%s", enrolPage.status, enrolPage.url, enrolPage.body)
	}
	fp := parseFacePage(t, enrolPage.body)
	ch := e.challenge(b, fp)
	if ch.status != http.StatusOK || ch.str("purpose") != "enrol" {
		t.Fatalf("account challenge: %d %s", ch.status, ch.raw)
	}
	res := e.answer(b, fp, ch.str("challenge_id"), jpegs(fixtures.ClipFramesByID(t, "p01_blink", 1)))
	if res.status != http.StatusOK || res.str("result") != "pass" || res.str("next") != "/login/face/account?done=enrolled" {
		t.Fatalf("account enrolment: %d %s", res.status, res.raw)
	}
	if ok, _ := e.svc.Enrolled(e.ctx, u.ID); !ok {
		t.Fatal("not enrolled after the account enrolment")
	}
	// The re-authentication was used up.
	if r := e.challenge(b, fp); r.status != http.StatusForbidden || r.str("error") != "reauth_required" {
		t.Fatalf("second challenge after enrolment: %d %s", r.status, r.raw)
	}

	// The next sign-in (another browser) asks for face.
	if p := e.signInPassword(e.newBrowser(), rp.Start().URL, "alice"); parseFacePage(t, p.body).purpose != "verify" {
		t.Fatalf("sign-in after enrolment did not ask for face:\n%s", p.body)
	}

	// Delete, again after the password.
	acct = e.get(b, "/login/face/account?done=enrolled")
	if !strings.Contains(acct.body, "Your face is enrolled") || !strings.Contains(acct.body, `value="delete"`) {
		t.Fatalf("account page after enrolment:\n%s", acct.body)
	}
	del := e.postForm(b, "/login/face/account", url.Values{"csrf_token": {csrf}, "action": {"delete"}, "password": {userPW}})
	if del.status != http.StatusOK || del.url.Query().Get("done") != "deleted" || !strings.Contains(del.body, "No face is enrolled") {
		t.Fatalf("delete: %d at %s\n%s", del.status, del.url, del.body)
	}
	if ok, _ := e.svc.Enrolled(e.ctx, u.ID); ok {
		t.Fatal("still enrolled after delete")
	}
	if evs, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: u.ID, Type: "account.face_delete"}); len(evs) != 1 {
		t.Fatalf("delete audit events: %+v", evs)
	}

	// Without a session the account page refuses.
	if p := e.get(e.newBrowser(), "/login/face/account"); p.status != http.StatusUnauthorized {
		t.Fatalf("account page without a session: %d", p.status)
	}
}
