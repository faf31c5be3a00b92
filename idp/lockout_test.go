package idp

import (
	"net/http"
	"sync"
	"testing"

	"github.com/faceidp/faceidp/models"
)

// Wrong passwords posted at the same time (say, to two instances) must each
// count towards the lockout: a read-modify-write of the user row would let
// an attacker guess several times for the price of one.
func TestConcurrentFailuresAllCount(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.LockoutThreshold = 100; o.LoginsPerUser = 100 })
	alice := e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	r := e.rp(t, "app", "app-secret")

	const n = 8
	type attempt struct {
		b    *http.Client
		form htmlForm
	}
	attempts := make([]attempt, n)
	for i := range attempts {
		b := e.newBrowser()
		f := parseForm(t, get(t, b, r.start().url).body)
		f.fields.Set("username", "alice")
		f.fields.Set("password", "wrong password "+string(rune('a'+i)))
		attempts[i] = attempt{b, f}
	}
	var wg sync.WaitGroup
	status := make([]int, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i, a := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := a.b.PostForm(e.abs(a.form.action), a.form.fields)
			if err != nil {
				errs[i] = err
				return
			}
			resp.Body.Close()
			status[i] = resp.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	for i, st := range status {
		if errs[i] != nil {
			t.Fatalf("attempt %d: %v", i, errs[i])
		}
		if st != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d, want 401", i, st)
		}
	}
	u, err := e.store.GetUser(e.ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.FailedLogins != n {
		t.Fatalf("%d concurrent wrong passwords counted as %d", n, u.FailedLogins)
	}
}
