package admin_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/factors/recovery"
	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/idp/accounts"
	"github.com/faceidp/faceidp/internal/logintest"
	"github.com/faceidp/faceidp/internal/logintest/testidp"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// newFaceEnv is newEnv with the real face factor (dlib models, the
// hosted face page) for the Chromium tests.
func newFaceEnv(t *testing.T) *env {
	t.Helper()
	d := testidp.NewDeps(t)
	return newEnvWith(t, d, testidp.BlinkFace(t, d))
}

// TestConsoleBrowser drives the console's main tasks in headless Chromium
// with a fake camera, sharing one browser: an admin signs in with the
// password and the face; unlocks a throttled user; revokes a face
// enrolment; grants a bypass that the user then uses; registers a client
// and signs in to it; filters the audit log.
func TestConsoleBrowser(t *testing.T) {
	logintest.ChromiumPath(t)
	liveY4M := logintest.MakeY4M(t, "p01_blink")
	e := newFaceEnv(t)
	root := e.addUser("root", true)
	carol := e.addUser("carol", false)
	bob := e.addUser("bob", false)
	ctx := logintest.NewChromium(t, liveY4M, logintest.AllowCamera)
	defer closeBrowser(ctx)

	t.Run("admin signs in with password and face", func(t *testing.T) {
		logintest.Run(t, ctx, "open the console",
			logintest.StartFaceSignIn(e.issuer+"/admin", "root", userPW),
		)
		out := logintest.WaitFaceOutcome(t, ctx, e.issuer+"/admin/users")
		if !strings.HasPrefix(out.Href, e.issuer+"/admin/users") {
			t.Fatalf("the face step did not finish: %q at %s", out.Message, out.Href)
		}
		var name string
		logintest.Run(t, ctx, "read the console", chromedp.WaitVisible("#admin-name", chromedp.ByID), chromedp.Text("#admin-name", &name, chromedp.ByID))
		if name != "root" {
			t.Fatalf("console signed in as %q", name)
		}
		if tpl, err := e.store.GetFaceTemplate(e.ctx, root.ID); err != nil || tpl.Samples == 0 {
			t.Fatalf("the admin's face was not enrolled during the console sign-in: %v", err)
		}
	})

	t.Run("unlocks a throttled user", func(t *testing.T) {
		if _, err := e.store.UpdateThrottle(e.ctx, "user:"+carol.ID, throttle.FactorPassword, func(th *models.FactorThrottle) error {
			now := e.clock.Now()
			th.UserID, th.Failures, th.LastFailureAt = carol.ID, 20, &now
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		logintest.Run(t, ctx, "search and unlock",
			chromedp.Navigate(e.issuer+"/admin/users?q=car"),
			chromedp.Click(`//table[@id="users"]//a[text()="carol"]`, chromedp.BySearch),
			chromedp.WaitVisible("#throttles", chromedp.ByID),
			chromedp.Click("#unlock button", chromedp.ByQuery),
			chromedp.WaitVisible("#throttles-none", chromedp.ByID),
		)
		if ts, _ := e.store.ListUserThrottles(e.ctx, carol.ID); len(ts) != 0 {
			t.Fatalf("carol still has throttle counters: %+v", ts)
		}
	})

	t.Run("revokes a face enrolment", func(t *testing.T) {
		// bob's template record (the console never reads its content).
		if err := e.store.SaveFaceTemplate(e.ctx, &models.FaceTemplate{UserID: bob.ID, KeyID: "k1", Sealed: []byte("sealed"), Samples: 4, CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		logintest.Run(t, ctx, "revoke bob's face",
			chromedp.Navigate(e.issuer+"/admin/faces"),
			chromedp.Click(`//table[@id="faces"]//tr[td/a[text()="bob"]]//button[text()="Revoke"]`, chromedp.BySearch),
			chromedp.WaitVisible("#admin-notice", chromedp.ByID),
		)
		if _, err := e.store.GetFaceTemplate(e.ctx, bob.ID); err == nil {
			t.Fatal("bob's face template is still there")
		}
	})

	t.Run("grants a bypass the user then uses", func(t *testing.T) {
		// carol must pass face and has a template, but no working camera.
		if _, err := e.acc.SetRequireFace(e.ctx, carol.ID, true); err != nil {
			t.Fatal(err)
		}
		if err := e.store.SaveFaceTemplate(e.ctx, &models.FaceTemplate{UserID: carol.ID, KeyID: "k1", Sealed: []byte("sealed"), Samples: 4, CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		logintest.Run(t, ctx, "grant the bypass",
			chromedp.Navigate(e.issuer+"/admin/users/"+carol.ID),
			chromedp.SetValue(`#bypass input[name="reason"]`, "broken camera", chromedp.ByQuery),
			chromedp.Click("#bypass button", chromedp.ByQuery),
			chromedp.WaitVisible("#bypass-state", chromedp.ByID),
		)
		ctxCarol := logintest.NewChromium(t, liveY4M, logintest.DenyCamera)
		defer closeBrowser(ctxCarol)
		logintest.Run(t, ctxCarol, "carol signs in to the console's login and uses the bypass",
			logintest.StartFaceSignIn(e.issuer+"/admin", "carol", userPW),
			chromedp.WaitVisible("#face-fallback-link", chromedp.ByID),
			chromedp.Click("#face-fallback-link", chromedp.ByID),
			chromedp.WaitVisible("#bypass-form", chromedp.ByID),
			chromedp.Submit("#bypass-form button", chromedp.ByQuery),
			chromedp.WaitVisible("#fallback-done", chromedp.ByID),
		)
		if _, err := e.store.GetActiveFaceBypass(e.ctx, carol.ID, e.clock.Now()); err == nil {
			t.Fatal("the bypass is still usable after carol used it")
		}
		evs, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: carol.ID, Type: recovery.AuditBypassGrant})
		if len(evs) != 1 || evs[0].Details["granted_by"] != "admin:"+root.ID {
			t.Fatalf("bypass grant audit: %+v", evs)
		}
	})

	t.Run("creates a client and signs in to it", func(t *testing.T) {
		app := logintest.NewRPServer()
		rpBase := app.Base
		logintest.Run(t, ctx, "register the client",
			chromedp.Navigate(e.issuer+"/admin/clients"),
			chromedp.SendKeys(`#client-create input[name="id"]`, "shop", chromedp.ByQuery),
			chromedp.SetValue(`#client-create select[name="kind"]`, "public", chromedp.ByQuery),
			chromedp.SendKeys(`#client-create textarea[name="redirect_uris"]`, rpBase+"/callback", chromedp.ByQuery),
			chromedp.Click(`#client-create input[name="skip_consent"]`, chromedp.ByQuery),
			chromedp.Click("#client-create button", chromedp.ByQuery),
			chromedp.WaitVisible("#client-title", chromedp.ByID),
		)
		c, err := e.store.GetClient(e.ctx, "shop")
		if err != nil || !c.Public() || !slices.Equal(c.RedirectURIs, []string{rpBase + "/callback"}) {
			t.Fatalf("registered client %+v, %v", c, err)
		}
		app.Start(t, e.issuer, "shop")
		logintest.Run(t, ctx, "sign in to the new client",
			chromedp.Navigate(rpBase+"/"),
			chromedp.Click("#sign-in", chromedp.ByID),
			chromedp.WaitVisible("#claims", chromedp.ByID),
		)
		if cl := app.LastClaims(); cl.Sub != root.ID || !slices.Contains(cl.AMR, policy.AMRPassword) {
			t.Fatalf("claims at the new client: %+v (errors %v)", cl, app.Errors())
		}
	})

	t.Run("filters the audit log", func(t *testing.T) {
		var rows []string
		logintest.Run(t, ctx, "filter",
			chromedp.Navigate(e.issuer+"/admin/audit"),
			chromedp.SendKeys(`#audit-filter input[name="user"]`, "carol", chromedp.ByQuery),
			chromedp.SendKeys(`#audit-filter input[name="type"]`, "admin.", chromedp.ByQuery),
			chromedp.Click(`#audit-filter button[type="submit"]:not([name])`, chromedp.ByQuery),
		)
		waitFor(t, ctx, `location.search.includes("user=carol") && document.readyState === "complete" && !!document.querySelector(".audit-row")`)
		logintest.Run(t, ctx, "read the rows",
			chromedp.Evaluate(`[...document.querySelectorAll(".audit-row")].map(r => r.textContent)`, &rows),
		)
		var sawUnlock bool
		for _, r := range rows {
			if !strings.Contains(r, carol.ID) || !strings.Contains(r, "admin.") {
				t.Errorf("row outside the filter: %q", r)
			}
			sawUnlock = sawUnlock || strings.Contains(r, accounts.AuditUserUnlock)
		}
		if len(rows) < 2 || !sawUnlock {
			t.Fatalf("filtered rows %q lack the unlock", rows)
		}
	})
}

// closeBrowser closes Chromium gracefully and gives its helper processes
// a moment to finish writing the profile, so the test's temporary
// directory can be removed.
func closeBrowser(ctx context.Context) {
	_ = chromedp.Cancel(ctx)
	time.Sleep(time.Second)
}

// waitFor evaluates js until it is true, across navigations.
func waitFor(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var ok bool
		if err := chromedp.Run(ctx, chromedp.Evaluate(js, &ok)); err == nil && ok {
			return
		}
	}
	t.Fatalf("the browser never got to: %s", js)
}
