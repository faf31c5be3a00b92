// Package storagetest is the conformance suite every storage.Storage
// backend must pass. A backend's own test calls RunConformance with a
// constructor that returns a fresh, migrated, empty store for each test.
package storagetest

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/faceidp/faceidp/storage"
)

// RunConformance runs the whole suite as parallel subtests; newStore must
// return an empty, migrated store that no other test uses, and arrange its
// own cleanup.
func RunConformance(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Storage)
	}{
		{"Health", testHealth},
		{"MigrateIdempotent", testMigrateIdempotent},
		{"TimesRoundTripUTCMicroseconds", testTimesRoundTrip},
		{"UserCreateGet", testUserCreateGet},
		{"UserDuplicateRejectedNothingChanged", testUserDuplicate},
		{"UserLoginCaseInsensitive", testUserLogin},
		{"UserUpdate", testUserUpdate},
		{"UserList", testUserList},
		{"ClientCRUD", testClientCRUD},
		{"ClientDeleteRemovesItsTokensAndConsents", testClientDeleteCascade},
		{"AuthRequestCRUD", testAuthRequestCRUD},
		{"AuthRequestByCodeHash", testAuthRequestByCodeHash},
		{"AuthCodeRedeemOnceReuseRevokes", testAuthCodeRedeem},
		{"AuthCodeConcurrentRedeemOneWinner", testAuthCodeConcurrentRedeem},
	}
	tests = append(tests, moreTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// baseTime has nanoseconds and a non-UTC zone on purpose: backends must
// store UTC at microsecond precision.
func baseTime() time.Time {
	return time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("UTC+1", 3600))
}

func usec(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func ptr[T any](v T) *T { return &v }

// wantErr fails unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	timePtrType = reflect.TypeFor[*time.Time]()
)

// sameRecord compares two structs of the same type field by field. Times
// must be UTC and equal to want's at microsecond precision; fields named in
// skip are not compared.
func sameRecord(t *testing.T, what string, got, want any, skip ...string) {
	t.Helper()
	gv, wv := reflect.Indirect(reflect.ValueOf(got)), reflect.Indirect(reflect.ValueOf(want))
	if gv.Type() != wv.Type() {
		t.Fatalf("%s: comparing %s with %s", what, gv.Type(), wv.Type())
	}
	skipped := map[string]bool{}
	for _, s := range skip {
		skipped[s] = true
	}
	for i := range gv.NumField() {
		name := gv.Type().Field(i).Name
		if skipped[name] {
			continue
		}
		g, w := gv.Field(i), wv.Field(i)
		switch g.Type() {
		case timeType:
			sameTime(t, what+"."+name, g.Interface().(time.Time), w.Interface().(time.Time))
		case timePtrType:
			gp, wp := g.Interface().(*time.Time), w.Interface().(*time.Time)
			if (gp == nil) != (wp == nil) {
				t.Errorf("%s.%s: got %v, want %v", what, name, gp, wp)
			} else if gp != nil {
				sameTime(t, what+"."+name, *gp, *wp)
			}
		default:
			if !reflect.DeepEqual(g.Interface(), w.Interface()) {
				t.Errorf("%s.%s: got %#v, want %#v", what, name, g.Interface(), w.Interface())
			}
		}
	}
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(usec(want)) {
		t.Errorf("%s: got %s, want %s", what, got.Format(time.RFC3339Nano), usec(want).Format(time.RFC3339Nano))
	}
	if got.Location() != time.UTC {
		t.Errorf("%s: location %s, want UTC", what, got.Location())
	}
}

// concurrently runs op(0..n-1) on n goroutines released together, so they
// race on the database, and returns each call's error by index.
func concurrently(n int, op func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = op(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}
