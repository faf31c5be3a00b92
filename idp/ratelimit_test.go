package idp

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/faceidp/faceidp/models"
)

const defaultRedisURL = "redis://127.0.0.1:6379/0"

// testRedisURL is the Redis server for rate-limit tests. An unreachable
// server fails the test (New pings it), it is never skipped silently.
func testRedisURL() string {
	if u := os.Getenv("FACEIDP_TEST_REDIS_URL"); u != "" {
		return u
	}
	return defaultRedisURL
}

// With a shared Redis store, attempts spread over two instances count
// together: an attacker cannot multiply the per-user limit by the number
// of instances behind the load balancer.
func TestRateLimitSharedAcrossInstancesViaRedis(t *testing.T) {
	shared := func(o *Options) {
		o.RateLimitRedisURL = testRedisURL()
		o.LoginsPerUser = 3
		o.LoginsPerIP = 1000
	}
	e := newEnv(t, shared)
	bURL, _ := e.secondInstance(t)
	e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	r := e.rp(t, "app", "app-secret")

	// Each attempt gets its login form from instance A; the POST goes to
	// the instance named.
	try := func(base string) page {
		br := e.newBrowser()
		f := parseForm(t, get(t, br, r.start().url).body)
		f.fields.Set("username", "alice")
		f.fields.Set("password", "not alice's password")
		return postForm(t, br, base+f.action, f.fields)
	}
	for i, base := range []string{e.issuer, e.issuer, bURL} {
		if p := try(base); p.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401 (wrong password, under the limit)", i+1, p.status)
		}
	}
	p := try(bURL)
	if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "Too many sign-in attempts. Try again in") {
		t.Fatalf("4th attempt over two instances with a limit of 3: %d, want 429\n%s", p.status, p.body)
	}
}

func TestRateLimitRedisURLErrors(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ url, want string }{
		{"http://127.0.0.1:6379", "RateLimitRedisURL"},
		{"redis://:hunter2@127.0.0.1:1/0", "ping"},
	} {
		o := e.opts
		o.RateLimitRedisURL = tc.url
		_, err := New(context.Background(), o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("RateLimitRedisURL %q: error %v, want one mentioning %q", tc.url, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error shows the Redis password: %v", err)
		}
	}
}
