package throttle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// Kinds of subject a counter belongs to.
const (
	KindAccount = "user"
	KindDevice  = "device"
	KindLogin   = "login"
	KindSource  = "ip"
)

// Key names one counter.
type Key struct {
	Kind   string // KindAccount, KindDevice, KindLogin or KindSource
	ID     string // user ID, device hash, login-name HMAC or address
	Factor string
	// UserID is the account the counter belongs to ("" for a source
	// address or an unknown login name).
	UserID string
}

// Account is the counter of a user's factor.
func Account(userID, factor string) Key {
	return Key{Kind: KindAccount, ID: userID, Factor: factor, UserID: userID}
}

// Device is the counter of a known device (a browser holding a device
// cookie of userID), identified by a hash of the cookie's nonce.
func Device(deviceHash, userID, factor string) Key {
	return Key{Kind: KindDevice, ID: deviceHash, Factor: factor, UserID: userID}
}

// Login is the counter of a login name that names no account; nameHMAC is
// a keyed hash of the normalised name, so the database does not hold the
// names people typed.
func Login(nameHMAC, factor string) Key {
	return Key{Kind: KindLogin, ID: nameHMAC, Factor: factor}
}

// Source is the counter of a source address.
func Source(addr, factor string) Key {
	return Key{Kind: KindSource, ID: addr, Factor: factor}
}

// Subject is the stored subject of the counter.
func (k Key) Subject() string { return k.Kind + ":" + k.ID }

// ParseSubject splits a stored subject into kind and ID.
func ParseSubject(subject string) (kind, id string) {
	for i := 0; i < len(subject); i++ {
		if subject[i] == ':' {
			return subject[:i], subject[i+1:]
		}
	}
	return "", subject
}

// Defaults of the Limiter.
const (
	// DefaultLease is how long a reserved attempt holds its place when its
	// process dies before settling it.
	DefaultLease = 2 * time.Minute
	// InFlightRetry is the wait suggested to an attempt refused because
	// another attempt on the same counter is being checked.
	InFlightRetry = 2 * time.Second
)

// Limiter reserves, counts and resets attempts.
type Limiter struct {
	store storage.Throttles
	rules Rules
	now   func() time.Time
	lease time.Duration
}

// New returns a Limiter over store with rules and the clock now.
func New(store storage.Throttles, rules Rules, now func() time.Time) (*Limiter, error) {
	if store == nil || now == nil {
		return nil, errors.New("throttle: a store and a clock are required")
	}
	if err := rules.Validate(); err != nil {
		return nil, fmt.Errorf("throttle: %w", err)
	}
	return &Limiter{store: store, rules: rules, now: now, lease: DefaultLease}, nil
}

// Rules returns the limiter's rules.
func (l *Limiter) Rules() Rules { return l.rules }

// Policy is the policy of a counter.
func (l *Limiter) Policy(k Key) Policy {
	if k.Kind == KindSource {
		return l.rules.Source
	}
	return l.rules.For(k.Factor)
}

// Refused is the error of an attempt that must not be made now.
type Refused struct {
	Key Key
	// Disabled: the factor is disabled for the user until an administrator
	// (or a recovery path) clears the counter; RetryAt is zero then.
	Disabled bool
	// RetryAt is when an attempt may be made again.
	RetryAt time.Time
	// InFlight: another attempt on this counter is being checked.
	InFlight bool
	// Failures is the counter's consecutive failures.
	Failures int
}

func (e *Refused) Error() string {
	if e.Disabled {
		return fmt.Sprintf("%s disabled for %s after %d failed attempts", e.Key.Factor, e.Key.Kind, e.Failures)
	}
	return fmt.Sprintf("%s throttled for %s until %s (%d failed attempts)", e.Key.Factor, e.Key.Kind, e.RetryAt.UTC().Format(time.RFC3339), e.Failures)
}

// Wait is how long from now until RetryAt, at least a second.
func (e *Refused) Wait(now time.Time) time.Duration {
	return max(e.RetryAt.Sub(now), time.Second)
}

// errStopped marks a refusal inside UpdateThrottle (nothing is stored).
type errStopped struct{ r *Refused }

func (e *errStopped) Error() string { return e.r.Error() }

// judge brings t up to date at now (lapsed reservations, forgotten
// failures) and decides whether one more attempt may start.
func judge(t *models.FactorThrottle, p Policy, k Key, now time.Time) *Refused {
	if t.Pending > 0 && t.PendingUntil != nil && !now.Before(*t.PendingUntil) {
		t.Pending, t.PendingUntil = 0, nil
	}
	if t.Pending < 0 {
		t.Pending = 0
	}
	if p.Window > 0 && t.Pending == 0 && t.LastFailureAt != nil && !now.Before(t.LastFailureAt.Add(p.Window)) {
		t.Failures, t.LastFailureAt = 0, nil
	}
	if p.Disabled(t.Failures) {
		return &Refused{Key: k, Disabled: true, Failures: t.Failures}
	}
	if t.Failures+t.Pending < p.After {
		return nil // free attempts, however many are in flight
	}
	// From here every attempt may start a wait: one at a time.
	if t.Pending > 0 {
		retry := now.Add(InFlightRetry)
		if t.PendingUntil != nil && t.PendingUntil.Before(retry) {
			retry = *t.PendingUntil
		}
		return &Refused{Key: k, RetryAt: retry, InFlight: true, Failures: t.Failures}
	}
	if d := p.Delay(t.Failures); d > 0 && t.LastFailureAt != nil {
		if until := t.LastFailureAt.Add(d); now.Before(until) {
			return &Refused{Key: k, RetryAt: until, Failures: t.Failures}
		}
	}
	return nil
}

// retain sets when the counter may be deleted: never while a factor is
// counted without a window, else when its window and reservations end.
func retain(t *models.FactorThrottle, p Policy, now time.Time) {
	var exp time.Time
	switch {
	case t.Failures > 0 && p.Window == 0:
		t.ExpiresAt = nil
		return
	case t.Failures > 0 && t.LastFailureAt != nil:
		exp = t.LastFailureAt.Add(p.Window)
	default:
		exp = now
	}
	if t.Pending > 0 && t.PendingUntil != nil && t.PendingUntil.After(exp) {
		exp = *t.PendingUntil
	}
	t.ExpiresAt = &exp
}

// Check reports, without reserving anything, whether an attempt counted
// in keys would be refused now: nil, or the *Refused of the first counter
// that refuses (a disabled one first).
func (l *Limiter) Check(ctx context.Context, keys ...Key) error {
	now := l.now()
	var first *Refused
	for _, k := range keys {
		t, err := l.store.GetThrottle(ctx, k.Subject(), k.Factor)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("throttle: read %s counter: %w", k.Factor, err)
		}
		if r := judge(t, l.Policy(k), k, now); r != nil && !r.InFlight {
			if r.Disabled {
				return r
			}
			if first == nil || r.RetryAt.After(first.RetryAt) {
				first = r
			}
		}
	}
	if first != nil {
		return first
	}
	return nil
}

// Attempt is a reserved attempt; settle it with exactly one of Fail,
// Succeed or Release (extra calls do nothing).
type Attempt struct {
	l       *Limiter
	keys    []Key
	settled bool
}

// Keys are the counters the attempt counts in.
func (a *Attempt) Keys() []Key { return a.keys }

// Begin reserves one attempt in every counter of keys, in order. If a
// counter refuses, the reservations already made are released and the
// error is that counter's *Refused. Concurrent Begins on one counter, from
// any instance, are decided one after the other, so together they never
// get more attempts than the policy allows.
func (l *Limiter) Begin(ctx context.Context, keys ...Key) (*Attempt, error) {
	a := &Attempt{l: l}
	for _, k := range keys {
		p := l.Policy(k)
		_, err := l.store.UpdateThrottle(ctx, k.Subject(), k.Factor, func(t *models.FactorThrottle) error {
			now := l.now()
			if r := judge(t, p, k, now); r != nil {
				return &errStopped{r}
			}
			t.UserID = k.UserID
			t.Pending++
			until := now.Add(l.lease)
			t.PendingUntil = &until
			retain(t, p, now)
			return nil
		})
		if err != nil {
			_ = a.Release(context.WithoutCancel(ctx))
			var stop *errStopped
			if errors.As(err, &stop) {
				return nil, stop.r
			}
			return nil, fmt.Errorf("throttle: reserve %s attempt: %w", k.Factor, err)
		}
		a.keys = append(a.keys, k)
	}
	return a, nil
}

// Result is a counter after a failure.
type Result struct {
	Key      Key
	Failures int
	// Wait is how long the next attempt must wait (0 while failures are
	// free); RetryAt is when it may be made.
	Wait    time.Duration
	RetryAt time.Time
	// Disabled: this failure disabled the factor for the user.
	Disabled bool
}

// Fail counts the attempt as a failure in every counter and returns them.
func (a *Attempt) Fail(ctx context.Context) ([]Result, error) {
	if a == nil || a.settled {
		return nil, nil
	}
	a.settled = true
	var out []Result
	var errs []error
	for _, k := range a.keys {
		p := a.l.Policy(k)
		var now time.Time
		t, err := a.l.store.UpdateThrottle(ctx, k.Subject(), k.Factor, func(t *models.FactorThrottle) error {
			now = a.l.now()
			t.UserID = k.UserID
			t.Pending = max(t.Pending-1, 0)
			if t.Pending == 0 {
				t.PendingUntil = nil
			}
			t.Failures++
			t.LastFailureAt = &now
			retain(t, p, now)
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("throttle: count %s failure: %w", k.Factor, err))
			continue
		}
		r := Result{Key: k, Failures: t.Failures, Disabled: p.Disabled(t.Failures), Wait: p.Delay(t.Failures)}
		if !r.Disabled && r.Wait > 0 {
			r.RetryAt = now.Add(r.Wait)
		} else {
			r.Wait = 0
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// Succeed ends the attempt as passed: the counters of the account, device
// or login name start again from zero; a source address counter only
// drops the reservation (one user's success says nothing of the others
// behind the same address).
func (a *Attempt) Succeed(ctx context.Context) error {
	if a == nil || a.settled {
		return nil
	}
	a.settled = true
	var errs []error
	for _, k := range a.keys {
		if k.Kind == KindSource {
			errs = append(errs, a.l.release(ctx, k))
			continue
		}
		if err := a.l.store.DeleteThrottle(ctx, k.Subject(), k.Factor); err != nil {
			errs = append(errs, fmt.Errorf("throttle: reset %s counter: %w", k.Factor, err))
		}
	}
	return errors.Join(errs...)
}

// Release ends the attempt without a decision (the input could not be
// judged, the server failed): nothing is counted.
func (a *Attempt) Release(ctx context.Context) error {
	if a == nil || a.settled {
		return nil
	}
	a.settled = true
	var errs []error
	for _, k := range a.keys {
		errs = append(errs, a.l.release(ctx, k))
	}
	return errors.Join(errs...)
}

func (l *Limiter) release(ctx context.Context, k Key) error {
	p := l.Policy(k)
	_, err := l.store.UpdateThrottle(ctx, k.Subject(), k.Factor, func(t *models.FactorThrottle) error {
		t.UserID = k.UserID
		t.Pending = max(t.Pending-1, 0)
		if t.Pending == 0 {
			t.PendingUntil = nil
		}
		retain(t, p, l.now())
		return nil
	})
	if err != nil {
		return fmt.Errorf("throttle: release %s attempt: %w", k.Factor, err)
	}
	return nil
}

// Reset clears one counter (a success outside an Attempt).
func (l *Limiter) Reset(ctx context.Context, k Key) error {
	if err := l.store.DeleteThrottle(ctx, k.Subject(), k.Factor); err != nil {
		return fmt.Errorf("throttle: reset %s counter: %w", k.Factor, err)
	}
	return nil
}

// Status is a counter as an administrator sees it.
type Status struct {
	Key      Key
	Failures int
	// RetryAt is when the next attempt may be made, zero when it may now.
	RetryAt  time.Time
	Disabled bool
}

// UserStatus returns the counters of a user that hold anything back
// (failures counted), with the state at now.
func (l *Limiter) UserStatus(ctx context.Context, userID string) ([]Status, error) {
	ts, err := l.store.ListUserThrottles(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("throttle: %w", err)
	}
	now := l.now()
	var out []Status
	for i := range ts {
		t := &ts[i]
		kind, id := ParseSubject(t.Subject)
		k := Key{Kind: kind, ID: id, Factor: t.Factor, UserID: t.UserID}
		t.Pending = 0 // an administrator asks about failures, not attempts in flight
		r := judge(t, l.Policy(k), k, now)
		if t.Failures == 0 {
			continue
		}
		st := Status{Key: k, Failures: t.Failures}
		if r != nil {
			st.Disabled, st.RetryAt = r.Disabled, r.RetryAt
		}
		out = append(out, st)
	}
	return out, nil
}
