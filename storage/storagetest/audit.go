package storagetest

import (
	"testing"
	"time"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func testAudit(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	evs := []*models.AuditEvent{
		{Time: t0, Type: "login.password", Outcome: "success", UserID: "alice", ClientID: "web", RemoteIP: "127.0.0.1"},
		{Time: t0.Add(time.Minute), Type: "login.face", Outcome: "failure", UserID: "alice", ClientID: "web", Reason: "liveness",
			Details: map[string]any{"distance": 0.71, "threshold": 0.5, "actions": []any{"blink", "smile"}, "ok": false}},
		{Time: t0.Add(2 * time.Minute), Type: "login.password", Outcome: "failure", UserID: "bob", Reason: "bad password"},
		{Time: t0.Add(3 * time.Minute), Type: "token.refresh_reuse", Outcome: "info", UserID: "alice"},
	}
	for _, e := range evs {
		must(t, "append", s.AppendAudit(ctx, e))
		if e.ID == 0 {
			t.Fatal("AppendAudit did not assign an ID")
		}
	}
	if evs[0].ID == evs[1].ID {
		t.Fatal("two events got the same ID")
	}

	all, err := s.ListAudit(ctx, storage.AuditFilter{})
	must(t, "list all", err)
	if got := auditTypes(all); len(all) != 4 || all[0].Type != "token.refresh_reuse" || all[3].Type != "login.password" || all[3].UserID != "alice" {
		t.Fatalf("ListAudit = %v, want all four newest first", got)
	}
	sameRecord(t, "face event", &all[2], evs[1])

	for _, tc := range []struct {
		name string
		f    storage.AuditFilter
		want int
	}{
		{"by user", storage.AuditFilter{UserID: "alice"}, 3},
		{"by type", storage.AuditFilter{Type: "login.password"}, 2},
		{"user and type", storage.AuditFilter{UserID: "bob", Type: "login.password"}, 1},
		{"since is inclusive", storage.AuditFilter{Since: t0.Add(2 * time.Minute)}, 2},
		{"limit", storage.AuditFilter{Limit: 2}, 2},
		{"nothing", storage.AuditFilter{UserID: "carol"}, 0},
	} {
		got, err := s.ListAudit(ctx, tc.f)
		must(t, tc.name, err)
		if len(got) != tc.want {
			t.Errorf("%s: %d events %v, want %d", tc.name, len(got), auditTypes(got), tc.want)
		}
		for _, e := range got {
			if (tc.f.UserID != "" && e.UserID != tc.f.UserID) || (tc.f.Type != "" && e.Type != tc.f.Type) ||
				(!tc.f.Since.IsZero() && e.Time.Before(usec(tc.f.Since))) {
				t.Errorf("%s: event %+v does not match the filter", tc.name, e)
			}
		}
	}
	limited, err := s.ListAudit(ctx, storage.AuditFilter{UserID: "alice", Limit: 1})
	must(t, "limit 1", err)
	if len(limited) != 1 || limited[0].ID != evs[3].ID {
		t.Errorf("limit keeps the newest: got %v", auditTypes(limited))
	}
}

func auditTypes(es []models.AuditEvent) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Type+"/"+e.UserID)
	}
	return out
}
