package faceweb_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/internal/logintest"
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

func TestBrowserFaceSignIn(t *testing.T) {
	logintest.ChromiumPath(t)
	liveY4M := logintest.MakeY4M(t, "p01_blink")
	photoY4M := logintest.MakeY4M(t, "spoof_static_photo_p02")

	// The relying party listens on its own 127.0.0.1 port.
	app := logintest.NewRPServer()
	rpBase := app.Base
	e := newEnv(t, envConfig{steps: 1, faceMode: policy.FaceRequired,
		redirectURIs: []string{rpBase + "/callback"}, logoutURIs: []string{rpBase + "/signed-out"}})
	e.picker.def = []faceauth.Action{faceauth.ActionBlink}
	alice := e.addUser("alice")
	e.addUser("bob")
	app.Start(t, e.issuer, clientID)

	// Run 1: the live clip.
	ctx := logintest.NewChromium(t, liveY4M, logintest.AllowCamera)
	signIn := func(want string) {
		t.Helper()
		openFacePage(t, ctx, rpBase, "alice", want)
		logintest.Run(t, ctx, "press start", chromedp.Click("#face-start", chromedp.ByID))
		out := logintest.WaitFaceOutcome(t, ctx, rpBase+"/callback")
		if !strings.HasPrefix(out.Href, rpBase+"/callback") {
			t.Fatalf("%s: face step did not finish: message %q at %s", want, out.Message, out.Href)
		}
		var shown string
		logintest.Run(t, ctx, "read the claims", chromedp.Text("#claims", &shown, chromedp.ByID))
		c := app.LastClaims()
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
	logintest.Run(t, ctx, "sign out",
		chromedp.Click("#sign-out", chromedp.ByID),
		chromedp.WaitVisible("#signed-out", chromedp.ByID),
	)
	signIn("verify")

	// Run 2: another browser whose camera shows a still photo; bob's
	// enrolment is refused with a message, and nothing is stored.
	ctx2 := logintest.NewChromium(t, photoY4M, logintest.AllowCamera)
	logintest.Run(t, ctx2, "bob signs in",
		logintest.StartFaceSignIn(rpBase+"/login", "bob", userPW),
	)
	out := logintest.WaitFaceOutcome(t, ctx2, rpBase+"/callback")
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
	ctx3 := logintest.NewChromium(t, liveY4M, logintest.DenyCamera)
	before, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: "bob"})
	logintest.Run(t, ctx3, "bob signs in and denies the camera",
		logintest.StartFaceSignIn(rpBase+"/login", "bob", userPW),
	)
	out = logintest.WaitFaceOutcome(t, ctx3, rpBase+"/callback")
	if !strings.Contains(out.Message, "Camera access was denied") || !out.Error {
		t.Fatalf("denied camera: page says %q", out.Message)
	}
	var startShown bool
	logintest.Run(t, ctx3, "start button", chromedp.Evaluate(`!document.getElementById("face-start").hidden`, &startShown))
	if !startShown {
		t.Fatal("after a denied camera the Start button is gone")
	}
	after, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: "bob", Type: "face.enrol"})
	for _, ev := range after {
		if !slices.ContainsFunc(before, func(b models.AuditEvent) bool { return b.ID == ev.ID }) {
			t.Fatalf("a face attempt was made without a camera: %+v", ev)
		}
	}

	// Run 4: alice (enrolled) cannot use her camera: the face page offers
	// her recovery code, which stands in for face once and then asks her
	// to enrol again (no "Not now").
	codes, err := e.rec.Generate(e.ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	ctx4 := logintest.NewChromium(t, liveY4M, logintest.DenyCamera)
	logintest.Run(t, ctx4, "alice signs in and denies the camera",
		logintest.StartFaceSignIn(rpBase+"/login", "alice", userPW),
	)
	if out := logintest.WaitFaceOutcome(t, ctx4, rpBase+"/callback"); !strings.Contains(out.Message, "Camera access was denied") {
		t.Fatalf("denied camera: page says %q", out.Message)
	}
	var enrolTitle string
	logintest.Run(t, ctx4, "use a recovery code",
		chromedp.WaitVisible("#face-fallback-link", chromedp.ByID),
		chromedp.Click("#face-fallback-link", chromedp.ByID),
		chromedp.WaitVisible("#code", chromedp.ByID),
		chromedp.SendKeys("#code", codes[0], chromedp.ByID),
		chromedp.Submit("#code", chromedp.ByID),
		chromedp.WaitVisible("#fallback-continue", chromedp.ByID),
		chromedp.Click("#fallback-continue", chromedp.ByID),
		chromedp.WaitEnabled("#face-start", chromedp.ByID),
		chromedp.Text("h1", &enrolTitle, chromedp.ByQuery),
	)
	var skip bool
	logintest.Run(t, ctx4, "no skip", chromedp.Evaluate(`!!document.getElementById("face-skip")`, &skip))
	if !strings.Contains(enrolTitle, "Set up face sign-in") || skip {
		t.Fatalf("after a recovery code: page %q (skippable: %v), want the forced face enrolment", enrolTitle, skip)
	}
}

// openFacePage signs username in with the password at the relying party
// at rpBase and checks that the face page it lands on is for want (enrol
// or verify).
func openFacePage(t *testing.T, ctx context.Context, rpBase, username, want string) {
	t.Helper()
	logintest.Run(t, ctx, "open the demo app and sign in",
		chromedp.Navigate(rpBase+"/"),
		chromedp.Click("#sign-in", chromedp.ByID),
		logintest.SubmitPassword(username, userPW),
		chromedp.WaitEnabled("#face-start", chromedp.ByID),
	)
	var purpose string
	logintest.Run(t, ctx, "read the face page", chromedp.AttributeValue("#face-app", "data-purpose", &purpose, nil, chromedp.ByID))
	if purpose != want {
		t.Fatalf("face page is for %q, want %q", purpose, want)
	}
}
