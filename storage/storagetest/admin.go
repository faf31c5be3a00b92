package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func testSearchUsers(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	for i, u := range []struct{ name, email, full string }{
		{"alice", "alice@example.com", "Alice Liddell"},
		{"bob", "bob@example.org", "Bob 100%"},
		{"carol", "carol@example.com", "Carol"},
	} {
		must(t, "create", s.CreateUser(ctx, &models.User{ID: "u" + string(rune('0'+i)), Username: u.name, Email: u.email, Name: u.full, Admin: i == 0}))
	}
	names := func(us []models.User) []string {
		var out []string
		for _, u := range us {
			out = append(out, u.Username)
		}
		return out
	}
	for _, tc := range []struct {
		q             string
		limit, offset int
		want          []string
	}{
		{"", 10, 0, []string{"alice", "bob", "carol"}},
		{"EXAMPLE.COM", 10, 0, []string{"alice", "carol"}},
		{"liddell", 10, 0, []string{"alice"}},
		{"100%", 10, 0, []string{"bob"}},
		{"_", 10, 0, nil},
		{"", 2, 1, []string{"bob", "carol"}},
		{"", 1, 0, []string{"alice"}},
	} {
		got, err := s.SearchUsers(ctx, tc.q, tc.limit, tc.offset)
		must(t, "search "+tc.q, err)
		if !slices.Equal(names(got), tc.want) {
			t.Errorf("SearchUsers(%q, %d, %d) = %v, want %v", tc.q, tc.limit, tc.offset, names(got), tc.want)
		}
	}
	u, err := s.GetUser(ctx, "u0")
	must(t, "get", err)
	if !u.Admin {
		t.Error("the admin role was not stored")
	}
}

func testUpdateClient(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, "create", s.CreateClient(ctx, webClient()))
	c := webClient()
	c.Name, c.RedirectURIs, c.Scopes, c.Disabled = "Renamed", []string{"https://new.example/cb"}, []string{"admin"}, true
	c.SecretHash = "must-not-change"
	must(t, "update", s.UpdateClient(ctx, c))
	got, err := s.GetClient(ctx, "web")
	must(t, "get", err)
	if got.Name != "Renamed" || !slices.Equal(got.RedirectURIs, c.RedirectURIs) || !slices.Equal(got.Scopes, []string{"admin"}) || !got.Disabled {
		t.Errorf("after UpdateClient: %+v", got)
	}
	if got.SecretHash != webClient().SecretHash {
		t.Errorf("UpdateClient changed the secret hash to %q", got.SecretHash)
	}
	wantErr(t, "unknown client", s.UpdateClient(ctx, &models.Client{ID: "nope"}), storage.ErrNotFound)

	t0 := baseTime()
	for _, id := range []string{"web", "other"} {
		rt := &models.RefreshToken{ID: "rt-" + id, TokenHash: "h-" + id, FamilyID: "f-" + id, ClientID: id, UserID: "u1", ExpiresAt: t0.Add(time.Hour)}
		at := &models.AccessToken{ID: "at-" + id, ClientID: id, UserID: "u1", ExpiresAt: t0.Add(time.Hour)}
		must(t, "tokens "+id, s.CreateRefreshToken(ctx, rt, at))
	}
	must(t, "delete client tokens", s.DeleteClientTokens(ctx, "web"))
	_, err = s.GetAccessToken(ctx, "at-web")
	wantErr(t, "access token of the client", err, storage.ErrNotFound)
	_, err = s.GetRefreshToken(ctx, "rt-web")
	wantErr(t, "refresh token of the client", err, storage.ErrNotFound)
	_, err = s.GetAccessToken(ctx, "at-other")
	must(t, "another client's access token kept", err)
	_, err = s.GetRefreshToken(ctx, "rt-other")
	must(t, "another client's refresh token kept", err)
	_, err = s.GetClient(ctx, "web")
	must(t, "the client itself kept", err)
}

func testAuditFilters(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	for i, e := range []models.AuditEvent{
		{Type: "login.password", Outcome: "success", UserID: "a", ClientID: "web"},
		{Type: "login.face", Outcome: "failure", UserID: "a", ClientID: "web"},
		{Type: "login.face", Outcome: "failure", UserID: "b", ClientID: "app"},
		{Type: "admin.user_create", Outcome: "success", UserID: "b"},
		{Type: "login_x", Outcome: "success", UserID: "c"},
	} {
		e.Time = t0.Add(time.Duration(i) * time.Minute)
		must(t, "append", s.AppendAudit(ctx, &e))
	}
	for _, tc := range []struct {
		name string
		f    storage.AuditFilter
		want []string // users, newest first
	}{
		{"client", storage.AuditFilter{ClientID: "web"}, []string{"a", "a"}},
		{"outcome", storage.AuditFilter{Outcome: "failure"}, []string{"b", "a"}},
		{"type prefix", storage.AuditFilter{Type: "login."}, []string{"b", "a", "a"}},
		{"until is exclusive", storage.AuditFilter{Until: t0.Add(2 * time.Minute)}, []string{"a", "a"}},
		{"range", storage.AuditFilter{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, []string{"b", "a"}},
		{"page 2", storage.AuditFilter{Limit: 2, Offset: 2}, []string{"b", "a"}},
		{"offset only", storage.AuditFilter{Offset: 4}, []string{"a"}},
	} {
		got, err := s.ListAudit(ctx, tc.f)
		must(t, tc.name, err)
		var users []string
		for _, e := range got {
			users = append(users, e.UserID)
		}
		if !slices.Equal(users, tc.want) {
			t.Errorf("%s: users %v, want %v", tc.name, users, tc.want)
		}
	}
}

func testFailingThrottles(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	for i, sub := range []string{"user:a", "ip:1.2.3.4", "user:b"} {
		at := t0.Add(time.Duration(i) * time.Minute)
		_, err := s.UpdateThrottle(ctx, sub, "pwd", func(th *models.FactorThrottle) error {
			th.Failures = i // user:a has none
			th.LastFailureAt = &at
			return nil
		})
		must(t, "update", err)
	}
	got, err := s.ListFailingThrottles(ctx, 10)
	must(t, "list", err)
	if len(got) != 2 || got[0].Subject != "user:b" || got[1].Subject != "ip:1.2.3.4" {
		t.Errorf("ListFailingThrottles = %+v, want user:b then ip:1.2.3.4", got)
	}
}
