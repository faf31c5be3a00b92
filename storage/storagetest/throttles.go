package storagetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// testThrottleCRUD: a counter is created by its first update, read back
// with UTC microsecond times, listed and deleted per user and factor.
func testThrottleCRUD(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	_, err := s.GetThrottle(ctx, "user:u1", "face")
	wantErr(t, "get missing throttle", err, storage.ErrNotFound)

	got, err := s.UpdateThrottle(ctx, "user:u1", "face", func(th *models.FactorThrottle) error {
		if th.Subject != "user:u1" || th.Factor != "face" || th.Failures != 0 || th.LastFailureAt != nil {
			t.Errorf("new counter handed to fn: %+v", th)
		}
		th.UserID, th.Failures, th.LastFailureAt, th.ExpiresAt = "u1", 1, ptr(t0), ptr(t0.Add(time.Hour))
		th.Subject, th.Factor = "changed", "changed" // ignored
		return nil
	})
	must(t, "create by update", err)
	want := &models.FactorThrottle{Subject: "user:u1", Factor: "face", UserID: "u1", Failures: 1, LastFailureAt: ptr(t0), ExpiresAt: ptr(t0.Add(time.Hour))}
	sameRecord(t, "update result", got, want, "UpdatedAt")
	stored, err := s.GetThrottle(ctx, "user:u1", "face")
	must(t, "get", err)
	sameRecord(t, "stored counter", stored, want, "UpdatedAt")

	// fn's error aborts: nothing stored, the error returned as is.
	boom := errors.New("refused")
	_, err = s.UpdateThrottle(ctx, "user:u1", "face", func(th *models.FactorThrottle) error {
		th.Failures = 99
		return boom
	})
	if err != boom {
		t.Fatalf("fn error: got %v, want it unwrapped", err)
	}
	_, err = s.UpdateThrottle(ctx, "ip:192.0.2.1", "pwd", func(th *models.FactorThrottle) error { return boom })
	if err != boom {
		t.Fatalf("fn error on a new counter: got %v", err)
	}
	if _, err := s.GetThrottle(ctx, "ip:192.0.2.1", "pwd"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("an aborted first update left a counter behind: %v", err)
	}
	stored, _ = s.GetThrottle(ctx, "user:u1", "face")
	if stored.Failures != 1 {
		t.Fatalf("aborted update stored Failures=%d", stored.Failures)
	}

	for _, k := range [][3]string{{"user:u1", "pwd", "u1"}, {"device:d1", "pwd", "u1"}, {"user:u2", "face", "u2"}, {"ip:192.0.2.1", "pwd", ""}} {
		_, err := s.UpdateThrottle(ctx, k[0], k[1], func(th *models.FactorThrottle) error {
			th.UserID, th.Failures = k[2], 3
			return nil
		})
		must(t, "update "+k[0], err)
	}
	list, err := s.ListUserThrottles(ctx, "u1")
	must(t, "list", err)
	var keys []string
	for _, th := range list {
		keys = append(keys, th.Factor+" "+th.Subject)
	}
	if !slices.Equal(keys, []string{"face user:u1", "pwd device:d1", "pwd user:u1"}) {
		t.Fatalf("ListUserThrottles(u1) = %v", keys)
	}
	n, err := s.DeleteUserThrottles(ctx, "u1", "pwd")
	must(t, "delete u1 pwd", err)
	if n != 2 {
		t.Fatalf("DeleteUserThrottles(u1, pwd) deleted %d, want 2", n)
	}
	if list, _ = s.ListUserThrottles(ctx, "u1"); len(list) != 1 || list[0].Factor != "face" {
		t.Fatalf("after deleting u1's pwd counters: %v", list)
	}
	n, err = s.DeleteUserThrottles(ctx, "u2", "")
	must(t, "delete u2", err)
	if n != 1 {
		t.Fatalf("DeleteUserThrottles(u2, all) deleted %d, want 1", n)
	}
	// Counters of no user are not anyone's to delete.
	if n, _ := s.DeleteUserThrottles(ctx, "", ""); n != 0 {
		t.Fatalf("DeleteUserThrottles(\"\") deleted %d counters of no user", n)
	}
	must(t, "delete one", s.DeleteThrottle(ctx, "ip:192.0.2.1", "pwd"))
	must(t, "delete missing", s.DeleteThrottle(ctx, "ip:192.0.2.1", "pwd"))
	_, err = s.GetThrottle(ctx, "ip:192.0.2.1", "pwd")
	wantErr(t, "get deleted", err, storage.ErrNotFound)
}

// testThrottleConcurrent: updates of one counter from many goroutines (as
// from several instances) never lose a count, and a limit enforced inside
// fn holds exactly: of 16 racing attempts with a limit of 5, exactly 5
// are counted and 11 refused.
func testThrottleConcurrent(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	const n = 16
	errs := concurrently(n, func(int) error {
		_, err := s.UpdateThrottle(ctx, "user:u1", "pwd", func(th *models.FactorThrottle) error {
			th.Failures++
			return nil
		})
		return err
	})
	for _, err := range errs {
		must(t, "concurrent increment", err)
	}
	th, err := s.GetThrottle(ctx, "user:u1", "pwd")
	must(t, "get", err)
	if th.Failures != n {
		t.Fatalf("%d concurrent increments counted as %d", n, th.Failures)
	}

	const limit = 5
	refused := errors.New("limit reached")
	errs = concurrently(n, func(int) error {
		_, err := s.UpdateThrottle(ctx, "user:u1", "face", func(th *models.FactorThrottle) error {
			if th.Failures >= limit {
				return refused
			}
			th.Failures++
			return nil
		})
		return err
	})
	var ok, no int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case err == refused:
			no++
		default:
			t.Fatalf("racing limited update: %v", err)
		}
	}
	th, _ = s.GetThrottle(ctx, "user:u1", "face")
	if ok != limit || no != n-limit || th.Failures != limit {
		t.Fatalf("%d racing attempts under a limit of %d: %d counted, %d refused, stored %d", n, limit, ok, no, th.Failures)
	}
}

// testThrottleUpdateRacingReset: a counter reset (deleted) while other
// attempts update it, as when one sign-in of an account succeeds while
// others are being checked, never makes an update fail: it counts on a
// fresh counter instead. (On PostgreSQL the row a concurrent delete
// removed between the update's insert-if-missing and its locking read
// used to be "not found", a 503 for the person signing in.)
func testThrottleUpdateRacingReset(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	const rounds, n = 20, 8
	for r := range rounds {
		errs := concurrently(n, func(i int) error {
			if i%4 == 0 {
				return s.DeleteThrottle(ctx, "user:race", "pwd")
			}
			_, err := s.UpdateThrottle(ctx, "user:race", "pwd", func(th *models.FactorThrottle) error {
				th.Pending++
				return nil
			})
			return err
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, racer %d: %v", r, i, err)
			}
		}
	}
}
