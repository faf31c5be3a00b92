package passkeyweb_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/faceidp/faceidp/factors/passkey"
	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/idp/passkeyweb"
	"github.com/faceidp/faceidp/internal/facetest"
	"github.com/faceidp/faceidp/internal/logintest"
	"github.com/faceidp/faceidp/internal/logintest/testidp"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// The browser end-to-end test of passkeys: headless Chromium with a
// virtual WebAuthn authenticator (DevTools WebAuthn domain: ctap2,
// internal transport, resident keys, user verification) and a fake camera
// fed a fixture clip, against the provider with the real face engine on a
// http://localhost issuer (WebAuthn needs a domain as relying party ID;
// localhost is a secure context for the camera too), and a relying party
// using go-oidc on its own port:
//
//  1. alice signs in with her password and passes face; on the account
//     page she confirms her password and registers a passkey;
//  2. she signs out, signs in usernameless with the passkey, passes face:
//     amr hwk face mfa;
//  3. the authenticator's counter is set back (as a clone's would be): the
//     passkey is refused and the clone audited;
//  4. with the counter restored she signs in again, removes the passkey
//     on the account page, signs out: the removed passkey is refused.
//
// The challenge is pinned to a single blink (face.Deps.Picker, a test-only
// seam) because the fake camera loops one clip.

// fill sets form fields by id and submits the form with id form ("" for
// none), in the page: robust against the DOM node churn of autofill.
func fill(fields map[string]string, form string) chromedp.Action {
	js := ""
	for id, v := range fields {
		js += fmt.Sprintf("document.getElementById(%q).value = %q;", id, v)
	}
	if form != "" {
		js += fmt.Sprintf("document.getElementById(%q).requestSubmit();", form)
	}
	return chromedp.Evaluate(js+"true", nil)
}

func TestBrowserPasskeySignIn(t *testing.T) {
	logintest.ChromiumPath(t)
	y4m := logintest.MakeY4M(t, "p01_blink")
	ctx := context.Background()
	d := testidp.NewDeps(t)
	store := d.Store

	app := logintest.NewRPServer()
	rpBase := app.Base
	idpSrv, _ := testidp.NewServer()
	_, port, _ := strings.Cut(idpSrv.Listener.Addr().String(), ":")
	issuer := "http://localhost:" + port

	pk, err := passkey.New(passkey.Config{RPID: "localhost", Origins: []string{issuer}}, store, d.Clock.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	surface, err := passkeyweb.New(pk, store, passkeyweb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := d.Options(issuer)
	opts.FaceMode, opts.SecondFactors, opts.FirstFactors = policy.FaceOptional, []idp.SecondFactor{testidp.BlinkFace(t, d)}, []idp.FirstFactor{surface}
	testidp.Serve(t, idpSrv, opts)

	hash, _ := d.Hasher.Hash(userPW)
	alice := &models.User{ID: "user-alice", Username: "alice", Email: "alice@example.test", Name: "Alice", PasswordHash: hash}
	if err := store.CreateUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	// alice's face template from the enrolment photos of the clip's person.
	facetest.EnrolFromPhotos(t, store, d.Keyring, alice.ID, "p01")
	if err := store.CreateClient(ctx, &models.Client{ID: "demo", Name: "Demo app", RedirectURIs: []string{rpBase + "/callback"},
		PostLogoutRedirectURIs: []string{rpBase + "/signed-out"}, SkipConsent: true, RequireFace: true}); err != nil {
		t.Fatal(err)
	}
	app.Start(t, issuer, "demo")

	b := logintest.NewChromium(t, y4m, logintest.AllowCamera)
	var authID webauthn.AuthenticatorID
	logintest.Run(t, b, "add a virtual authenticator",
		chromedp.Navigate(rpBase+"/"),
		webauthn.Enable(),
		chromedp.ActionFunc(func(ctx context.Context) error {
			var err error
			authID, err = webauthn.AddVirtualAuthenticator(&webauthn.VirtualAuthenticatorOptions{
				Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
				Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true,
				HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
			}).Do(ctx)
			return err
		}),
	)

	passFace := func(what string) logintest.Claims {
		t.Helper()
		logintest.Run(t, b, what+": face page", chromedp.WaitEnabled("#face-start", chromedp.ByID), chromedp.Click("#face-start", chromedp.ByID))
		out := logintest.WaitFaceOutcome(t, b, rpBase+"/callback")
		if !strings.HasPrefix(out.Href, rpBase+"/callback") {
			t.Fatalf("%s: the face step did not finish: %q at %s", what, out.Message, out.Href)
		}
		logintest.Run(t, b, what+": claims", chromedp.WaitVisible("#claims", chromedp.ByID))
		return app.LastClaims()
	}
	signOut := func() {
		t.Helper()
		logintest.Run(t, b, "sign out", chromedp.Navigate(rpBase+"/logout"), chromedp.WaitVisible("#signed-out", chromedp.ByID))
	}
	presence := func(on bool) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			return webauthn.SetAutomaticPresenceSimulation(authID, on).Do(ctx)
		})
	}
	// buttonSignIn opens the sign-in page and presses "Sign in with a
	// passkey" with the username empty (usernameless). The autofill
	// (conditional UI) ceremony the page starts on load would be answered
	// at once by the virtual authenticator, so user presence is withheld
	// until the button is pressed (the page aborts the autofill first).
	buttonSignIn := func(what string) {
		t.Helper()
		var autocomplete string
		logintest.Run(t, b, what,
			presence(false),
			chromedp.Navigate(rpBase+"/login"),
			chromedp.WaitVisible("#passkey-signin", chromedp.ByID),
			chromedp.AttributeValue("#username", "autocomplete", &autocomplete, nil, chromedp.ByID),
			presence(true),
			chromedp.Evaluate(`document.getElementById("passkey-signin").click(); true`, nil),
		)
		if autocomplete != "username webauthn" {
			t.Fatalf("username field autocomplete=%q, want conditional UI (username webauthn)", autocomplete)
		}
	}
	// autofillSignIn opens the sign-in page and lets the autofill
	// (conditional mediation) ceremony run: the virtual authenticator
	// answers it as a user picking the passkey from the username field's
	// suggestions would.
	autofillSignIn := func(what string) {
		t.Helper()
		logintest.Run(t, b, what, presence(true), chromedp.Navigate(rpBase+"/login"))
	}
	// passkeyError waits for the sign-in page's passkey error.
	passkeyError := func(what string) string {
		t.Helper()
		var msg string
		logintest.Run(t, b, what, chromedp.WaitVisible("#passkey-error", chromedp.ByID), chromedp.Text("#passkey-error", &msg, chromedp.ByID))
		return msg
	}
	credentials := func() []*webauthn.Credential {
		t.Helper()
		var cs []*webauthn.Credential
		logintest.Run(t, b, "read the authenticator", chromedp.ActionFunc(func(ctx context.Context) error {
			var err error
			cs, err = webauthn.GetCredentials(authID).Do(ctx)
			return err
		}))
		if len(cs) != 1 {
			t.Fatalf("the virtual authenticator holds %d credentials, want 1", len(cs))
		}
		return cs
	}
	setCounter := func(c *webauthn.Credential, n int64) {
		t.Helper()
		again := *c
		again.SignCount = n
		logintest.Run(t, b, "re-add the credential with another counter", chromedp.ActionFunc(func(ctx context.Context) error {
			if err := webauthn.RemoveCredential(authID, c.CredentialID).Do(ctx); err != nil {
				return err
			}
			return webauthn.AddCredential(authID, &again).Do(ctx)
		}))
	}

	// 1. Password and face, then register a passkey on the account page.
	logintest.Run(t, b, "password sign-in",
		chromedp.Click("#sign-in", chromedp.ByID),
		chromedp.WaitVisible("#password", chromedp.ByID),
		fill(map[string]string{"username": "alice", "password": userPW}, "login-form"),
	)
	if c := passFace("password sign-in"); !slices.Equal(c.AMR, []string{"pwd", "face", "mfa"}) {
		t.Fatalf("password sign-in amr %v", c.AMR)
	}
	var list string
	logintest.Run(t, b, "register a passkey",
		chromedp.Navigate(issuer+"/login/account/"),
		chromedp.WaitVisible("#reauth-password", chromedp.ByID),
		fill(map[string]string{"reauth-password": userPW}, "reauth-form"),
		chromedp.WaitVisible("#passkey-name", chromedp.ByID),
		fill(map[string]string{"passkey-name": "Laptop"}, ""),
		chromedp.Click("#passkey-add", chromedp.ByID),
		chromedp.WaitVisible("#passkey-list", chromedp.ByID),
		chromedp.Text("#passkey-list", &list, chromedp.ByID),
	)
	if !strings.Contains(list, "Laptop") || !strings.Contains(list, "device-bound") {
		t.Fatalf("passkey list: %q", list)
	}
	cred := credentials()[0]
	if cred.RpID != "localhost" || !cred.IsResidentCredential {
		t.Fatalf("the authenticator's credential: rp %q resident %v", cred.RpID, cred.IsResidentCredential)
	}

	// 2. Sign out, sign in usernameless with the passkey, then face.
	signOut()
	logins := func() (ok, failed int) {
		evs, _ := store.ListAudit(ctx, storage.AuditFilter{Type: passkey.AuditLogin})
		for _, ev := range evs {
			if ev.Outcome == "success" {
				ok++
			} else {
				failed++
			}
		}
		return ok, failed
	}
	buttonSignIn("passkey sign-in")
	if c := passFace("passkey sign-in"); !slices.Equal(c.AMR, []string{"hwk", "face", "mfa"}) || c.Sub != alice.ID || c.ACR != policy.ACRMultiFactor {
		t.Fatalf("passkey sign-in claims %+v, want amr [hwk face mfa], acr 2fa", c)
	}
	if ok, failed := logins(); ok != 1 || failed != 0 {
		t.Fatalf("the button's sign-in made %d successful and %d failed passkey checks, want exactly one (the autofill ceremony must have been aborted)", ok, failed)
	}

	// 3. The counter goes backwards: refused, audited as a clone.
	signOut()
	cred = credentials()[0]
	if cred.SignCount < 1 {
		t.Fatalf("the authenticator's counter is %d after a sign-in", cred.SignCount)
	}
	setCounter(cred, 0)
	autofillSignIn("sign-in with a regressed counter")
	if msg := passkeyError("counter regression refused"); !strings.Contains(msg, "counter went backwards") {
		t.Fatalf("counter regression: the page says %q", msg)
	}
	if evs, _ := store.ListAudit(ctx, storage.AuditFilter{UserID: alice.ID, Type: passkey.AuditCloneSuspected}); len(evs) != 1 {
		t.Fatalf("clone audit events: %+v", evs)
	}

	// 4. Counter restored: sign in, remove the passkey, sign out: refused.
	setCounter(credentials()[0], 1000)
	autofillSignIn("sign-in with the counter restored (autofill)")
	passFace("sign-in with the counter restored")
	logintest.Run(t, b, "remove the passkey",
		chromedp.Navigate(issuer+"/login/account/"),
		chromedp.WaitVisible("#reauth-password", chromedp.ByID),
		fill(map[string]string{"reauth-password": userPW}, "reauth-form"),
		chromedp.WaitVisible("#passkey-list button.danger", chromedp.ByQuery),
		chromedp.Click("#passkey-list button.danger", chromedp.ByQuery),
		chromedp.WaitVisible("#no-passkeys", chromedp.ByID),
	)
	signOut()
	buttonSignIn("sign-in with a removed passkey")
	if msg := passkeyError("removed passkey refused"); !strings.Contains(msg, "not accepted") {
		t.Fatalf("removed passkey: the page says %q", msg)
	}
	if evs, _ := store.ListAudit(ctx, storage.AuditFilter{UserID: alice.ID, Type: passkey.AuditRemove}); len(evs) != 1 {
		t.Fatalf("remove audit events: %+v", evs)
	}
	if ok, failed := logins(); ok != 2 || failed != 1 {
		t.Fatalf("passkey sign-ins: %d successful, %d failed; want 2 and 1 (the removed passkey; the clone is passkey.clone_suspected)", ok, failed)
	}
	var loc string
	logintest.Run(t, b, "still on the sign-in page", chromedp.Location(&loc))
	if !strings.Contains(loc, "/login/") {
		t.Fatalf("after a refused passkey the browser is at %s", loc)
	}
}
