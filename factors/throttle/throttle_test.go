package throttle_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/internal/pgtest"
	"github.com/faceidp/faceidp/internal/testclock"
	"github.com/faceidp/faceidp/internal/teststore"
	"github.com/faceidp/faceidp/storage"
)

func newLimiter(t *testing.T, store storage.Throttles) (*throttle.Limiter, *testclock.Clock) {
	t.Helper()
	clock := testclock.New(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	l, err := throttle.New(store, throttle.DefaultRules(), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return l, clock
}

func TestPolicyDelays(t *testing.T) {
	face := throttle.DefaultRules().For(throttle.FactorFace)
	for f, want := range map[int]time.Duration{
		0: 0, 4: 0, 5: 30 * time.Second, 6: time.Minute, 7: 2 * time.Minute, 11: 32 * time.Minute,
		12: time.Hour, 49: time.Hour,
	} {
		if got := face.Delay(f); got != want {
			t.Errorf("face delay after %d failures = %s, want %s", f, got, want)
		}
	}
	if face.Disabled(49) || !face.Disabled(50) {
		t.Errorf("face disabled at 49/50: %v/%v, want false/true", face.Disabled(49), face.Disabled(50))
	}
	pwd := throttle.DefaultRules().For(throttle.FactorPassword)
	for f, want := range map[int]time.Duration{
		4: 0, 5: time.Minute, 9: time.Minute, 10: 5 * time.Minute, 14: 5 * time.Minute, 15: 30 * time.Minute, 100: 30 * time.Minute,
	} {
		if got := pwd.Delay(f); got != want {
			t.Errorf("password delay after %d failures = %s, want %s", f, got, want)
		}
	}
	if pwd.Disabled(1000) {
		t.Error("the password is never disabled: no hard lock anyone could trigger")
	}
	src := throttle.DefaultRules().Source
	if src.Delay(19) != 0 || src.Delay(20) != time.Minute || src.Delay(40) != 5*time.Minute || src.Delay(60) != 30*time.Minute {
		t.Errorf("source delays 19/20/40/60: %s %s %s %s", src.Delay(19), src.Delay(20), src.Delay(40), src.Delay(60))
	}
	// A passkey, added later, is throttled like a password from day one.
	if got := throttle.DefaultRules().For(throttle.FactorPasskey); got.Delay(5) != time.Minute {
		t.Errorf("unconfigured factor: delay after 5 = %s, want the password's 1m", got.Delay(5))
	}
	for d, want := range map[time.Duration]string{
		0: "1 second", 1500 * time.Millisecond: "2 seconds", 45 * time.Second: "45 seconds", time.Minute: "1 minute",
		3*time.Minute + time.Second: "4 minutes", time.Hour: "1 hour", 90 * time.Minute: "2 hours",
	} {
		if got := throttle.FormatWait(d); got != want {
			t.Errorf("FormatWait(%s) = %q, want %q", d, got, want)
		}
	}
}

func refusedOf(t *testing.T, err error) *throttle.Refused {
	t.Helper()
	var r *throttle.Refused
	if !errors.As(err, &r) {
		t.Fatalf("want *throttle.Refused, got %v", err)
	}
	return r
}

func fail(t *testing.T, l *throttle.Limiter, keys ...throttle.Key) []throttle.Result {
	t.Helper()
	a, err := l.Begin(context.Background(), keys...)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	res, err := a.Fail(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// The face counter: 5 free failures, then at least 30 s before each
// further attempt, doubling; the 50th failure disables face until an
// administrator clears it. A password success in between changes nothing.
func TestFaceThrottleGrowsAndDisables(t *testing.T) {
	store := teststore.SQLite(t)
	l, clock := newLimiter(t, store)
	ctx := context.Background()
	face := throttle.Account("u1", throttle.FactorFace)
	pwd := throttle.Account("u1", throttle.FactorPassword)
	for i := 1; i <= 5; i++ {
		if res := fail(t, l, face); i < 5 && res[0].Wait != 0 {
			t.Fatalf("failure %d already waits %s", i, res[0].Wait)
		} else if i == 5 && res[0].Wait != 30*time.Second {
			t.Fatalf("5th failure: wait %s, want 30s", res[0].Wait)
		}
		// A correct password between face attempts (a new sign-in) must not
		// reset the face count.
		a, err := l.Begin(ctx, pwd)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Succeed(ctx); err != nil {
			t.Fatal(err)
		}
	}
	_, err := l.Begin(ctx, face)
	r := refusedOf(t, err)
	if r.Disabled || !r.RetryAt.Equal(clock.Now().Add(30*time.Second)) {
		t.Fatalf("6th attempt right away: %+v, want a retry 30s after the 5th failure", r)
	}
	if err := l.Check(ctx, face); err == nil {
		t.Fatal("Check lets through what Begin refuses")
	}
	clock.Advance(30 * time.Second)
	if res := fail(t, l, face); res[0].Wait != time.Minute {
		t.Fatalf("6th failure: wait %s, want 1m (doubling)", res[0].Wait)
	}
	clock.Advance(59 * time.Second)
	refusedOf(t, l.Check(ctx, face))
	clock.Advance(time.Second)
	var last throttle.Result
	for i := 7; i <= 50; i++ {
		res := fail(t, l, face)
		last = res[0]
		clock.Advance(res[0].Wait)
	}
	if !last.Disabled || last.Failures != 50 {
		t.Fatalf("50th failure: %+v, want disabled", last)
	}
	clock.Advance(24 * time.Hour) // time does not re-enable it
	_, err = l.Begin(ctx, face)
	if r := refusedOf(t, err); !r.Disabled {
		t.Fatalf("after 50 failures: %+v, want disabled", r)
	}
	st, err := l.UserStatus(ctx, "u1")
	if err != nil || len(st) != 1 || !st[0].Disabled || st[0].Key.Factor != "face" {
		t.Fatalf("UserStatus = %+v, %v", st, err)
	}
	if n, err := store.DeleteUserThrottles(ctx, "u1", throttle.FactorFace); err != nil || n != 1 {
		t.Fatalf("admin clears face: %d %v", n, err)
	}
	if _, err := l.Begin(ctx, face); err != nil {
		t.Fatalf("after the administrator cleared it: %v", err)
	}
}

// Password counters: never disabled; forgotten after the window; a source
// address's success does not reset what others behind it failed.
func TestPasswordAndSourceCounters(t *testing.T) {
	store := teststore.SQLite(t)
	l, clock := newLimiter(t, store)
	ctx := context.Background()
	acct, src := throttle.Account("u1", throttle.FactorPassword), throttle.Source("192.0.2.7", throttle.FactorPassword)
	for range 5 {
		fail(t, l, acct, src)
	}
	_, err := l.Begin(ctx, acct, src)
	if r := refusedOf(t, err); r.Key != acct || !r.RetryAt.Equal(clock.Now().Add(time.Minute)) {
		t.Fatalf("6th password attempt: %+v", r)
	}
	// The refused attempt reserved nothing at the source.
	if th, _ := store.GetThrottle(ctx, src.Subject(), src.Factor); th.Pending != 0 || th.Failures != 5 {
		t.Fatalf("source after a refusal: pending %d failures %d", th.Pending, th.Failures)
	}
	// Another account behind the same address goes on; its success only
	// drops its own reservation at the source.
	other := throttle.Account("u2", throttle.FactorPassword)
	a, err := l.Begin(ctx, other, src)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Succeed(ctx); err != nil {
		t.Fatal(err)
	}
	if th, _ := store.GetThrottle(ctx, src.Subject(), src.Factor); th.Pending != 0 || th.Failures != 5 {
		t.Fatalf("source after another user's success: pending %d failures %d, want 0 5", th.Pending, th.Failures)
	}
	// A released attempt (nothing judged) counts nothing.
	clock.Advance(time.Minute)
	a, err = l.Begin(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	_ = a.Release(ctx)
	if th, _ := store.GetThrottle(ctx, acct.Subject(), acct.Factor); th.Failures != 5 || th.Pending != 0 {
		t.Fatalf("after a release: %+v", th)
	}
	// 24 h without a failure: forgotten.
	clock.Advance(24 * time.Hour)
	for i := 1; i <= 4; i++ {
		if res := fail(t, l, acct); res[0].Failures != i {
			t.Fatalf("after the window, failure %d counted as %d", i, res[0].Failures)
		}
	}
	// A success resets the account.
	a, _ = l.Begin(ctx, acct)
	_ = a.Succeed(ctx)
	if _, err := store.GetThrottle(ctx, acct.Subject(), acct.Factor); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("account counter after a success: %v", err)
	}
	// A reservation whose process died lapses after the lease.
	for range 4 {
		fail(t, l, acct)
	}
	if _, err := l.Begin(ctx, acct); err != nil { // never settled
		t.Fatal(err)
	}
	_, err = l.Begin(ctx, acct)
	if r := refusedOf(t, err); !r.InFlight {
		t.Fatalf("while the 5th attempt is in flight: %+v, want in-flight refusal", r)
	}
	clock.Advance(throttle.DefaultLease)
	if _, err := l.Begin(ctx, acct); err != nil {
		t.Fatalf("after the lease lapsed: %v", err)
	}
}

// Attempts racing on one counter, from two limiters over separate
// connection pools (two instances), get exactly the free attempts and no
// more, on SQLite and PostgreSQL.
func TestParallelAttemptsNeverSlipPastTheLimit(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) (storage.Throttles, storage.Throttles){
		"sqlite": func(t *testing.T) (storage.Throttles, storage.Throttles) {
			u := teststore.SQLiteURL(t)
			return teststore.Open(t, u), teststore.Open(t, u)
		},
		"postgres": func(t *testing.T) (storage.Throttles, storage.Throttles) {
			u := pgtest.SchemaURL(t)
			return teststore.Open(t, u), teststore.Open(t, u)
		},
	} {
		t.Run(name, func(t *testing.T) {
			s1, s2 := open(t)
			l1, clock := newLimiter(t, s1)
			l2, err := throttle.New(s2, throttle.DefaultRules(), clock.Now)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			key := throttle.Account("u1", throttle.FactorFace)
			const n = 16
			var (
				mu      sync.Mutex
				started int
				wg      sync.WaitGroup
			)
			gate := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					l := l1
					if i%2 == 1 {
						l = l2
					}
					<-gate
					a, err := l.Begin(ctx, key)
					if err != nil {
						refusedOf(t, err)
						return
					}
					mu.Lock()
					started++
					mu.Unlock()
					if _, err := a.Fail(ctx); err != nil {
						t.Error(err)
					}
				}()
			}
			close(gate)
			wg.Wait()
			th, err := s1.GetThrottle(ctx, key.Subject(), key.Factor)
			if err != nil {
				t.Fatal(err)
			}
			if started != throttle.DefaultFaceAfter || th.Failures != throttle.DefaultFaceAfter || th.Pending != 0 {
				t.Fatalf("%d racing attempts: %d started, %d failures stored (pending %d); want exactly %d",
					n, started, th.Failures, th.Pending, throttle.DefaultFaceAfter)
			}
		})
	}
}
