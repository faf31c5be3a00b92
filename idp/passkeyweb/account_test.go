package passkeyweb_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/internal/softauthn"
	"github.com/faceidp/faceidp/models"
)

// Registering needs a fresh re-authentication (the password or an
// existing passkey) and, for a user with a face template, a session that
// passed face: a stolen password alone cannot add a passkey.
func TestRegistrationNeedsReauthAndAStrongSession(t *testing.T) {
	e := newEnv(t, envConfig{})
	r := e.addClient(&models.Client{ID: "app", Name: "App"})
	faceOff := e.addClient(&models.Client{ID: "legacy", Name: "Legacy", Policy: models.ClientPolicy{FaceMode: "off"}})
	alice, key, _ := setupAlice(t, e, r)

	// Signed in at a client with face off: password only.
	b := e.browser()
	loc, a := b.signInPasswordFace(faceOff, alice)
	faceOff.redeem(loc, a)
	if p, _ := b.register(softauthn.New(origin), "second"); p.status != http.StatusForbidden || p.str("error") != "reauth_required" {
		t.Fatalf("register without re-authentication: %d %s", p.status, p.body)
	}
	b.reauth()
	if p, _ := b.register(softauthn.New(origin), "second"); p.status != http.StatusForbidden || p.str("error") != "step_up_required" {
		t.Fatalf("register from a password-only session of a face user: %d %s", p.status, p.body)
	}
	if acct := b.get("/login/account/"); !strings.Contains(acct.body, `id="step-up"`) || strings.Contains(acct.body, `id="passkey-register"`) {
		t.Fatalf("account page of a weak session:\n%s", acct.body)
	}
	if p := b.post("/login/account/recovery-codes", url.Values{}); p.status != http.StatusForbidden {
		t.Fatalf("recovery codes from a weak session: %d", p.status)
	}

	// A session that passed face, re-authenticated with the passkey.
	b = e.browser()
	loc, a = b.signInPasswordFace(r, alice)
	r.redeem(loc, a)
	acct := b.get("/login/account/")
	if !strings.Contains(acct.body, `id="passkey-reauth"`) {
		t.Fatalf("no passkey re-authentication offered:\n%s", acct.body)
	}
	begun := b.postJSON("/login/passkey/reauth/begin", map[string]any{}, b.csrf)
	resp, err := key.Assert(options(t, begun))
	if err != nil {
		t.Fatal(err)
	}
	// Answered from another browser (another session): refused.
	other := e.browser()
	loc, a = other.signInPasswordFace(r, alice)
	r.redeem(loc, a)
	other.get("/login/account/")
	if p := other.postJSON("/login/passkey/reauth/finish", map[string]any{"ceremony_id": begun.str("ceremony_id"), "credential": json.RawMessage(resp)}, other.csrf); p.status != http.StatusForbidden || p.str("error") != "wrong_session" {
		t.Fatalf("re-authentication answered in another session: %d %s", p.status, p.body)
	}
	fin := b.postJSON("/login/passkey/reauth/finish", map[string]any{"ceremony_id": begun.str("ceremony_id"), "credential": json.RawMessage(resp)}, b.csrf)
	if fin.status != http.StatusOK || fin.str("next") != "/login/account/?done=reauth" {
		t.Fatalf("passkey re-authentication: %d %s", fin.status, fin.body)
	}
	if evs := e.audit(alice.ID, "reauth.hwk"); len(evs) != 1 || evs[0].Outcome != "success" {
		t.Fatalf("reauth audit: %+v", evs)
	}
	second := softauthn.New(origin)
	second.BackupEligible, second.BackupState = true, true
	if p, _ := b.register(second, "Phone"); p.status != http.StatusOK {
		t.Fatalf("register after passkey re-authentication: %d %s", p.status, p.body)
	}
	// The same authenticator cannot register twice (excluded credentials).
	if _, _, err := second.Register(options(t, b.postJSON("/login/passkey/register/begin", map[string]any{}, b.csrf))); err == nil {
		t.Fatal("an authenticator holding a passkey of the account made a second one")
	}
	acct = b.get("/login/account/")
	for _, want := range []string{"Phone", "synced", "backed up", "YubiKey", "device-bound"} {
		if !strings.Contains(acct.body, want) {
			t.Fatalf("account page lacks %q:\n%s", want, acct.body)
		}
	}
	// A synced passkey signs in as swk.
	fin = e.browser().signInWithPasskey(second, r.Start())
	if fin.status != http.StatusOK {
		t.Fatalf("synced passkey: %d %s", fin.status, fin.body)
	}
	if evs := e.audit(alice.ID, "login.swk"); len(evs) != 1 {
		t.Fatalf("login.swk audit: %+v", evs)
	}
}

// Every POST under /login/passkey/ needs the CSRF token: without it the
// answer is 403 and nothing is done.
func TestPasskeyPostsNeedCSRF(t *testing.T) {
	e := newEnv(t, envConfig{faceMode: policy.FaceOff})
	r := e.addClient(&models.Client{ID: "app", Name: "App"})
	alice, _, _ := setupAlice(t, e, r)
	ps, _ := e.svc.List(e.ctx, alice.ID)

	b := e.browser()
	loc, a := b.signInPasswordFace(r, alice)
	r.redeem(loc, a)
	b.reauth()
	_, id := b.open(r.Start(oauth2.SetAuthURLParam("prompt", "login")))
	q := "?authRequestID=" + url.QueryEscape(id)
	for _, path := range []string{"/login/passkey/begin" + q, "/login/passkey/finish" + q, "/login/passkey/reauth/begin", "/login/passkey/reauth/finish",
		"/login/passkey/register/begin", "/login/passkey/register/finish",
		"/login/passkey/manage/" + ps[0].ID + "/rename", "/login/passkey/manage/" + ps[0].ID + "/delete"} {
		if p := b.postJSON(path, map[string]any{"name": "x"}, ""); p.status != http.StatusForbidden {
			t.Errorf("POST %s without a CSRF token: %d %s", path, p.status, p.body)
		}
		if p := b.postJSON(path, map[string]any{"name": "x"}, "forged-token"); p.status != http.StatusForbidden {
			t.Errorf("POST %s with a forged CSRF token: %d %s", path, p.status, p.body)
		}
	}
	if after, _ := e.svc.List(e.ctx, alice.ID); len(after) != 1 || after[0].Name != ps[0].Name {
		t.Fatalf("a POST without CSRF changed the passkeys: %+v", after)
	}
	if evs := e.audit("", "csrf"); len(evs) != 16 {
		t.Fatalf("%d csrf failures audited, want 16", len(evs))
	}
}
