package accounts

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage/sqlstore"
)

func newService(t *testing.T) (*Service, *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := password.New(password.Params{}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return New(st, h, time.Now, rand.Reader), st
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
	c, err := s.CreateClient(ctx, NewClient{ID: "app", Secret: "0123456789abcdef-secret", RedirectURIs: []string{"https://app.example.com/cb", "http://127.0.0.1:8081/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := st.GetClient(ctx, "app")
	if got.Public() || strings.Contains(got.SecretHash, "secret") || got.IDTokenAlg != "RS256" {
		t.Fatalf("stored client %+v", got)
	}
	if ok, _, _ := s.hasher.Verify(c.SecretHash, "0123456789abcdef-secret"); !ok {
		t.Fatal("secret hash does not verify")
	}
	pub, err := s.CreateClient(ctx, NewClient{ID: "spa", RedirectURIs: []string{"http://localhost:3000/cb"}})
	if err != nil || !pub.Public() {
		t.Fatalf("public client: %v", err)
	}
	for _, bad := range []NewClient{
		{ID: "x", RedirectURIs: []string{"http://app.example.com/cb"}},
		{ID: "x", RedirectURIs: []string{"https://app.example.com/cb#frag"}},
		{ID: "x", RedirectURIs: []string{"/relative"}},
		{ID: "x", RedirectURIs: []string{"javascript:alert(1)"}},
		{ID: "x"},
		{ID: "x", RedirectURIs: []string{"https://ok.example.com/cb"}, Secret: "short"},
		{ID: "x", RedirectURIs: []string{"https://ok.example.com/cb"}, IDTokenAlg: "HS256"},
		{ID: "app", RedirectURIs: []string{"https://ok.example.com/cb"}},
	} {
		if _, err := s.CreateClient(ctx, bad); err == nil {
			t.Errorf("CreateClient(%+v) succeeded", bad)
		}
	}
	if cs, _ := s.ListClients(ctx); len(cs) != 2 {
		t.Fatalf("%d clients, want 2", len(cs))
	}
	if err := s.RemoveClient(ctx, "spa"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveClient(ctx, "spa"); err == nil || !strings.Contains(err.Error(), "no client") {
		t.Fatalf("RemoveClient twice = %v", err)
	}
}
