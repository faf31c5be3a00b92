package passkeyweb_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/faceidp/faceidp/factors/passkey"
	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/internal/softauthn"
	"github.com/faceidp/faceidp/models"
)

// setupAlice signs alice in with password and face, registers a passkey
// on the account page and returns her authenticator and the passkey.
func setupAlice(t *testing.T, e *env, r *rp) (*models.User, *softauthn.Authenticator, *softauthn.Credential) {
	t.Helper()
	alice := e.addUser("alice")
	e.face.Enrol(alice.ID)
	b := e.browser()
	loc, a := b.signInPasswordFace(r, alice)
	r.redeem(loc, a)
	b.reauth()
	key := softauthn.New(origin)
	fin, cred := b.register(key, "YubiKey")
	if fin.status != http.StatusOK || fin.str("next") != "/login/account/?done=passkey_added" {
		t.Fatalf("register: %d %s", fin.status, fin.body)
	}
	acct := b.get("/login/account/?done=passkey_added")
	if !strings.Contains(acct.body, "YubiKey") || !strings.Contains(acct.body, "device-bound") || !strings.Contains(acct.body, "Your passkey was added") {
		t.Fatalf("account page after registration:\n%s", acct.body)
	}
	return alice, key, cred
}

// A passkey replaces the password as the first factor; the face step
// follows as after a password, and amr says hwk, face, mfa.
func TestPasskeySignInThenFace(t *testing.T) {
	e := newEnv(t, envConfig{})
	r := e.addClient(&models.Client{ID: "app", Name: "App"})
	alice, key, _ := setupAlice(t, e, r)

	b := e.browser()
	a := r.Start()
	login, _ := b.open(a)
	for _, want := range []string{`autocomplete="username webauthn"`, `id="passkey-signin"`, "/login/passkey/begin?authRequestID=", `name="password"`, `href="/login/account/"`} {
		if !strings.Contains(login.body, want) {
			t.Fatalf("login page lacks %s:\n%s", want, login.body)
		}
	}
	fin := b.signInWithPasskey(key, a)
	if fin.status != http.StatusOK || !strings.HasPrefix(fin.str("next"), "/login/face/") {
		t.Fatalf("passkey finish: %d %s, want the face step next", fin.status, fin.body)
	}
	face := b.get(fin.str("next"))
	c := r.redeem(b.passFace(face), a)
	if !slices.Equal(c.AMR, []string{"hwk", "face", "mfa"}) || c.ACR != policy.ACRMultiFactor || c.Sub != alice.ID {
		t.Fatalf("claims %+v, want amr [hwk face mfa], acr 2fa, sub %s", c, alice.ID)
	}
	for _, typ := range []string{"passkey.register", "passkey.login", "login.hwk"} {
		if evs := e.audit(alice.ID, typ); len(evs) == 0 || evs[0].Outcome != "success" {
			t.Errorf("audit %s: %+v", typ, evs)
		}
	}
	// The passkey's last use is shown on the account page.
	b.reauth()
	if acct := b.get("/login/account/"); strings.Contains(acct.body, "never") {
		t.Fatalf("last use not shown:\n%s", acct.body)
	}
}

// A client that lets a user-verified passkey stand for face skips the face
// step after one (amr hwk mfa, acr 2fa), but not after a passkey without
// user verification; a passkey-only client shows no password field and
// refuses a posted password.
func TestPerClientPasskeyPolicy(t *testing.T) {
	e := newEnv(t, envConfig{})
	skips := true
	r := e.addClient(&models.Client{ID: "app", Name: "App"})
	_, key, _ := setupAlice(t, e, r)
	fast := e.addClient(&models.Client{ID: "fast", Name: "Fast", Policy: models.ClientPolicy{PasskeySkipsFace: &skips, FirstFactors: []string{"passkey"}}})

	b := e.browser()
	a := fast.Start()
	login, id := b.open(a)
	if strings.Contains(login.body, `name="password"`) || !strings.Contains(login.body, `id="passkey-signin"`) {
		t.Fatalf("passkey-only login page:\n%s", login.body)
	}
	if p := b.post("/login/password", url.Values{"authRequestID": {id}, "username": {"alice"}, "password": {userPW}}); p.status != http.StatusForbidden {
		t.Fatalf("password at a passkey-only client: %d", p.status)
	}
	fin := b.signInWithPasskey(key, a)
	if c := fast.redeem(b.follow(fin.str("next")), a); !slices.Equal(c.AMR, []string{"hwk", "mfa"}) || c.ACR != policy.ACRMultiFactor {
		t.Fatalf("user-verified passkey at a client where it skips face: %+v", c)
	}

	// Without user verification the passkey is one factor: face follows.
	key.UserVerified = false
	b = e.browser()
	a = fast.Start()
	fin = b.signInWithPasskey(key, a)
	if !strings.HasPrefix(fin.str("next"), "/login/face/") {
		t.Fatalf("passkey without UV at a face-optional client with an enrolled user: next %q, want face", fin.str("next"))
	}
	if c := fast.redeem(b.passFace(b.get(fin.str("next"))), a); !slices.Equal(c.AMR, []string{"hwk", "face", "mfa"}) {
		t.Fatalf("amr %v", c.AMR)
	}
}

// Username-first: only the named account's passkeys may answer; an unknown
// name gets a ceremony that looks alike and that nothing completes.
// Conditional UI: the options ask for conditional mediation.
func TestUsernameFirstAndConditionalUI(t *testing.T) {
	e := newEnv(t, envConfig{faceMode: policy.FaceOff})
	r := e.addClient(&models.Client{ID: "app", Name: "App"})
	e.addUser("bob")
	_, key, cred := setupAlice(t, e, r)

	b := e.browser()
	a := r.Start()
	_, id := b.open(a)
	type opts struct {
		Mediation string `json:"mediation"`
		PublicKey struct {
			RPID             string `json:"rpId"`
			AllowCredentials []struct {
				ID string `json:"id"`
			} `json:"allowCredentials"`
		} `json:"publicKey"`
	}
	read := func(p page) opts {
		var o opts
		if err := json.Unmarshal(options(t, p), &o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	cond := read(b.passkeyBegin(id, map[string]any{"conditional": true}))
	if cond.Mediation != "conditional" || len(cond.PublicKey.AllowCredentials) != 0 || cond.PublicKey.RPID != rpID {
		t.Fatalf("conditional options %+v", cond)
	}
	named := b.passkeyBegin(id, map[string]any{"username": "alice"})
	if o := read(named); len(o.PublicKey.AllowCredentials) != 1 || o.Mediation == "conditional" {
		t.Fatalf("username-first options %+v", o)
	}
	// bob has no passkeys and "nobody" is no account: both get an empty
	// allow list, and alice's passkey cannot answer their ceremonies.
	for _, name := range []string{"bob", "nobody"} {
		begun := b.passkeyBegin(id, map[string]any{"username": name})
		if o := read(begun); len(o.PublicKey.AllowCredentials) != 0 {
			t.Fatalf("%s: options %+v", name, o)
		}
		resp, err := key.AssertWith(cred, rpID, decodeChallenge(t, begun))
		if err != nil {
			t.Fatal(err)
		}
		if fin := b.passkeyFinish(id, begun.str("ceremony_id"), resp); fin.status != http.StatusUnauthorized || fin.str("error") != "passkey_refused" {
			t.Fatalf("alice's passkey for %s's ceremony: %d %s", name, fin.status, fin.body)
		}
	}
	// The named ceremony signs alice in (face is off: straight back).
	resp, err := key.Assert(options(t, named))
	if err != nil {
		t.Fatal(err)
	}
	fin := b.passkeyFinish(id, named.str("ceremony_id"), resp)
	if c := r.redeem(b.follow(fin.str("next")), a); !slices.Equal(c.AMR, []string{"hwk", "mfa"}) {
		t.Fatalf("username-first claims %+v", c)
	}
	// The ceremony was single-use.
	if again := b.passkeyFinish(id, named.str("ceremony_id"), resp); again.status == http.StatusOK {
		t.Fatalf("replayed ceremony: %d %s", again.status, again.body)
	}
}

func decodeChallenge(t *testing.T, begun page) []byte {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	_ = json.Unmarshal(options(t, begun), &o)
	c, err := base64.RawURLEncoding.DecodeString(o.PublicKey.Challenge)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// An authenticator whose counter goes backwards (a clone) is refused,
// audited as passkey.clone_suspected and counted in the passkey throttle.
func TestCounterRegressionRefused(t *testing.T) {
	e := newEnv(t, envConfig{faceMode: policy.FaceOff})
	r := e.addClient(&models.Client{ID: "app", Name: "App"})
	alice, key, cred := setupAlice(t, e, r)
	clone := *cred
	b := e.browser()
	if fin := b.signInWithPasskey(key, r.Start()); fin.status != http.StatusOK {
		t.Fatalf("first sign-in: %d %s", fin.status, fin.body)
	}
	// The clone still has the counter from before that sign-in.
	cloned := softauthn.New(origin)
	cloneCred := clone
	cloned.Adopt(&cloneCred)
	fin := e.browser().signInWithPasskey(cloned, r.Start())
	if fin.status != http.StatusUnauthorized || fin.str("error") != "passkey_refused" || !strings.Contains(fin.str("error_description"), "copied") {
		t.Fatalf("cloned authenticator: %d %s", fin.status, fin.body)
	}
	if evs := e.audit(alice.ID, passkey.AuditCloneSuspected); len(evs) != 1 {
		t.Fatalf("clone audit events: %+v", evs)
	}
	if evs := e.audit(alice.ID, "login.hwk"); len(evs) == 0 || evs[0].Outcome != "failure" {
		t.Fatalf("flow audit: %+v", evs)
	}
	if c, err := e.store.GetThrottle(e.ctx, "user:"+alice.ID, "hwk"); err != nil || c.Failures != 1 {
		t.Fatalf("passkey throttle counter after the clone: %+v %v", c, err)
	}
	// The genuine authenticator still works (and resets the counter).
	if fin := e.browser().signInWithPasskey(key, r.Start()); fin.status != http.StatusOK {
		t.Fatalf("genuine authenticator after the clone: %d %s", fin.status, fin.body)
	}
	if _, err := e.store.GetThrottle(e.ctx, "user:"+alice.ID, "hwk"); err == nil {
		t.Fatal("a passkey success did not reset the passkey counter")
	}
}

// Failed assertions count in their own per-factor throttle: five are
// free, the sixth must wait (429, Retry-After) and is not even checked; a
// password success does not reset the passkey counter.
func TestFailedAssertionsAreThrottled(t *testing.T) {
	e := newEnv(t, envConfig{faceMode: policy.FaceOff})
	r := e.addClient(&models.Client{ID: "app", Name: "App"})
	alice, key, cred := setupAlice(t, e, r)
	evil := softauthn.New("http://evil.localhost:8443") // a phishing origin: verification fails
	evil.Adopt(cred)
	b := e.browser()
	for i := range 5 {
		fin := b.signInWithPasskey(evil, r.Start())
		if fin.status != http.StatusUnauthorized || fin.str("error") != "passkey_refused" {
			t.Fatalf("attempt %d: %d %s", i+1, fin.status, fin.body)
		}
		if i == 4 && (fin.header.Get("Retry-After") == "" || fin.json["retry_after"] == nil) {
			t.Fatalf("the 5th failure does not say when to try again: %s", fin.body)
		}
	}
	fin := b.signInWithPasskey(key, r.Start())
	if fin.status != http.StatusTooManyRequests || fin.str("error") != "passkey_throttled" || fin.header.Get("Retry-After") != "60" || fin.json["retry_after"] != float64(60) {
		t.Fatalf("6th attempt (genuine): %d %s Retry-After=%s", fin.status, fin.body, fin.header.Get("Retry-After"))
	}
	if evs := e.audit(alice.ID, "throttle.hwk"); len(evs) < 2 {
		t.Fatalf("throttle audit: %+v", evs)
	}
	// A password sign-in leaves the passkey counter alone.
	loc, a := e.browser().signInPasswordFace(r, alice)
	r.redeem(loc, a)
	if c, err := e.store.GetThrottle(e.ctx, "user:"+alice.ID, "hwk"); err != nil || c.Failures != 5 {
		t.Fatalf("passkey counter after a password success: %+v %v", c, err)
	}
	e.clock.Advance(time.Minute + time.Second)
	if fin := e.browser().signInWithPasskey(key, r.Start()); fin.status != http.StatusOK {
		t.Fatalf("after the wait: %d %s", fin.status, fin.body)
	}
}

// A removed passkey no longer signs in; renaming and removing need the
// re-authentication and are audited.
func TestRenameAndRemove(t *testing.T) {
	e := newEnv(t, envConfig{faceMode: policy.FaceOff})
	r := e.addClient(&models.Client{ID: "app", Name: "App"})
	alice, key, _ := setupAlice(t, e, r)
	ps, _ := e.svc.List(e.ctx, alice.ID)
	if len(ps) != 1 {
		t.Fatalf("passkeys %+v", ps)
	}
	id := ps[0].ID

	b := e.browser()
	loc, a := b.signInPasswordFace(r, alice)
	r.redeem(loc, a)
	acct := b.get("/login/account/")
	if strings.Contains(acct.body, "/rename") {
		t.Fatal("rename offered before re-authentication")
	}
	if p := b.post("/login/passkey/manage/"+id+"/delete", url.Values{}); p.status != http.StatusForbidden {
		t.Fatalf("remove without re-authentication: %d", p.status)
	}
	b.reauth()
	if p := b.post("/login/passkey/manage/"+id+"/rename", url.Values{"name": {"Work key"}}); p.status != http.StatusOK || !strings.Contains(p.body, "Work key") || p.url.Query().Get("done") != "passkey_renamed" {
		t.Fatalf("rename: %d at %s\n%s", p.status, p.url, p.body)
	}
	if p := b.post("/login/passkey/manage/"+id+"/rename", url.Values{"name": {strings.Repeat("x", 65)}}); p.status != http.StatusBadRequest {
		t.Fatalf("over-long name: %d", p.status)
	}
	// Another user's passkey id is not found, not removed.
	mallory := e.addUser("mallory")
	e.face.Enrol(mallory.ID)
	mb := e.browser()
	loc, a = mb.signInPasswordFace(r, mallory)
	r.redeem(loc, a)
	mb.reauth()
	if p := mb.post("/login/passkey/manage/"+id+"/delete", url.Values{}); p.status != http.StatusNotFound {
		t.Fatalf("mallory removes alice's passkey: %d", p.status)
	}
	if p := b.post("/login/passkey/manage/"+id+"/delete", url.Values{}); p.status != http.StatusOK || p.url.Query().Get("done") != "passkey_removed" || !strings.Contains(p.body, "You have no passkeys") {
		t.Fatalf("remove: %d at %s\n%s", p.status, p.url, p.body)
	}
	for _, typ := range []string{passkey.AuditRename, passkey.AuditRemove} {
		if evs := e.audit(alice.ID, typ); len(evs) != 1 {
			t.Fatalf("%s audit: %+v", typ, evs)
		}
	}
	fin := e.browser().signInWithPasskey(key, r.Start())
	if fin.status != http.StatusUnauthorized || fin.str("error") != "passkey_refused" {
		t.Fatalf("removed passkey: %d %s", fin.status, fin.body)
	}
}

// A disabled account is refused after a valid passkey, as after a right
// password.
func TestDisabledAccount(t *testing.T) {
	e := newEnv(t, envConfig{faceMode: policy.FaceOff})
	r := e.addClient(&models.Client{ID: "app", Name: "App"})
	alice, key, _ := setupAlice(t, e, r)
	alice.Disabled = true
	if err := e.store.UpdateUser(e.ctx, alice); err != nil {
		t.Fatal(err)
	}
	fin := e.browser().signInWithPasskey(key, r.Start())
	if fin.status != http.StatusForbidden || fin.str("error") != "account_disabled" {
		t.Fatalf("disabled account: %d %s", fin.status, fin.body)
	}
}

// acr_values 2fa at a client with face off: a user-verified passkey meets
// it alone; a password cannot, which ends in unmet_authentication_requirements.
func TestACR2FAWithPasskeys(t *testing.T) {
	e := newEnv(t, envConfig{})
	r := e.addClient(&models.Client{ID: "app", Name: "App"})
	noface := e.addClient(&models.Client{ID: "noface", Name: "No face", Policy: models.ClientPolicy{FaceMode: "off"}})
	alice, key, _ := setupAlice(t, e, r)
	acr2 := oauth2.SetAuthURLParam("acr_values", policy.ACRMultiFactor)

	b := e.browser()
	a := noface.Start(acr2)
	fin := b.signInWithPasskey(key, a)
	if c := noface.redeem(b.follow(fin.str("next")), a); c.ACR != policy.ACRMultiFactor || !slices.Equal(c.AMR, []string{"hwk", "mfa"}) {
		t.Fatalf("acr 2fa with a user-verified passkey at a face-off client: %+v", c)
	}
	b = e.browser()
	a = noface.Start(acr2)
	p, _ := b.open(a)
	loc := b.password(p, alice.Username).location()
	if loc == nil || loc.Query().Get("error") != "unmet_authentication_requirements" || loc.Query().Get("state") != a.State {
		t.Fatalf("acr 2fa with a password at a face-off client: %v", loc)
	}
}
