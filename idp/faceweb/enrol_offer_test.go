package faceweb_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/internal/fixtures"
	"github.com/faceidp/faceidp/internal/logintest"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

var skipFormRe = regexp.MustCompile(`<form method="post" action="(/login/face/enrol/skip[^"]*)"`)

const skipAudit = "login.face_enrol_skipped"

// skip posts the enrolment page's "Not now" form.
func (e *env) skip(b *http.Client, enrolPage page) page {
	e.t.Helper()
	return e.postForm(b, attr(e.t, skipFormRe, enrolPage.body), url.Values{"csrf_token": {attr(e.t, csrfFieldRe, enrolPage.body)}})
}

// codeFrom returns the code of a redirect to the relying party.
func codeFrom(t *testing.T, p page, a logintest.AuthStart) string {
	t.Helper()
	loc, err := url.Parse(p.header.Get("Location"))
	if err != nil || p.status/100 != 3 || !strings.HasPrefix(loc.String(), rpRedirect) || loc.Query().Get("code") == "" {
		t.Fatalf("want a redirect to the client with a code, got %d %q at %s:\n%s", p.status, p.header.Get("Location"), p.url, p.body)
	}
	if loc.Query().Get("state") != a.State {
		t.Fatalf("state %q, want %q", loc.Query().Get("state"), a.State)
	}
	return loc.Query().Get("code")
}

// TestOptionalEnrolmentOffer: in face mode optional a user without a face
// template is asked to enrol after the password, and may say "Not now":
// the sign-in then finishes with the password alone (audited), and this
// browser is not asked again for 30 days. Enrolling instead counts as the
// face factor.
func TestOptionalEnrolmentOffer(t *testing.T) {
	e := newEnv(t, envConfig{steps: 1, faceMode: policy.FaceOptional})
	u := e.addUser("alice")
	rp := e.rp(rpRedirect)
	b := e.newBrowser()

	a := rp.Start()
	p := e.signInPassword(b, a.URL, "alice")
	if p.status != http.StatusOK || p.url.Path != "/login/face/enrol" || parseFacePage(t, p.body).purpose != "enrol" {
		t.Fatalf("after the password: %d at %s, want the enrolment page:\n%s", p.status, p.url, p.body)
	}
	if !strings.Contains(p.body, ">Not now</button>") {
		t.Fatalf("the optional enrolment page has no Not now button:\n%s", p.body)
	}

	// "Not now" is a CSRF-protected POST.
	noToken := e.postForm(b, attr(t, skipFormRe, p.body), url.Values{})
	if noToken.status != http.StatusForbidden {
		t.Fatalf("Not now without a CSRF token: %d", noToken.status)
	}
	if evs, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: u.ID, Type: skipAudit}); len(evs) != 0 {
		t.Fatalf("a refused Not now was recorded: %+v", evs)
	}

	c := rp.Redeem(t, e.ctx, codeFrom(t, e.skip(b, p), a), a)
	if c.Sub != u.ID || !slices.Equal(c.AMR, []string{policy.AMRPassword}) || c.ACR != policy.ACRSingleFactor {
		t.Fatalf("after Not now: sub %q amr %v acr %q, want the password alone", c.Sub, c.AMR, c.ACR)
	}
	if ok, _ := e.svc.Enrolled(e.ctx, u.ID); ok {
		t.Fatal("Not now enrolled a face")
	}
	evs, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: u.ID, Type: skipAudit})
	if len(evs) != 1 || evs[0].Outcome != "info" || evs[0].Reason != "not now" || evs[0].ClientID != clientID || evs[0].RemoteIP != "127.0.0.1" {
		t.Fatalf("Not now audit: %+v", evs)
	}

	// The same browser (its session stands in for the password) is not
	// asked again: straight back to the client.
	a = rp.Start()
	c = rp.Redeem(t, e.ctx, codeFrom(t, e.get(b, a.URL), a), a)
	if !slices.Equal(c.AMR, []string{policy.AMRPassword}) {
		t.Fatalf("second sign-in amr %v", c.AMR)
	}
	evs, _ = e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: u.ID, Type: skipAudit})
	if len(evs) != 2 || !strings.Contains(evs[0].Reason+evs[1].Reason, "remembered") {
		t.Fatalf("remembered Not now audit: %+v", evs)
	}

	// Without the remembered choice, a silent sign-in (prompt=none) is not
	// blocked by the offer: the user cannot be asked.
	iss, _ := url.Parse(e.issuer)
	b.Jar.SetCookies(iss, []*http.Cookie{{Name: "faceidp_enrol_later", Value: "", Path: "/", MaxAge: -1}})
	a = rp.Start()
	codeFrom(t, e.get(b, a.URL+"&prompt=none"), a)

	// After 30 days (the session is long gone) the offer comes back.
	e.clock.Advance(idp.EnrolPostponeTTL + time.Hour)
	if p := e.signInPassword(b, rp.Start().URL, "alice"); p.url.Path != "/login/face/enrol" {
		t.Fatalf("after 30 days: %d at %s, want the enrolment page again", p.status, p.url)
	}

	// Another browser is asked; enrolling there counts as the face factor.
	b2 := e.newBrowser()
	a = rp.Start()
	p = e.signInPassword(b2, a.URL, "alice")
	fp := parseFacePage(t, p.body)
	ch := e.challenge(b2, fp)
	res := e.answer(b2, fp, ch.str("challenge_id"), jpegs(fixtures.ClipFramesByID(t, "p01_blink", 1)))
	if res.status != http.StatusOK || res.str("result") != "pass" {
		t.Fatalf("enrolment: %d %s", res.status, res.raw)
	}
	c = rp.Redeem(t, e.ctx, e.follow(b2, res.str("next"), a), a)
	if !slices.Equal(c.AMR, []string{policy.AMRPassword, policy.AMRFace, policy.AMRMFA}) {
		t.Fatalf("after enrolling: amr %v", c.AMR)
	}
	// Enrolled now: the next sign-in verifies, with no skip.
	p = e.signInPassword(e.newBrowser(), rp.Start().URL, "alice")
	if parseFacePage(t, p.body).purpose != "verify" || strings.Contains(p.body, "Not now") {
		t.Fatalf("enrolled user: want verification without Not now:\n%s", p.body)
	}
}

// TestRequiredEnrolmentHasNoSkip: wherever face is required (global mode,
// the user, the client) the enrolment page has no "Not now" and a forged
// skip is refused without moving the sign-in on.
func TestRequiredEnrolmentHasNoSkip(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		mode                    policy.FaceMode
		userRequires, clientReq bool
	}{
		{"global required", policy.FaceRequired, false, false},
		{"user requires face", policy.FaceOptional, true, false},
		{"client requires face", policy.FaceOptional, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{steps: 1, faceMode: tc.mode})
			u := e.addUser("bob")
			if tc.userRequires {
				u.RequireFace = true
				if err := e.store.UpdateUser(e.ctx, u); err != nil {
					t.Fatal(err)
				}
			}
			if tc.clientReq {
				if err := e.store.DeleteClient(e.ctx, clientID); err != nil {
					t.Fatal(err)
				}
				if err := e.store.CreateClient(e.ctx, &models.Client{ID: clientID, Name: "Demo app", RedirectURIs: []string{rpRedirect}, SkipConsent: true, RequireFace: true}); err != nil {
					t.Fatal(err)
				}
			}
			b := e.newBrowser()
			p := e.signInPassword(b, e.rp(rpRedirect).Start().URL, "bob")
			if p.url.Path != "/login/face/enrol" {
				t.Fatalf("after the password: %d at %s, want the enrolment page", p.status, p.url)
			}
			if strings.Contains(p.body, "Not now") || skipFormRe.MatchString(p.body) {
				t.Fatalf("required enrolment offers a skip:\n%s", p.body)
			}
			id := p.url.Query().Get("authRequestID")
			forged := e.postForm(b, "/login/face/enrol/skip?authRequestID="+url.QueryEscape(id), url.Values{"csrf_token": {parseFacePage(t, p.body).csrf}})
			if forged.status != http.StatusForbidden || !strings.Contains(forged.body, "cannot be skipped") {
				t.Fatalf("forged skip: %d at %s:\n%s", forged.status, forged.url, forged.body)
			}
			req, err := e.store.GetAuthRequest(e.ctx, id)
			if err != nil || req.Step != models.StepFaceEnrol || req.Done {
				t.Fatalf("after a refused skip the sign-in is %+v (%v), want still at face enrolment", req, err)
			}
			if p := e.get(b, "/login/face/enrol?authRequestID="+url.QueryEscape(id)); p.status != http.StatusOK || parseFacePage(t, p.body).purpose != "enrol" {
				t.Fatalf("enrolment page after a refused skip: %d", p.status)
			}
		})
	}
}
