package passkey_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faceidp/faceidp/factors/passkey"
	"github.com/faceidp/faceidp/internal/softauthn"
	"github.com/faceidp/faceidp/internal/testclock"
	"github.com/faceidp/faceidp/internal/teststore"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
	"github.com/faceidp/faceidp/storage/sqlstore"
)

const (
	rpID   = "login.example.com"
	origin = "https://login.example.com"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	t     *testing.T
	store *sqlstore.Store
	clock *testclock.Clock
	svc   *passkey.Service
	alice *models.User
	bob   *models.User
	// bind is the browser and sign-in every ceremony is bound to.
	bind passkey.Binding
}

func setup(t *testing.T, cfg passkey.Config) *fixture {
	t.Helper()
	f := &fixture{t: t, store: teststore.SQLite(t), clock: testclock.New(t0), bind: passkey.Binding{AuthRequestID: "ar1", Browser: "browser-hash-1"}}
	f.svc = f.service(cfg)
	for _, u := range []*models.User{
		{ID: "u-alice", Username: "alice", Email: "alice@example.com", Name: "Alice A."},
		{ID: "u-bob", Username: "bob", Email: "bob@example.com"},
	} {
		if err := f.store.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	f.alice, _ = f.store.GetUser(t.Context(), "u-alice")
	f.bob, _ = f.store.GetUser(t.Context(), "u-bob")
	return f
}

func (f *fixture) service(cfg passkey.Config) *passkey.Service {
	f.t.Helper()
	if cfg.RPID == "" {
		cfg.RPID, cfg.Origins = rpID, []string{origin}
	}
	svc, err := passkey.New(cfg, f.store, f.clock.Now, rand.Reader)
	if err != nil {
		f.t.Fatal(err)
	}
	return svc
}

// register makes a passkey for u on a.
func (f *fixture) register(u *models.User, a *softauthn.Authenticator, name string) (*models.Passkey, *softauthn.Credential) {
	f.t.Helper()
	c, err := f.svc.BeginRegistration(f.t.Context(), u, f.bind)
	if err != nil {
		f.t.Fatal(err)
	}
	resp, cred, err := a.Register(c.Options)
	if err != nil {
		f.t.Fatal(err)
	}
	p, err := f.svc.FinishRegistration(f.t.Context(), u, c.ID, f.bind, name, resp)
	if err != nil {
		f.t.Fatalf("finish registration: %v", err)
	}
	return p, cred
}

// login runs a discoverable sign-in with a.
func (f *fixture) login(a *softauthn.Authenticator) (*passkey.Assertion, error) {
	f.t.Helper()
	c, err := f.svc.BeginDiscoverableLogin(f.t.Context(), f.bind, false)
	if err != nil {
		f.t.Fatal(err)
	}
	resp, err := a.Assert(c.Options)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.svc.FinishLogin(f.t.Context(), c.ID, f.bind, resp)
}

func (f *fixture) audit(typ string) []models.AuditEvent {
	f.t.Helper()
	evs, err := f.store.ListAudit(f.t.Context(), storage.AuditFilter{Type: typ})
	if err != nil {
		f.t.Fatal(err)
	}
	return evs
}

func wantFailure(t *testing.T, what string, err, want error) *passkey.Failure {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
	var fl *passkey.Failure
	if !errors.As(err, &fl) {
		t.Fatalf("%s: %v is not a *passkey.Failure", what, err)
	}
	return fl
}

func TestRegisterThenSignInUsernameless(t *testing.T) {
	f := setup(t, passkey.Config{})
	a := softauthn.New(origin)
	a.AAGUID = [16]byte{0xcb, 0x69, 0x48, 0x1e, 0x8f, 0xf7, 0x40, 0x39, 0x93, 0xec, 0x0a, 0x27, 0x29, 0xa1, 0x54, 0xa8}
	p, cred := f.register(f.alice, a, "  YubiKey 5  ")
	if p.Name != "YubiKey 5" || p.UserID != "u-alice" || !bytes.Equal(p.CredentialID, cred.ID) {
		t.Fatalf("registered %+v", p)
	}
	if p.AAGUID != "cb69481e-8ff7-4039-93ec-0a2729a154a8" || p.AttestationFormat != "none" || p.SignCount != 1 ||
		!p.UserVerified || p.BackupEligible || p.BackupState || len(p.Transports) != 1 || p.Transports[0] != "usb" {
		t.Fatalf("registered passkey fields: %+v", p)
	}

	c, err := f.svc.BeginDiscoverableLogin(t.Context(), f.bind, true)
	if err != nil {
		t.Fatal(err)
	}
	var opts struct {
		Mediation string `json:"mediation"`
		PublicKey struct {
			Challenge        string `json:"challenge"`
			RPID             string `json:"rpId"`
			AllowCredentials []any  `json:"allowCredentials"`
			UserVerification string `json:"userVerification"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(c.Options, &opts); err != nil {
		t.Fatal(err)
	}
	if opts.Mediation != "conditional" || opts.PublicKey.RPID != rpID || len(opts.PublicKey.AllowCredentials) != 0 ||
		opts.PublicKey.UserVerification != "preferred" || opts.PublicKey.Challenge == "" {
		t.Fatalf("discoverable options: %s", c.Options)
	}
	if !c.ExpiresAt.Equal(t0.Add(passkey.DefaultChallengeTTL)) {
		t.Fatalf("ceremony expires %s", c.ExpiresAt)
	}
	resp, err := a.Assert(c.Options)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	as, err := f.svc.FinishLogin(t.Context(), c.ID, f.bind, resp)
	if err != nil {
		t.Fatal(err)
	}
	if as.User.ID != "u-alice" || as.AMR != "hwk" || !as.UserVerified || as.AuthRequestID != "ar1" {
		t.Fatalf("assertion %+v", as)
	}
	stored, _ := f.store.GetPasskeyByCredentialID(t.Context(), cred.ID)
	if stored.SignCount != 2 || stored.LastUsedAt == nil || !stored.LastUsedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after sign-in: count %d, last used %v", stored.SignCount, stored.LastUsedAt)
	}
	if n := len(f.audit(passkey.AuditRegister)); n != 1 {
		t.Fatalf("%d registration events", n)
	}
	if evs := f.audit(passkey.AuditLogin); len(evs) != 1 || evs[0].Outcome != "success" || evs[0].UserID != "u-alice" {
		t.Fatalf("login events %+v", evs)
	}
}

func TestUsernameFirst(t *testing.T) {
	f := setup(t, passkey.Config{})
	a := softauthn.New(origin)
	_, cred := f.register(f.alice, a, "key")
	b := softauthn.New(origin)
	f.register(f.bob, b, "bob's key")

	c, err := f.svc.BeginUserLogin(t.Context(), f.bind, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	var opts struct {
		PublicKey struct {
			AllowCredentials []struct {
				ID string `json:"id"`
			} `json:"allowCredentials"`
		} `json:"publicKey"`
	}
	_ = json.Unmarshal(c.Options, &opts)
	if len(opts.PublicKey.AllowCredentials) != 1 || opts.PublicKey.AllowCredentials[0].ID != base64.RawURLEncoding.EncodeToString(cred.ID) {
		t.Fatalf("allow list %s", c.Options)
	}
	resp, _ := a.Assert(c.Options)
	as, err := f.svc.FinishLogin(t.Context(), c.ID, f.bind, resp)
	if err != nil || as.User.ID != "u-alice" {
		t.Fatalf("username-first: %+v, %v", as, err)
	}

	// Bob's passkey answering a ceremony begun for alice is refused, and
	// the failure counts against alice (the account under attack).
	c, _ = f.svc.BeginUserLogin(t.Context(), f.bind, f.alice)
	resp, err = b.AssertWith(b.Credentials()[0], rpID, challengeOf(t, c.Options))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.FinishLogin(t.Context(), c.ID, f.bind, resp)
	if fl := wantFailure(t, "another user's passkey", err, passkey.ErrUnknownCredential); fl.UserID != "u-alice" {
		t.Fatalf("failure counted against %q", fl.UserID)
	}

	// An unknown username gets a ceremony like any other, which no passkey
	// completes.
	c, err = f.svc.BeginUserLogin(t.Context(), f.bind, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ = a.Assert(c.Options)
	_, err = f.svc.FinishLogin(t.Context(), c.ID, f.bind, resp)
	if fl := wantFailure(t, "unknown username", err, passkey.ErrUnknownCredential); fl.UserID != "" {
		t.Fatalf("unknown username counted against %q", fl.UserID)
	}
}

func TestSyncedPasskeyFlags(t *testing.T) {
	f := setup(t, passkey.Config{})
	a := softauthn.New(origin)
	a.BackupEligible, a.BackupState, a.UserVerified = true, false, false
	p, cred := f.register(f.alice, a, "Phone")
	if !p.BackupEligible || p.BackupState || p.UserVerified {
		t.Fatalf("flags stored: BE=%v BS=%v UV=%v", p.BackupEligible, p.BackupState, p.UserVerified)
	}
	a.BackupState, a.UserVerified = true, true // synced since, and verified this time
	as, err := f.login(a)
	if err != nil {
		t.Fatal(err)
	}
	if as.AMR != "swk" || !as.UserVerified || !as.Passkey.BackupState {
		t.Fatalf("assertion %+v", as)
	}
	stored, _ := f.store.GetPasskeyByCredentialID(t.Context(), cred.ID)
	if !stored.BackupState || !stored.UserVerified {
		t.Fatalf("BS/UV not updated: %+v", stored)
	}
	if passkey.AMRFor(stored) != "swk" {
		t.Fatal("AMRFor(synced) is not swk")
	}
	// BE is fixed for a credential's life: a change is refused.
	a.BackupEligible, a.BackupState = false, false
	_, err = f.login(a)
	wantFailure(t, "BE changed", err, passkey.ErrVerification)
	// BS without BE is invalid.
	a.BackupState = true
	_, err = f.login(a)
	wantFailure(t, "BS without BE", err, passkey.ErrVerification)
}

func TestWrongOriginOrRPIDRefused(t *testing.T) {
	f := setup(t, passkey.Config{})
	for _, tc := range []struct {
		name   string
		origin string
		rpID   string
	}{
		{"other origin", "https://evil.example.net", ""},
		{"same host over http", "http://login.example.com", ""},
		{"other port", "https://login.example.com:8443", ""},
		{"other RP ID", origin, "evil.example.net"},
		{"parent domain RP ID", origin, "example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := softauthn.New(tc.origin)
			bad.RPID = tc.rpID
			c, _ := f.svc.BeginRegistration(t.Context(), f.alice, f.bind)
			resp, _, err := bad.Register(c.Options)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.FinishRegistration(t.Context(), f.alice, c.ID, f.bind, "x", resp); !errors.Is(err, passkey.ErrVerification) {
				t.Fatalf("registration: %v", err)
			}

			good := softauthn.New(origin)
			_, cred := f.register(f.alice, good, "good")
			good.Origin, good.RPID = tc.origin, tc.rpID
			c, _ = f.svc.BeginUserLogin(t.Context(), f.bind, f.alice)
			resp, _ = good.AssertWith(cred, rpID, challengeOf(t, c.Options))
			_, err = f.svc.FinishLogin(t.Context(), c.ID, f.bind, resp)
			if fl := wantFailure(t, "sign-in", err, passkey.ErrVerification); fl.UserID != "u-alice" || fl.AMR != "hwk" {
				t.Fatalf("failure %+v", fl)
			}
		})
	}
	if ps, _ := f.svc.List(t.Context(), "u-alice"); len(ps) != 5 {
		t.Fatalf("%d passkeys, want only the 5 good ones", len(ps))
	}
}

func TestReplayedChallengeRefused(t *testing.T) {
	f := setup(t, passkey.Config{})
	a := softauthn.New(origin)
	_, cred := f.register(f.alice, a, "key")
	c, _ := f.svc.BeginDiscoverableLogin(t.Context(), f.bind, false)
	resp, _ := a.Assert(c.Options)
	if _, err := f.svc.FinishLogin(t.Context(), c.ID, f.bind, resp); err != nil {
		t.Fatal(err)
	}
	// The same response again: the ceremony is used up.
	_, err := f.svc.FinishLogin(t.Context(), c.ID, f.bind, resp)
	wantFailure(t, "replayed response", err, passkey.ErrCeremonyUsed)
	// The old response sent to a fresh ceremony: signed over the wrong
	// challenge.
	c2, _ := f.svc.BeginDiscoverableLogin(t.Context(), f.bind, false)
	_, err = f.svc.FinishLogin(t.Context(), c2.ID, f.bind, resp)
	wantFailure(t, "old response, new ceremony", err, passkey.ErrVerification)
	// A fresh signature over the old challenge: wrong challenge too.
	stale, _ := a.AssertWith(cred, rpID, challengeOf(t, c.Options))
	c3, _ := f.svc.BeginDiscoverableLogin(t.Context(), f.bind, false)
	_, err = f.svc.FinishLogin(t.Context(), c3.ID, f.bind, stale)
	wantFailure(t, "old challenge", err, passkey.ErrVerification)
	_, err = f.svc.FinishLogin(t.Context(), "no-such-ceremony", f.bind, resp)
	wantFailure(t, "unknown ceremony", err, passkey.ErrCeremonyNotFound)
	// A registration ceremony cannot be answered as a sign-in.
	reg, _ := f.svc.BeginRegistration(t.Context(), f.alice, f.bind)
	_, err = f.svc.FinishLogin(t.Context(), reg.ID, f.bind, resp)
	wantFailure(t, "registration ceremony", err, passkey.ErrWrongBinding)
}

func TestExpiredChallengeRefused(t *testing.T) {
	f := setup(t, passkey.Config{ChallengeTTL: time.Minute})
	a := softauthn.New(origin)
	f.register(f.alice, a, "key")
	c, _ := f.svc.BeginDiscoverableLogin(t.Context(), f.bind, false)
	resp, _ := a.Assert(c.Options)
	f.clock.Advance(time.Minute)
	_, err := f.svc.FinishLogin(t.Context(), c.ID, f.bind, resp)
	wantFailure(t, "expired", err, passkey.ErrCeremonyExpired)

	reg, _ := f.svc.BeginRegistration(t.Context(), f.alice, f.bind)
	regResp, _, _ := softauthn.New(origin).Register(reg.Options)
	f.clock.Advance(time.Minute)
	if _, err := f.svc.FinishRegistration(t.Context(), f.alice, reg.ID, f.bind, "late", regResp); !errors.Is(err, passkey.ErrCeremonyExpired) {
		t.Fatalf("expired registration: %v", err)
	}
}

// Another browser or another sign-in cannot use (or burn) the ceremony.
func TestCeremonyBoundToSignInAndBrowser(t *testing.T) {
	f := setup(t, passkey.Config{})
	a := softauthn.New(origin)
	f.register(f.alice, a, "key")
	c, _ := f.svc.BeginDiscoverableLogin(t.Context(), f.bind, false)
	resp, _ := a.Assert(c.Options)
	for _, b := range []passkey.Binding{
		{AuthRequestID: "ar1", Browser: "browser-hash-2"},
		{AuthRequestID: "ar2", Browser: "browser-hash-1"},
		{AuthRequestID: "", Browser: "browser-hash-1"},
	} {
		_, err := f.svc.FinishLogin(t.Context(), c.ID, b, resp)
		wantFailure(t, "other binding", err, passkey.ErrWrongBinding)
	}
	if _, err := f.svc.FinishLogin(t.Context(), c.ID, f.bind, resp); err != nil {
		t.Fatalf("owner after foreign attempts: %v", err)
	}
	if _, err := f.svc.BeginDiscoverableLogin(t.Context(), passkey.Binding{AuthRequestID: "ar1"}, false); err == nil {
		t.Fatal("ceremony without a browser binding")
	}
	// A registration begun for alice cannot be finished as bob.
	reg, _ := f.svc.BeginRegistration(t.Context(), f.alice, f.bind)
	regResp, _, _ := softauthn.New(origin).Register(reg.Options)
	if _, err := f.svc.FinishRegistration(t.Context(), f.bob, reg.ID, f.bind, "x", regResp); !errors.Is(err, passkey.ErrWrongBinding) {
		t.Fatalf("registration finished as another user: %v", err)
	}
}

func TestCounterRegressionRefused(t *testing.T) {
	f := setup(t, passkey.Config{})
	a := softauthn.New(origin)
	p, cred := f.register(f.alice, a, "key")
	for range 3 {
		if _, err := f.login(a); err != nil {
			t.Fatal(err)
		}
	}
	// The stored counter is 4. A clone made earlier continues from 2.
	cred.Counter = 1
	_, err := f.login(a)
	if fl := wantFailure(t, "counter backwards", err, passkey.ErrCounterRegressed); fl.UserID != "u-alice" || fl.PasskeyID != p.ID {
		t.Fatalf("failure %+v", fl)
	}
	// The same non-zero counter again.
	cred.Counter = 3
	_, err = f.login(a)
	wantFailure(t, "counter repeated", err, passkey.ErrCounterRegressed)
	stored, _ := f.store.GetPasskeyByCredentialID(t.Context(), cred.ID)
	if stored.SignCount != 4 {
		t.Fatalf("refused assertions moved the counter to %d", stored.SignCount)
	}
	if evs := f.audit(passkey.AuditCloneSuspected); len(evs) != 2 || evs[0].UserID != "u-alice" || evs[0].Outcome != "failure" {
		t.Fatalf("clone events %+v", evs)
	}
	// Going on from the stored value works again.
	if _, err := f.login(a); err != nil {
		t.Fatalf("counter 5: %v", err)
	}
}

// Authenticators without a counter (most synced passkeys) always send 0.
func TestCounterlessAuthenticator(t *testing.T) {
	f := setup(t, passkey.Config{})
	a := softauthn.New(origin)
	a.CounterStep = 0
	p, _ := f.register(f.alice, a, "phone")
	if p.SignCount != 0 {
		t.Fatalf("counter %d", p.SignCount)
	}
	for i := range 3 {
		if _, err := f.login(a); err != nil {
			t.Fatalf("sign-in %d: %v", i, err)
		}
	}
}

// Two instances accepting assertions of a cloned authenticator with the
// same counter at the same time: one wins.
func TestClonedAuthenticatorAcrossInstances(t *testing.T) {
	f := setup(t, passkey.Config{})
	a := softauthn.New(origin)
	_, cred := f.register(f.alice, a, "key")
	other := f.service(passkey.Config{}) // a second instance on the same database
	const n = 6
	ceremonies := make([]*passkey.Ceremony, n)
	responses := make([][]byte, n)
	for i := range n {
		svc := f.svc
		if i%2 == 1 {
			svc = other
		}
		ceremonies[i], _ = svc.BeginDiscoverableLogin(t.Context(), f.bind, false)
		cred.Counter = 1 // every clone signs counter 2
		responses[i], _ = a.AssertWith(cred, rpID, challengeOf(t, ceremonies[i].Options))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		svc := f.svc
		if i%2 == 1 {
			svc = other
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = svc.FinishLogin(t.Context(), ceremonies[i].ID, f.bind, responses[i])
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, passkey.ErrCounterRegressed):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d sign-ins accepted counter 2, want 1", wins)
	}
}

func TestRemovedPasskeyRefused(t *testing.T) {
	f := setup(t, passkey.Config{})
	a := softauthn.New(origin)
	p, _ := f.register(f.alice, a, "key")
	if err := f.svc.Rename(t.Context(), "u-alice", p.ID, "Blue key"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Rename(t.Context(), "u-bob", p.ID, "mine"); !errors.Is(err, passkey.ErrNotFound) {
		t.Fatalf("rename by another user: %v", err)
	}
	if err := f.svc.Rename(t.Context(), "u-alice", p.ID, strings.Repeat("x", 65)); !errors.Is(err, passkey.ErrInvalidName) {
		t.Fatalf("long name: %v", err)
	}
	if err := f.svc.Rename(t.Context(), "u-alice", p.ID, "tab\there"); !errors.Is(err, passkey.ErrInvalidName) {
		t.Fatalf("control character: %v", err)
	}
	if err := f.svc.Remove(t.Context(), "u-bob", p.ID); !errors.Is(err, passkey.ErrNotFound) {
		t.Fatalf("remove by another user: %v", err)
	}
	ps, _ := f.svc.List(t.Context(), "u-alice")
	if len(ps) != 1 || ps[0].Name != "Blue key" {
		t.Fatalf("list %+v", ps)
	}
	if err := f.svc.Remove(t.Context(), "u-alice", p.ID); err != nil {
		t.Fatal(err)
	}
	_, err := f.login(a)
	if fl := wantFailure(t, "removed passkey", err, passkey.ErrUnknownCredential); fl.UserID != "" {
		t.Fatalf("removed passkey's failure names %q", fl.UserID)
	}
	for _, typ := range []string{passkey.AuditRename, passkey.AuditRemove} {
		if n := len(f.audit(typ)); n != 1 {
			t.Errorf("%d %s events", n, typ)
		}
	}
}

func TestRegistrationExcludesExistingAndCapsCount(t *testing.T) {
	f := setup(t, passkey.Config{MaxPerUser: 2})
	a := softauthn.New(origin)
	f.register(f.alice, a, "first")
	c, _ := f.svc.BeginRegistration(t.Context(), f.alice, f.bind)
	if _, _, err := a.Register(c.Options); err == nil {
		t.Fatal("the authenticator holding a passkey was not excluded")
	}
	f.register(f.alice, softauthn.New(origin), "second")
	if _, err := f.svc.BeginRegistration(t.Context(), f.alice, f.bind); !errors.Is(err, passkey.ErrTooManyPasskeys) {
		t.Fatalf("third passkey: %v", err)
	}
}

// A malformed or oversized answer is refused without using up the
// ceremony: the page can try again.
func TestMalformedAnswerKeepsTheCeremony(t *testing.T) {
	f := setup(t, passkey.Config{})
	reg, _ := f.svc.BeginRegistration(t.Context(), f.bob, f.bind)
	for _, bad := range [][]byte{[]byte(`{"id":`), nil, bytes.Repeat([]byte("a"), passkey.MaxResponseBytes+1)} {
		if _, err := f.svc.FinishRegistration(t.Context(), f.bob, reg.ID, f.bind, "x", bad); !errors.Is(err, passkey.ErrMalformedResponse) {
			t.Fatalf("malformed registration: %v", err)
		}
	}
	a := softauthn.New(origin)
	resp, _, _ := a.Register(reg.Options)
	if _, err := f.svc.FinishRegistration(t.Context(), f.bob, reg.ID, f.bind, "x", resp); err != nil {
		t.Fatalf("registration after malformed answers: %v", err)
	}
	c, _ := f.svc.BeginDiscoverableLogin(t.Context(), f.bind, false)
	_, err := f.svc.FinishLogin(t.Context(), c.ID, f.bind, []byte(`{"type":"public-key"}`))
	wantFailure(t, "malformed assertion", err, passkey.ErrMalformedResponse)
	resp, _ = a.Assert(c.Options)
	if _, err := f.svc.FinishLogin(t.Context(), c.ID, f.bind, resp); err != nil {
		t.Fatalf("sign-in after a malformed answer: %v", err)
	}
}

func TestUserVerificationRequired(t *testing.T) {
	f := setup(t, passkey.Config{UserVerification: passkey.UVRequired})
	a := softauthn.New(origin)
	a.UserVerified = false
	c, _ := f.svc.BeginRegistration(t.Context(), f.alice, f.bind)
	resp, _, _ := a.Register(c.Options)
	if _, err := f.svc.FinishRegistration(t.Context(), f.alice, c.ID, f.bind, "x", resp); !errors.Is(err, passkey.ErrVerification) {
		t.Fatalf("registration without UV: %v", err)
	}
	a = softauthn.New(origin)
	f.register(f.alice, a, "verified")
	a.UserVerified = false
	_, err := f.login(a)
	wantFailure(t, "sign-in without UV", err, passkey.ErrVerification)
}

// Challenges come from the injected random source.
func TestChallengeFromInjectedSource(t *testing.T) {
	store := teststore.SQLite(t)
	fixed := bytes.Repeat([]byte{0x42}, 1024)
	svc, err := passkey.New(passkey.Config{RPID: rpID, Origins: []string{origin}}, store, testclock.New(t0).Now, bytes.NewReader(fixed))
	if err != nil {
		t.Fatal(err)
	}
	c, err := svc.BeginDiscoverableLogin(t.Context(), passkey.Binding{Browser: "b"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := challengeOf(t, c.Options); !bytes.Equal(got, bytes.Repeat([]byte{0x42}, 32)) {
		t.Fatalf("challenge %x does not come from the injected source", got)
	}
}

func TestNewRefusesBadRelyingParty(t *testing.T) {
	store := teststore.SQLite(t)
	for _, cfg := range []passkey.Config{
		{RPID: "127.0.0.1", Origins: []string{"http://127.0.0.1:8080"}},
		{RPID: "", Origins: []string{origin}},
		{RPID: rpID},
		{RPID: rpID, Origins: []string{origin}, UserVerification: "sometimes"},
		{RPID: rpID, Origins: []string{origin}, ChallengeTTL: time.Second},
	} {
		if _, err := passkey.New(cfg, store, time.Now, rand.Reader); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func challengeOf(t *testing.T, options []byte) []byte {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	b, err := base64.RawURLEncoding.DecodeString(o.PublicKey.Challenge)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
