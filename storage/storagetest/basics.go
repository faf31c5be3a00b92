package storagetest

import (
	"testing"
	"time"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func testHealth(t *testing.T, s storage.Storage) {
	must(t, "health", s.Health(t.Context()))
}

func testMigrateIdempotent(t *testing.T, s storage.Storage) {
	u := &models.User{ID: "u1", Username: "alice", Email: "alice@example.com"}
	must(t, "create user", s.CreateUser(t.Context(), u))
	must(t, "second migrate", s.Migrate(t.Context()))
	must(t, "third migrate", s.Migrate(t.Context()))
	if _, err := s.GetUser(t.Context(), "u1"); err != nil {
		t.Fatalf("user lost after re-running Migrate: %v", err)
	}
}

func testTimesRoundTrip(t *testing.T, s storage.Storage) {
	t0 := baseTime()
	revoked := t0.Add(90 * time.Minute)
	in := &models.Session{
		ID: "s1", UserID: "u1", AuthTime: t0, CreatedAt: t0.Add(time.Nanosecond),
		LastSeen: t0.Add(999 * time.Nanosecond), ExpiresAt: t0.Add(time.Hour), RevokedAt: &revoked,
	}
	must(t, "create session", s.CreateSession(t.Context(), in))
	got, err := s.GetSession(t.Context(), "s1")
	must(t, "get session", err)
	sameTime(t, "AuthTime", got.AuthTime, t0)
	sameTime(t, "CreatedAt", got.CreatedAt, t0)
	sameTime(t, "LastSeen", got.LastSeen, t0.Add(999*time.Nanosecond))
	sameTime(t, "ExpiresAt", got.ExpiresAt, t0.Add(time.Hour))
	if got.RevokedAt == nil {
		t.Fatal("RevokedAt lost")
	}
	sameTime(t, "RevokedAt", *got.RevokedAt, revoked)
	if got.AuthTime.Nanosecond() != 123456000 {
		t.Errorf("AuthTime nanoseconds %d, want 123456000 (microsecond precision)", got.AuthTime.Nanosecond())
	}
	if got.Active(t0.Add(30*time.Minute)) || !got.ExpiresAt.After(t0) {
		t.Errorf("revoked session reported active")
	}
}
