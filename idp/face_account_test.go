package idp

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/faceidp/faceidp/models"
)

// A correct password re-entered on an account page must not undo a lockout
// that a concurrent failure set after the page read the user row: the
// reset is a conditional UPDATE, not a write of the stale row.
func TestReauthenticateKeepsConcurrentLockout(t *testing.T) {
	e := newEnv(t)
	alice := e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)

	// The handler read alice with one failure counted...
	stale, err := e.store.GetUser(e.ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	stale.FailedLogins = 1
	// ...and meanwhile racing failures locked the account.
	for i := 0; i < e.idp.opts.LockoutThreshold; i++ {
		if _, _, err := e.store.IncrementFailedLogins(e.ctx, alice.ID, e.clock.Now(), e.idp.opts.LockoutThreshold, e.idp.opts.LockoutDuration); err != nil {
			t.Fatal(err)
		}
	}
	if u, _ := e.store.GetUser(e.ctx, alice.ID); !u.Locked(e.clock.Now()) {
		t.Fatal("setup: account not locked")
	}

	fc := &flowControl{s: e.idp}
	r := httptest.NewRequest(http.MethodPost, e.issuer+"/login/face/account", nil)
	w := httptest.NewRecorder()
	sess := &models.Session{ID: "sess-1", UserID: alice.ID}
	if err := fc.Reauthenticate(w, r, sess, stale, alicePW); err != nil {
		t.Fatalf("re-authentication with the right password: %v", err)
	}
	u, err := e.store.GetUser(e.ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !u.Locked(e.clock.Now()) {
		t.Fatalf("the re-authentication cleared a lockout set concurrently: %+v", u)
	}
}

// Without a lockout in force, a correct re-entry resets the failure count
// in the database, even when the row the handler read says zero.
func TestReauthenticateResetsFailures(t *testing.T) {
	e := newEnv(t)
	alice := e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	stale, err := e.store.GetUser(e.ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	// A failure counted after the handler read the row.
	if _, _, err := e.store.IncrementFailedLogins(e.ctx, alice.ID, e.clock.Now(), e.idp.opts.LockoutThreshold, e.idp.opts.LockoutDuration); err != nil {
		t.Fatal(err)
	}
	fc := &flowControl{s: e.idp}
	r := httptest.NewRequest(http.MethodPost, e.issuer+"/login/face/account", nil)
	if err := fc.Reauthenticate(httptest.NewRecorder(), r, &models.Session{ID: "sess-1", UserID: alice.ID}, stale, alicePW); err != nil {
		t.Fatal(err)
	}
	if u, _ := e.store.GetUser(e.ctx, alice.ID); u.FailedLogins != 0 {
		t.Fatalf("failed logins %d after a correct re-authentication, want 0", u.FailedLogins)
	}
}
