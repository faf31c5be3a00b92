package admin_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/idp/accounts"
	"github.com/faceidp/faceidp/models"
)

func TestConsoleSignInNeedsAdminRoleAndFace(t *testing.T) {
	e := newEnv(t)
	root := e.addUser("root", true)
	b := e.browser()
	p := b.signIn("/admin/users", root)
	if p.status != http.StatusOK || p.url.Path != "/admin/users" || !strings.Contains(p.body, `id="admin-name">root<`) {
		t.Fatalf("after signing in: %d at %s\n%s", p.status, p.url, p.body)
	}
	if ok, _ := e.face.Enrolled(e.ctx, root.ID); !ok {
		t.Error("the console's sign-in did not require the face factor (no enrolment happened)")
	}

	// A user without the admin role signs in just as well, and gets 403.
	bob := e.addUser("bob", false)
	nb := e.browser()
	p = nb.signIn("/admin/users", bob)
	if p.status != http.StatusForbidden || !strings.Contains(p.body, `id="admin-forbidden"`) {
		t.Fatalf("a non-admin's session at /admin: %d at %s, want 403", p.status, p.url)
	}
	if p = nb.get("/admin/users"); p.status == http.StatusOK {
		t.Fatalf("the non-admin reached the console afterwards: %d at %s", p.status, p.url)
	}

	// Removing the role takes effect on the next request.
	if _, err := e.acc.SetAdmin(e.ctx, "root", false); err != nil {
		t.Fatal(err)
	}
	if p = b.get("/admin/users"); p.status != http.StatusForbidden {
		t.Fatalf("after the admin role was removed: %d, want 403", p.status)
	}
}

func TestConsoleActions(t *testing.T) {
	e := newEnv(t)
	root := e.addUser("root", true)
	carol := e.addUser("carol", false)
	b := e.browser()
	if p := b.signIn("/admin/users", root); p.url.Path != "/admin/users" {
		t.Fatalf("sign-in landed at %s", p.url)
	}

	t.Run("unlock a throttled user", func(t *testing.T) {
		for range 3 {
			if _, err := e.store.UpdateThrottle(e.ctx, "user:"+carol.ID, throttle.FactorPassword, func(th *models.FactorThrottle) error {
				th.UserID, th.Failures = carol.ID, th.Failures+5
				now := e.clock.Now()
				th.LastFailureAt = &now
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		p := b.get("/admin/users/" + carol.ID)
		if !strings.Contains(p.body, `id="throttles"`) {
			t.Fatalf("the user page shows no throttle for a user with 15 failures:\n%s", p.body)
		}
		p = b.post("/admin/users/"+carol.ID+"/unlock", url.Values{})
		if p.status != http.StatusOK || !strings.Contains(p.body, "throttle counter(s) cleared") || !strings.Contains(p.body, `id="throttles-none"`) {
			t.Fatalf("unlock: %d at %s\n%s", p.status, p.url, p.body)
		}
		evs := e.audit(accounts.AuditUserUnlock)
		if len(evs) != 1 || evs[0].Details["actor"] != "admin:"+root.ID || evs[0].UserID != carol.ID {
			t.Fatalf("unlock audit events: %+v", evs)
		}
	})

	t.Run("a form without the CSRF token is refused", func(t *testing.T) {
		p := b.post("/admin/users/"+carol.ID+"/disable", url.Values{"csrf_token": {"forged"}})
		if p.status != http.StatusForbidden {
			t.Fatalf("forged CSRF token: %d, want 403", p.status)
		}
		u, _ := e.store.GetUser(e.ctx, carol.ID)
		if u.Disabled {
			t.Fatal("the forged form disabled the user")
		}
	})

	t.Run("reset password shows a one-time password that works", func(t *testing.T) {
		p := b.post("/admin/users/"+carol.ID+"/reset-password", url.Values{})
		m := regexpSecret.FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("no one-time password shown:\n%s", p.body)
		}
		u, _ := e.store.GetUser(e.ctx, carol.ID)
		if u.PasswordHash == "" || strings.Contains(u.PasswordHash, m[1]) {
			t.Fatal("password not stored hashed")
		}
		if p.url.Path != "/admin/once" {
			t.Errorf("the one-time password was shown at %s, want after a redirect to /admin/once", p.url)
		}
		if again := b.get("/admin/once"); strings.Contains(again.body, m[1]) {
			t.Error("reloading the page shows the one-time password again")
		}
	})

	t.Run("grant a face bypass", func(t *testing.T) {
		p := b.post("/admin/users/"+carol.ID+"/bypass", url.Values{"hours": {"2"}, "reason": {"broken camera"}})
		if !strings.Contains(p.body, `id="bypass-state"`) {
			t.Fatalf("bypass not shown after granting:\n%s", p.body)
		}
		bp, err := e.store.GetActiveFaceBypass(e.ctx, carol.ID, e.clock.Now())
		if err != nil || bp.GrantedBy != "admin:"+root.ID {
			t.Fatalf("stored bypass %+v, %v", bp, err)
		}
	})

	t.Run("a stale sign-in must sign in again before an action", func(t *testing.T) {
		e.clock.Advance(11 * time.Minute)
		req, _ := http.NewRequest(http.MethodPost, e.issuer+"/admin/users/"+carol.ID+"/disable", strings.NewReader(url.Values{"csrf_token": {b.csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Referer", e.issuer+"/admin/users/"+carol.ID)
		p := b.do(req)
		if p.url.Path != "/login/" {
			t.Fatalf("a stale admin's action went to %s (%d), want a fresh sign-in", p.url, p.status)
		}
		u, _ := e.store.GetUser(e.ctx, carol.ID)
		if u.Disabled {
			t.Fatal("the stale admin's action was carried out")
		}
	})
}

var regexpSecret = regexpMust(`id="one-time-secret">([^<]+)<`)

func regexpMust(s string) *regexp.Regexp { return regexp.MustCompile(s) }
