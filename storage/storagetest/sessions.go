package storagetest

import (
	"testing"
	"time"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func session(id, user string, created time.Time) *models.Session {
	return &models.Session{
		ID: id, UserID: user, AuthTime: created, AMR: []string{"pwd", "face"},
		UserAgent: "Mozilla/5.0", RemoteIP: "127.0.0.1",
		CreatedAt: created, LastSeen: created, ExpiresAt: created.Add(12 * time.Hour),
	}
}

func testSessionCRUD(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	_, err := s.GetSession(ctx, "s1")
	wantErr(t, "get before create", err, storage.ErrNotFound)
	must(t, "create", s.CreateSession(ctx, session("s1", "u1", t0)))
	got, err := s.GetSession(ctx, "s1")
	must(t, "get", err)
	sameRecord(t, "session", got, session("s1", "u1", t0))
	wantErr(t, "duplicate", s.CreateSession(ctx, session("s1", "u1", t0)), storage.ErrAlreadyExists)

	got.LastSeen = t0.Add(time.Hour)
	got.AMR = []string{"pwd"}
	got.CreatedAt = time.Time{}
	must(t, "update", s.UpdateSession(ctx, got))
	again, err := s.GetSession(ctx, "s1")
	must(t, "get after update", err)
	want := session("s1", "u1", t0)
	want.LastSeen, want.AMR = t0.Add(time.Hour), []string{"pwd"}
	sameRecord(t, "updated session", again, want)
	wantErr(t, "update unknown", s.UpdateSession(ctx, session("nope", "u1", t0)), storage.ErrNotFound)
}

func testSessionRevoke(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	for i, id := range []string{"a1", "a2", "a3"} {
		must(t, "create", s.CreateSession(ctx, session(id, "alice", t0.Add(time.Duration(i)*time.Minute))))
	}
	must(t, "create bob's", s.CreateSession(ctx, session("b1", "bob", t0)))

	revokedAt := t0.Add(time.Hour)
	must(t, "revoke a1", s.RevokeSession(ctx, "a1", revokedAt))
	must(t, "revoke a1 again", s.RevokeSession(ctx, "a1", revokedAt.Add(time.Hour)))
	a1, err := s.GetSession(ctx, "a1")
	must(t, "get a1", err)
	if a1.RevokedAt == nil {
		t.Fatal("a1 not revoked")
	}
	sameTime(t, "a1.RevokedAt keeps the first revocation", *a1.RevokedAt, revokedAt)
	if a1.Active(t0) {
		t.Error("revoked session active")
	}
	wantErr(t, "revoke unknown", s.RevokeSession(ctx, "nope", revokedAt), storage.ErrNotFound)

	n, err := s.RevokeUserSessions(ctx, "alice", revokedAt.Add(time.Minute))
	must(t, "revoke alice's sessions", err)
	if n != 2 {
		t.Errorf("RevokeUserSessions revoked %d, want 2 (a1 was already revoked)", n)
	}
	list, err := s.ListUserSessions(ctx, "alice")
	must(t, "list", err)
	if len(list) != 3 || list[0].ID != "a3" || list[1].ID != "a2" || list[2].ID != "a1" {
		t.Fatalf("ListUserSessions = %v, want a3 a2 a1", sessionIDs(list))
	}
	for _, ss := range list {
		if ss.RevokedAt == nil {
			t.Errorf("%s not revoked", ss.ID)
		}
	}
	b1, err := s.GetSession(ctx, "b1")
	must(t, "get b1", err)
	if b1.RevokedAt != nil {
		t.Error("revoking alice's sessions revoked bob's")
	}
	none, err := s.ListUserSessions(ctx, "carol")
	must(t, "list none", err)
	if len(none) != 0 {
		t.Errorf("carol has %d sessions", len(none))
	}
}

func sessionIDs(ss []models.Session) []string {
	var ids []string
	for _, s := range ss {
		ids = append(ids, s.ID)
	}
	return ids
}

func testConsents(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	_, err := s.GetConsent(ctx, "u1", "web")
	wantErr(t, "get before save", err, storage.ErrNotFound)
	must(t, "save", s.SaveConsent(ctx, &models.Consent{UserID: "u1", ClientID: "web", Scopes: []string{"openid", "email"}, CreatedAt: t0, UpdatedAt: t0}))
	must(t, "save other client", s.SaveConsent(ctx, &models.Consent{UserID: "u1", ClientID: "cli", Scopes: []string{"openid"}}))
	got, err := s.GetConsent(ctx, "u1", "web")
	must(t, "get", err)
	sameRecord(t, "consent", got, &models.Consent{UserID: "u1", ClientID: "web", Scopes: []string{"openid", "email"}, CreatedAt: t0, UpdatedAt: t0})

	later := t0.Add(time.Hour)
	must(t, "save again", s.SaveConsent(ctx, &models.Consent{UserID: "u1", ClientID: "web", Scopes: []string{"openid", "profile"}, CreatedAt: later, UpdatedAt: later}))
	got, err = s.GetConsent(ctx, "u1", "web")
	must(t, "get after replace", err)
	sameRecord(t, "replaced consent", got, &models.Consent{UserID: "u1", ClientID: "web", Scopes: []string{"openid", "profile"}, CreatedAt: t0, UpdatedAt: later})

	must(t, "delete", s.DeleteConsent(ctx, "u1", "web"))
	_, err = s.GetConsent(ctx, "u1", "web")
	wantErr(t, "get deleted", err, storage.ErrNotFound)
	wantErr(t, "delete again", s.DeleteConsent(ctx, "u1", "web"), storage.ErrNotFound)
	_, err = s.GetConsent(ctx, "u1", "cli")
	must(t, "other consent kept", err)
}
