package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/faceidp/faceidp/factors/recovery"
	"github.com/faceidp/faceidp/storage"
)

// An administrator grants a single-use face bypass, the audit log says who
// and why, a second grant replaces the first, and revoke withdraws it.
func TestUserGrantAndRevokeFaceBypass(t *testing.T) {
	e := newTestEnv(t).with("USER=root")
	e.ok("correct horse battery staple\n", "user", "add", "--username", "ada", "--email", "ada@example.com")
	out := e.ok("", "user", "grant-face-bypass", "ada@example.com", "--reason", "camera broken", "--ttl", "2h")
	if !strings.Contains(out, "face bypass granted to ada until") || !strings.Contains(out, "enrol the face again") {
		t.Fatalf("grant printed %q", out)
	}
	ctx := context.Background()
	store := e.store()
	u, err := store.GetUserByLogin(ctx, "ada")
	if err != nil {
		t.Fatal(err)
	}
	b, err := store.GetActiveFaceBypass(ctx, u.ID, time.Now())
	if err != nil {
		t.Fatalf("no active bypass after grant: %v", err)
	}
	if b.GrantedBy != "cli:root" || b.Reason != "camera broken" || b.ExpiresAt.Sub(b.CreatedAt) != 2*time.Hour {
		t.Fatalf("bypass %+v", b)
	}
	evs, _ := store.ListAudit(ctx, storage.AuditFilter{Type: recovery.AuditBypassGrant})
	if len(evs) != 1 || evs[0].UserID != u.ID || evs[0].Reason != "camera broken" {
		t.Fatalf("grant audit %+v", evs)
	}

	e.ok("", "user", "grant-face-bypass", "ada")
	b2, err := store.GetActiveFaceBypass(ctx, u.ID, time.Now())
	if err != nil || b2.ID == b.ID || b2.ExpiresAt.Sub(b2.CreatedAt) != 24*time.Hour {
		t.Fatalf("second grant: %+v, %v (want a new 24h bypass replacing the first)", b2, err)
	}
	if out := e.ok("", "user", "revoke-face-bypass", "ada"); !strings.Contains(out, "face bypass of ada revoked") {
		t.Fatalf("revoke printed %q", out)
	}
	if out := e.ok("", "user", "revoke-face-bypass", "ada"); !strings.Contains(out, "has no unused face bypass") {
		t.Fatalf("second revoke printed %q", out)
	}
	if msg := e.fails("", "user", "grant-face-bypass", "ada", "--ttl", "1000h"); !strings.Contains(msg, "between 1m and 168h") {
		t.Fatalf("too long a bypass: %q", msg)
	}
	if msg := e.fails("", "user", "grant-face-bypass", "nobody"); !strings.Contains(msg, `no user with id, username or email "nobody"`) {
		t.Fatalf("unknown user: %q", msg)
	}
}
