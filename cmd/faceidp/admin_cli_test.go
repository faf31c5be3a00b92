package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/faceidp/faceidp/storage"
)

func TestUserAdminRole(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.ok("correct horse battery staple\n", "user", "add", "--username", "root", "--email", "root@example.com", "--admin")
	e.ok("correct horse battery staple\n", "user", "add", "--username", "ada", "--email", "ada@example.com")
	if u, err := e.store().GetUserByLogin(ctx, "root"); err != nil || !u.Admin {
		t.Fatalf("--admin not stored (%v)", err)
	}
	if u, _ := e.store().GetUserByLogin(ctx, "ada"); u.Admin {
		t.Fatal("a user added without --admin is an admin")
	}
	if out := e.ok("", "user", "set-admin", "ada", "true"); !strings.Contains(out, "ada is now an admin") {
		t.Errorf("set-admin true printed %q", out)
	}
	if out := e.ok("", "user", "set-admin", "ada", "true"); !strings.Contains(out, "already an admin") {
		t.Errorf("set-admin true twice printed %q", out)
	}
	e.ok("", "user", "set-admin", "root", "false")
	if u, _ := e.store().GetUserByLogin(ctx, "root"); u.Admin {
		t.Fatal("set-admin false did not remove the role")
	}
	if msg := e.fails("", "user", "set-admin", "ada", "yes please"); !strings.Contains(msg, "must be true or false") {
		t.Errorf("bad value: %q", msg)
	}
	if msg := e.fails("", "user", "set-admin", "nobody", "true"); !strings.Contains(msg, "no user") {
		t.Errorf("unknown user: %q", msg)
	}
	evs, _ := e.store().ListAudit(ctx, storage.AuditFilter{Type: "admin.user_admin"})
	if len(evs) != 2 || !strings.HasPrefix(evs[0].Details["actor"].(string), "cli") {
		t.Errorf("set-admin audit events: %+v", evs)
	}
}

func TestClientAddService(t *testing.T) {
	e := newTestEnv(t)
	out := e.ok("", "client", "add", "--id", "automation", "--service", "--scope", "admin")
	if !strings.Contains(out, "service (client_credentials grant only), scopes admin") {
		t.Errorf("client add --service printed %q", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if secret := lines[len(lines)-1]; len(secret) < 40 {
		t.Errorf("no generated secret as the last line: %q", out)
	}
	c, err := e.store().GetClient(context.Background(), "automation")
	if err != nil || !c.Service || !slices.Equal(c.Scopes, []string{"admin"}) || c.Public() || len(c.RedirectURIs) != 0 {
		t.Fatalf("stored service client %+v, %v", c, err)
	}
	if msg := e.fails("", "client", "add", "--id", "x", "--service", "--redirect-uri", "https://x.example/cb"); !strings.Contains(msg, "takes no redirect URIs") {
		t.Errorf("service client with a redirect URI: %q", msg)
	}
	if msg := e.fails("", "client", "add", "--id", "y", "--service", "--scope", "root"); !strings.Contains(msg, `scope "root"`) {
		t.Errorf("unknown scope: %q", msg)
	}
	if msg := e.fails("", "client", "add", "--id", "z", "--scope", "admin", "--redirect-uri", "https://z.example/cb"); !strings.Contains(msg, "only a service client") {
		t.Errorf("scope on a browser client: %q", msg)
	}
}
