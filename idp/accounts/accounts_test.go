package accounts

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/idp/clientsecret"
	"github.com/faceidp/faceidp/internal/teststore"
	"github.com/faceidp/faceidp/keyring"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
	"github.com/faceidp/faceidp/storage/sqlstore"
)

func newService(t *testing.T) (*Service, *sqlstore.Store) {
	t.Helper()
	st := teststore.SQLite(t)
	h, err := password.New(password.Params{}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.New([]keyring.Key{{ID: "k1", Secret: bytes.Repeat([]byte{7}, keyring.KeySize)}}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := clientsecret.New(kr, h, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return New(st, h, secrets, time.Now, rand.Reader), st
}

func TestCreateUserValidatesAndHashes(t *testing.T) {
	s, st := newService(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, NewUser{Username: "alice", Email: "alice@example.com", Name: "Alice", Password: "long enough"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := st.GetUser(ctx, u.ID)
	if !strings.HasPrefix(got.PasswordHash, "$argon2id$") || strings.Contains(got.PasswordHash, "long enough") {
		t.Fatalf("password stored as %q", got.PasswordHash)
	}
	bad := []struct {
		in   NewUser
		want string
	}{
		{NewUser{Username: "bob", Email: "bob@example.com", Password: "short"}, "too short"},
		{NewUser{Username: "bob", Email: "bob@example.com", Password: strings.Repeat("x", 1025)}, "too long"},
		{NewUser{Username: "b o b", Email: "bob@example.com", Password: "long enough"}, "username"},
		{NewUser{Username: "bob", Email: "not-an-email", Password: "long enough"}, "email"},
		{NewUser{Username: "alice", Email: "other@example.com", Password: "long enough"}, "already exists"},
		{NewUser{Username: "alice2", Email: "alice@example.com", Password: "long enough"}, "already exists"},
	}
	for _, b := range bad {
		if _, err := s.CreateUser(ctx, b.in); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("CreateUser(%+v) err = %v, want one mentioning %q", b.in, err, b.want)
		}
	}
	users, _ := s.ListUsers(ctx)
	if len(users) != 1 {
		t.Fatalf("%d users after rejected inputs, want 1", len(users))
	}
}

func TestDisableUserRevokesSessions(t *testing.T) {
	s, st := newService(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, NewUser{Username: "alice", Email: "alice@example.com", Password: "long enough"})
	now := time.Now()
	if err := st.CreateSession(ctx, &models.Session{ID: "s1", UserID: u.ID, CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	n, err := s.DisableUser(ctx, "alice@example.com")
	if err != nil || n != 1 {
		t.Fatalf("DisableUser = %d, %v", n, err)
	}
	sess, _ := st.GetSession(ctx, "s1")
	if sess.Active(time.Now()) {
		t.Fatal("session still active after disabling the user")
	}
	got, _ := st.GetUser(ctx, u.ID)
	if !got.Disabled {
		t.Fatal("user not disabled")
	}
	if _, err := s.DisableUser(ctx, "nobody"); err == nil || !strings.Contains(err.Error(), "no user") {
		t.Fatalf("DisableUser(nobody) = %v", err)
	}
}

func TestSetPassword(t *testing.T) {
	s, st := newService(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, NewUser{Username: "alice", Email: "alice@example.com", Password: "long enough"})
	if err := s.SetPassword(ctx, "alice", "short"); err == nil {
		t.Fatal("short password accepted")
	}
	if err := s.SetPassword(ctx, "alice", "a brand new one"); err != nil {
		t.Fatal(err)
	}
	got, _ := st.GetUser(ctx, u.ID)
	if ok, _, _ := s.hasher.Verify(got.PasswordHash, "a brand new one"); !ok {
		t.Fatal("new password does not verify")
	}
}

func TestClients(t *testing.T) {
	s, st := newService(t)
	ctx := context.Background()
	c, secret, err := s.CreateClient(ctx, NewClient{ID: "app", GenerateSecret: true, RedirectURIs: []string{"https://app.example.com/cb", "http://127.0.0.1:8081/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := st.GetClient(ctx, "app")
	if got.Public() || strings.Contains(got.SecretHash, secret) || got.IDTokenAlg != "RS256" {
		t.Fatalf("stored client %+v", got)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(secret); err != nil || len(raw) < 32 {
		t.Fatalf("generated secret %q is not 256 random bits", secret)
	}
	if ok, rehash, err := s.secrets.Verify("app", c.SecretHash, secret); !ok || rehash || err != nil {
		t.Fatalf("generated secret does not verify: %v %v %v", ok, rehash, err)
	}
	pub, none, err := s.CreateClient(ctx, NewClient{ID: "spa", RedirectURIs: []string{"http://localhost:3000/cb"}})
	if err != nil || !pub.Public() || none != "" {
		t.Fatalf("public client: %v (secret %q)", err, none)
	}
	supplied := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuv"), 1))
	if _, none, err := s.CreateClient(ctx, NewClient{ID: "imported", Secret: supplied, RedirectURIs: []string{"https://imp.example.com/cb"}}); err != nil || none != "" {
		t.Fatalf("client with a supplied random secret: %v", err)
	}
	for _, bad := range []NewClient{
		{ID: "x", RedirectURIs: []string{"http://app.example.com/cb"}},
		{ID: "x", RedirectURIs: []string{"https://app.example.com/cb#frag"}},
		{ID: "x", RedirectURIs: []string{"/relative"}},
		{ID: "x", RedirectURIs: []string{"javascript:alert(1)"}},
		{ID: "x"},
		{ID: "x", RedirectURIs: []string{"https://ok.example.com/cb"}, Secret: "short"},
		{ID: "x", RedirectURIs: []string{"https://ok.example.com/cb"}, Secret: "0123456789abcdef-secret"}, // typed by a person
		{ID: "x", RedirectURIs: []string{"https://ok.example.com/cb"}, Secret: supplied, GenerateSecret: true},
		{ID: "x", RedirectURIs: []string{"https://ok.example.com/cb"}, IDTokenAlg: "HS256"},
		{ID: "app", RedirectURIs: []string{"https://ok.example.com/cb"}},
	} {
		if _, _, err := s.CreateClient(ctx, bad); err == nil {
			t.Errorf("CreateClient(%+v) succeeded", bad)
		}
	}
	if cs, _ := s.ListClients(ctx); len(cs) != 3 {
		t.Fatalf("%d clients, want 3", len(cs))
	}
	if err := s.RemoveClient(ctx, "spa"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveClient(ctx, "spa"); err == nil || !strings.Contains(err.Error(), "no client") {
		t.Fatalf("RemoveClient twice = %v", err)
	}
}

// signedIn gives u a live browser session and, at two clients, an access
// token and a refresh token, as if they had signed in to both apps.
func signedIn(t *testing.T, st *sqlstore.Store, u *models.User, tag string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	if err := st.CreateSession(ctx, &models.Session{ID: "s-" + tag, UserID: u.ID, CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, client := range []string{"app1", "app2"} {
		id := tag + "-" + client
		rt := &models.RefreshToken{ID: "rt-" + id, TokenHash: "h-" + id, FamilyID: "rt-" + id, ClientID: client, UserID: u.ID, ExpiresAt: now.Add(time.Hour), CreatedAt: now}
		at := &models.AccessToken{ID: "at-" + id, ClientID: client, UserID: u.ID, ExpiresAt: now.Add(time.Hour), CreatedAt: now}
		if err := st.CreateRefreshToken(ctx, rt, at); err != nil {
			t.Fatal(err)
		}
	}
}

// signedOut fails unless the session and every token made by signedIn(tag)
// are unusable.
func signedOut(t *testing.T, st *sqlstore.Store, tag string) {
	t.Helper()
	ctx := context.Background()
	if sess, err := st.GetSession(ctx, "s-"+tag); err != nil || sess.Active(time.Now()) {
		t.Errorf("session %s still active (%v)", tag, err)
	}
	for _, client := range []string{"app1", "app2"} {
		id := tag + "-" + client
		if _, err := st.GetAccessToken(ctx, "at-"+id); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("access token at %s survived: %v", client, err)
		}
		if _, err := st.GetRefreshTokenByHash(ctx, "h-"+id); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("refresh token at %s survived: %v", client, err)
		}
	}
}

// auditOf returns the one event of type typ, failing if there is not
// exactly one, and checks that no secret leaked into it.
func auditOf(t *testing.T, st *sqlstore.Store, typ string, secrets ...string) models.AuditEvent {
	t.Helper()
	evs, err := st.ListAudit(context.Background(), storage.AuditFilter{Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Fatalf("%d %s audit events, want 1: %+v", len(evs), typ, evs)
	}
	dump := fmt.Sprintf("%+v", evs[0])
	for _, s := range append(secrets, "$argon2id$") {
		if strings.Contains(dump, s) {
			t.Errorf("%s audit event reveals %q: %s", typ, s, dump)
		}
	}
	if evs[0].Outcome != "success" || evs[0].Time.IsZero() {
		t.Errorf("%s audit event: %s", typ, dump)
	}
	return evs[0]
}

func TestCreateUserRequireFaceAndAudit(t *testing.T) {
	s, st := newService(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, NewUser{Username: "alice", Email: "alice@example.com", Password: "long enough", RequireFace: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetUser(ctx, u.ID); !got.RequireFace {
		t.Fatal("RequireFace not stored")
	}
	ev := auditOf(t, st, AuditUserCreate, "long enough")
	if ev.UserID != u.ID || ev.Details["username"] != "alice" || ev.Details["require_face"] != true {
		t.Errorf("user create audit event: %+v", ev)
	}

	changed, err := s.SetRequireFace(ctx, "alice", false)
	if err != nil || !changed {
		t.Fatalf("SetRequireFace(false) = %v, %v", changed, err)
	}
	if got, _ := st.GetUser(ctx, u.ID); got.RequireFace {
		t.Fatal("RequireFace still set")
	}
	if changed, err := s.SetRequireFace(ctx, "alice@example.com", false); err != nil || changed {
		t.Fatalf("SetRequireFace(false) again = %v, %v; want no change", changed, err)
	}
	if ev := auditOf(t, st, AuditUserRequireFace); ev.UserID != u.ID || ev.Details["require_face"] != false {
		t.Errorf("require-face audit event: %+v", ev)
	}
	if _, err := s.SetRequireFace(ctx, "nobody", true); err == nil || !strings.Contains(err.Error(), "no user") {
		t.Fatalf("SetRequireFace(nobody) = %v", err)
	}
}

// Disabling a user ends their browser session and every relying party's
// access (access and refresh tokens at every client), not other users'.
func TestDisableUserRevokesSessionsAndTokens(t *testing.T) {
	s, st := newService(t)
	ctx := context.Background()
	alice, _ := s.CreateUser(ctx, NewUser{Username: "alice", Email: "alice@example.com", Password: "long enough"})
	bob, _ := s.CreateUser(ctx, NewUser{Username: "bob", Email: "bob@example.com", Password: "long enough"})
	signedIn(t, st, alice, "alice")
	signedIn(t, st, bob, "bob")
	if n, err := s.DisableUser(ctx, "alice"); err != nil || n != 1 {
		t.Fatalf("DisableUser = %d, %v", n, err)
	}
	signedOut(t, st, "alice")
	if _, err := st.GetRefreshTokenByHash(ctx, "h-bob-app1"); err != nil {
		t.Errorf("bob's refresh token went too: %v", err)
	}
	if sess, _ := st.GetSession(ctx, "s-bob"); !sess.Active(time.Now()) {
		t.Error("bob's session revoked too")
	}
	if ev := auditOf(t, st, AuditUserDisable); ev.UserID != alice.ID {
		t.Errorf("disable audit event: %+v", ev)
	}
	if _, err := s.EnableUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetUser(ctx, alice.ID); got.Disabled {
		t.Fatal("still disabled")
	}
	if ev := auditOf(t, st, AuditUserEnable); ev.UserID != alice.ID {
		t.Errorf("enable audit event: %+v", ev)
	}
}

// A new password signs the user out everywhere: whoever used the old one
// keeps neither the session nor tokens.
func TestSetPasswordRevokesSessionsAndTokens(t *testing.T) {
	s, st := newService(t)
	ctx := context.Background()
	alice, _ := s.CreateUser(ctx, NewUser{Username: "alice", Email: "alice@example.com", Password: "long enough"})
	signedIn(t, st, alice, "alice")
	if err := s.SetPassword(ctx, "alice", "short"); err == nil {
		t.Fatal("short password accepted")
	}
	if sess, _ := st.GetSession(ctx, "s-alice"); !sess.Active(time.Now()) {
		t.Fatal("a rejected password change revoked the session")
	}
	if err := s.SetPassword(ctx, alice.ID, "a brand new one"); err != nil {
		t.Fatal(err)
	}
	signedOut(t, st, "alice")
	if ev := auditOf(t, st, AuditSetPassword, "a brand new one", "long enough"); ev.UserID != alice.ID || ev.Details["sessions_revoked"] != float64(1) {
		t.Errorf("set-password audit event: %+v", ev)
	}
}

func TestClientAudit(t *testing.T) {
	s, st := newService(t)
	ctx := context.Background()
	_, secret, err := s.CreateClient(ctx, NewClient{ID: "app", GenerateSecret: true, RedirectURIs: []string{"https://app.example.com/cb"}, RequireFace: true})
	if err != nil {
		t.Fatal(err)
	}
	ev := auditOf(t, st, AuditClientCreate, secret)
	if ev.ClientID != "app" || ev.Details["public"] != false || ev.Details["require_face"] != true {
		t.Errorf("client create audit event: %+v", ev)
	}
	if _, _, err := s.CreateClient(ctx, NewClient{ID: "app", RedirectURIs: []string{"https://app.example.com/cb"}}); err == nil {
		t.Fatal("duplicate client accepted")
	}
	auditOf(t, st, AuditClientCreate) // the refused duplicate wrote no event
	if err := s.RemoveClient(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if ev := auditOf(t, st, AuditClientRemove); ev.ClientID != "app" {
		t.Errorf("client remove audit event: %+v", ev)
	}
	if err := s.RemoveClient(ctx, "app"); err == nil {
		t.Fatal("removing a removed client succeeded")
	}
	auditOf(t, st, AuditClientRemove)
}

// Resetting a user's face deletes only their template (the next sign-in
// that needs face enrols again) and is audited; a second reset finds none.
func TestResetFace(t *testing.T) {
	s, st := newService(t)
	ctx := context.Background()
	var users []*models.User
	for _, name := range []string{"alice", "bob"} {
		u, err := s.CreateUser(ctx, NewUser{Username: name, Email: name + "@example.com", Password: "long enough"})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SaveFaceTemplate(ctx, &models.FaceTemplate{UserID: u.ID, KeyID: "k1", Sealed: []byte("sealed"), Samples: 3}); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	deleted, err := s.ResetFace(ctx, "alice@example.com")
	if err != nil || !deleted {
		t.Fatalf("ResetFace(alice) = %v, %v", deleted, err)
	}
	if _, err := st.GetFaceTemplate(ctx, users[0].ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("alice's template after reset: %v, want not found", err)
	}
	if _, err := st.GetFaceTemplate(ctx, users[1].ID); err != nil {
		t.Fatalf("bob's template went too: %v", err)
	}
	if ev := auditOf(t, st, AuditUserResetFace); ev.UserID != users[0].ID {
		t.Errorf("reset-face audit event: %+v", ev)
	}
	if deleted, err := s.ResetFace(ctx, "alice"); err != nil || deleted {
		t.Fatalf("ResetFace(alice) again = %v, %v; want nothing to delete", deleted, err)
	}
	if _, err := s.ResetFace(ctx, "nobody"); err == nil || !strings.Contains(err.Error(), "no user") {
		t.Fatalf("ResetFace(nobody) = %v", err)
	}
}

// seedThrottle stores a counter with failures for userID's factor.
func seedThrottle(t *testing.T, st storage.Storage, subject, userID, factor string, failures int) {
	t.Helper()
	_, err := st.UpdateThrottle(context.Background(), subject, factor, func(c *models.FactorThrottle) error {
		c.UserID, c.Failures = userID, failures
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func throttleFactors(t *testing.T, st storage.Storage, userID string) []string {
	t.Helper()
	ts, err := st.ListUserThrottles(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range ts {
		out = append(out, c.Factor+" "+c.Subject)
	}
	return out
}

// enable-face clears the user's face counter (a face disabled after 50
// failures works again) and nothing else; enable clears every counter of
// the user; reset-face clears the face counter with the template.
func TestEnableFaceAndEnableClearThrottles(t *testing.T) {
	s, st := newService(t)
	ctx := context.Background()
	alice, err := s.CreateUser(ctx, NewUser{Username: "alice", Email: "alice@example.com", Password: "long enough"})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := s.CreateUser(ctx, NewUser{Username: "bob", Email: "bob@example.com", Password: "long enough"})
	if err != nil {
		t.Fatal(err)
	}
	seed := func() {
		seedThrottle(t, st, "user:"+alice.ID, alice.ID, "face", 50)
		seedThrottle(t, st, "user:"+alice.ID, alice.ID, "pwd", 7)
		seedThrottle(t, st, "device:d1", alice.ID, "pwd", 2)
		seedThrottle(t, st, "user:"+bob.ID, bob.ID, "face", 50)
		seedThrottle(t, st, "ip:192.0.2.1", "", "pwd", 30)
	}
	seed()
	if cleared, err := s.EnableFace(ctx, "alice"); err != nil || !cleared {
		t.Fatalf("EnableFace(alice) = %v, %v", cleared, err)
	}
	if got := strings.Join(throttleFactors(t, st, alice.ID), ","); got != "pwd device:d1,pwd user:"+alice.ID {
		t.Fatalf("alice's counters after enable-face: %s (only face must go)", got)
	}
	if len(throttleFactors(t, st, bob.ID)) != 1 {
		t.Fatal("enable-face of alice touched bob")
	}
	if ev := auditOf(t, st, AuditUserEnableFace); ev.UserID != alice.ID || ev.Details["throttles_cleared"] != float64(1) {
		t.Errorf("enable-face audit event: %+v", ev)
	}
	if cleared, err := s.EnableFace(ctx, "alice"); err != nil || cleared {
		t.Fatalf("EnableFace(alice) again = %v, %v; want nothing to clear", cleared, err)
	}

	seed()
	n, err := s.EnableUser(ctx, "alice")
	if err != nil || n != 3 {
		t.Fatalf("EnableUser(alice) = %d, %v; want her 3 counters cleared", n, err)
	}
	if left := throttleFactors(t, st, alice.ID); len(left) != 0 {
		t.Fatalf("alice's counters after enable: %v", left)
	}
	if _, err := st.GetThrottle(ctx, "ip:192.0.2.1", "pwd"); err != nil {
		t.Fatalf("enable cleared a source counter that is no one's: %v", err)
	}

	seed()
	if err := st.SaveFaceTemplate(ctx, &models.FaceTemplate{UserID: alice.ID, KeyID: "k1", Sealed: []byte("sealed"), Samples: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResetFace(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(throttleFactors(t, st, alice.ID), ","); strings.Contains(got, "face") {
		t.Fatalf("reset-face left the face counter: %s", got)
	}
}

// A new secret replaces the old one at once; public clients have none to
// replace, and a secret a person chose is refused here too.
func TestSetClientSecret(t *testing.T) {
	s, st := newService(t)
	ctx := context.Background()
	_, old, err := s.CreateClient(ctx, NewClient{ID: "app", GenerateSecret: true, RedirectURIs: []string{"https://app.example.com/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := s.SetClientSecret(ctx, "app", true, "")
	if err != nil || fresh == "" || fresh == old {
		t.Fatalf("SetClientSecret = %q, %v", fresh, err)
	}
	c, _ := st.GetClient(ctx, "app")
	if ok, _, _ := s.secrets.Verify("app", c.SecretHash, fresh); !ok {
		t.Error("the new secret does not verify")
	}
	if ok, _, _ := s.secrets.Verify("app", c.SecretHash, old); ok {
		t.Error("the old secret still verifies")
	}
	if ev := auditOf(t, st, AuditClientSecret, fresh, old); ev.ClientID != "app" || ev.Details["secret_generated"] != true {
		t.Errorf("set-secret audit event: %+v", ev)
	}
	if _, err := s.SetClientSecret(ctx, "app", false, "my-own-secret-1234"); !errors.Is(err, clientsecret.ErrWeakSecret) {
		t.Errorf("weak supplied secret: %v", err)
	}
	if _, _, err := s.CreateClient(ctx, NewClient{ID: "spa", RedirectURIs: []string{"http://localhost:3000/cb"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetClientSecret(ctx, "spa", true, ""); err == nil || !strings.Contains(err.Error(), "public") {
		t.Errorf("secret for a public client: %v", err)
	}
	if _, err := s.SetClientSecret(ctx, "nope", true, ""); err == nil {
		t.Error("secret for an unknown client accepted")
	}
}
