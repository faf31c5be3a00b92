package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func bob() *models.User {
	return &models.User{ID: "u-bob", Username: "bob", Email: "bob@example.org", CreatedAt: baseTime(), UpdatedAt: baseTime()}
}

// testFailedLoginsConcurrent: failed attempts arriving at once (from several
// instances) each count; none is lost to a read-modify-write race.
func testFailedLoginsConcurrent(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, "create bob", s.CreateUser(ctx, bob()))
	const n = 12
	counts := make([]int, n)
	errs := concurrently(n, func(i int) error {
		var err error
		counts[i], _, err = s.IncrementFailedLogins(ctx, "u-bob", baseTime(), 100, time.Minute)
		return err
	})
	for _, err := range errs {
		must(t, "increment", err)
	}
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Fatalf("concurrent increments returned %v, want 1..%d each once", counts, n)
		}
	}
	u, err := s.GetUser(ctx, "u-bob")
	must(t, "get", err)
	if u.FailedLogins != n || u.LockedUntil != nil {
		t.Fatalf("after %d concurrent failures: FailedLogins=%d LockedUntil=%v", n, u.FailedLogins, u.LockedUntil)
	}
}

func testFailedLoginsLockAndReset(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, "create bob", s.CreateUser(ctx, bob()))
	t0 := baseTime()
	for i := 1; i <= 2; i++ {
		c, locked, err := s.IncrementFailedLogins(ctx, "u-bob", t0, 3, 15*time.Minute)
		must(t, "increment", err)
		if c != i || locked {
			t.Fatalf("failure %d: count=%d locked=%v", i, c, locked)
		}
	}
	c, locked, err := s.IncrementFailedLogins(ctx, "u-bob", t0, 3, 15*time.Minute)
	must(t, "third failure", err)
	if c != 3 || !locked {
		t.Fatalf("third failure of 3: count=%d locked=%v, want 3 true", c, locked)
	}
	u, err := s.GetUser(ctx, "u-bob")
	must(t, "get locked", err)
	if u.FailedLogins != 0 || u.LockedUntil == nil {
		t.Fatalf("locked user: FailedLogins=%d LockedUntil=%v", u.FailedLogins, u.LockedUntil)
	}
	sameTime(t, "LockedUntil", *u.LockedUntil, t0.Add(15*time.Minute))
	want := bob()
	want.LockedUntil = ptr(t0.Add(15 * time.Minute))
	sameRecord(t, "locked user keeps every other field", u, want, "UpdatedAt")

	// A success while the lockout is in force (a racing request) keeps it.
	must(t, "reset during lockout", s.ResetFailedLogins(ctx, "u-bob", t0.Add(time.Minute)))
	u, err = s.GetUser(ctx, "u-bob")
	must(t, "get", err)
	if u.LockedUntil == nil {
		t.Fatal("ResetFailedLogins lifted a lockout still in force")
	}
	// After it ends, a success clears the lockout and the count.
	_, _, err = s.IncrementFailedLogins(ctx, "u-bob", t0.Add(20*time.Minute), 3, 15*time.Minute)
	must(t, "failure after lockout", err)
	must(t, "reset after lockout", s.ResetFailedLogins(ctx, "u-bob", t0.Add(20*time.Minute)))
	u, err = s.GetUser(ctx, "u-bob")
	must(t, "get after reset", err)
	if u.FailedLogins != 0 || u.LockedUntil != nil {
		t.Fatalf("after reset: FailedLogins=%d LockedUntil=%v", u.FailedLogins, u.LockedUntil)
	}

	_, _, err = s.IncrementFailedLogins(ctx, "u-nobody", t0, 3, time.Minute)
	wantErr(t, "increment unknown user", err, storage.ErrNotFound)
	must(t, "reset unknown user", s.ResetFailedLogins(ctx, "u-nobody", t0))
}
