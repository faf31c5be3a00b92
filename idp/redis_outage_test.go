package idp

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/faceidp/faceidp/internal/tcpproxy"
	"github.com/faceidp/faceidp/models"
)

// syncBuffer is a log destination tests read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Redis dies mid-run (a proxy in front of the shared server is stopped):
// the per-minute limits keep biting from process memory, the outage is
// logged once (not per request), /healthz still answers 200 but says so,
// the gauge drops to 0; when Redis answers again the limits go back to it,
// logged once.
func TestRedisOutageFallsBackToInProcessLimits(t *testing.T) {
	ru, err := url.Parse(testRedisURL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := tcpproxy.Start(t, ru.Host)
	viaProxy := *ru
	viaProxy.Host = proxy.Addr()
	logs := &syncBuffer{}
	e := newEnv(t, func(o *Options) {
		o.RateLimitRedisURL = viaProxy.String()
		o.LoginsPerUser = 3
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addUser("user-bob", "bob", "bob@example.com", "Bob", alicePW)
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	r := e.rp(t, "app", "app-secret")
	health := func() (int, string) {
		p := get(t, http.DefaultClient, e.issuer+"/healthz")
		return p.status, p.body
	}
	metric := func() string {
		p := get(t, http.DefaultClient, e.issuer+"/metrics")
		for _, l := range strings.Split(p.body, "\n") {
			if strings.HasPrefix(l, "faceidp_ratelimit_redis_up ") {
				return l
			}
		}
		return "(missing)"
	}
	if st, body := health(); st != http.StatusOK || body != "ok\n" || metric() != "faceidp_ratelimit_redis_up 1" {
		t.Fatalf("healthy: %d %q %s", st, body, metric())
	}

	proxy.Stop()
	const down = "rate limits: redis unreachable"
	// Three wrong passwords for bob are allowed, the fourth hits the
	// per-account limit of 3 a minute, counted in memory now.
	for i := 1; i <= 4; i++ {
		p, _ := e.signInPw(t, e.newBrowser(), r, "bob", "wrong")
		want := http.StatusUnauthorized
		if i == 4 {
			want = http.StatusTooManyRequests
		}
		if p.status != want {
			t.Fatalf("attempt %d with Redis down: %d, want %d\n%s", i, p.status, want, p.body)
		}
	}
	if n := strings.Count(logs.String(), down); n != 1 {
		t.Fatalf("outage logged %d times, want once:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "goroutine ") {
		t.Fatalf("a stack trace in the log:\n%s", logs.String())
	}
	if st, body := health(); st != http.StatusOK || !strings.Contains(body, "rate limits: redis unreachable, in-process fallback") || metric() != "faceidp_ratelimit_redis_up 0" {
		t.Fatalf("health during the outage: %d %q %s", st, body, metric())
	}

	proxy.Start()
	e.clock.Advance(redisProbeEvery)
	if st, body := health(); st != http.StatusOK || body != "ok\n" || metric() != "faceidp_ratelimit_redis_up 1" {
		t.Fatalf("health after Redis came back: %d %q %s", st, body, metric())
	}
	if n := strings.Count(logs.String(), "redis reachable again"); n != 1 {
		t.Fatalf("recovery logged %d times, want once:\n%s", n, logs.String())
	}
	// Back on Redis: alice's attempts count there (her key is fresh).
	if p, _ := e.signInPw(t, e.newBrowser(), r, "alice", alicePW); p.status/100 != 3 {
		t.Fatalf("sign-in after recovery: %d", p.status)
	}
	if n := strings.Count(logs.String(), down); n != 1 {
		t.Fatalf("outage logged %d times in all, want once:\n%s", n, logs.String())
	}
}
