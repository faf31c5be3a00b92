package idp

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func TestClientIPThroughTrustedProxies(t *testing.T) {
	proxies, err := ParseTrustedProxies([]string{"10.0.0.0/8", "192.0.2.10", "fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, header, peer, value, want string
	}{
		{"untrusted peer: header ignored", HeaderXForwardedFor, "203.0.113.5:4000", "198.51.100.1", "203.0.113.5"},
		{"trusted peer: the client it names", HeaderXForwardedFor, "10.1.2.3:4000", "198.51.100.1", "198.51.100.1"},
		{"spoofed entry left of the real client", HeaderXForwardedFor, "10.1.2.3:4000", "6.6.6.6, 198.51.100.1", "198.51.100.1"},
		{"several trusted hops", HeaderXForwardedFor, "192.0.2.10:4000", "198.51.100.1, 10.9.9.9", "198.51.100.1"},
		{"only trusted hops: the peer", HeaderXForwardedFor, "10.1.2.3:4000", "10.9.9.9", "10.1.2.3"},
		{"garbage: the peer", HeaderXForwardedFor, "10.1.2.3:4000", "not-an-ip", "10.1.2.3"},
		{"no header: the peer", HeaderXForwardedFor, "10.1.2.3:4000", "", "10.1.2.3"},
		{"IPv6 proxy", HeaderXForwardedFor, "[fd00::1]:4000", "2001:db8::7", "2001:db8::7"},
		{"RFC 7239", HeaderForwarded, "10.1.2.3:4000", `for=6.6.6.6, for="[2001:db8::7]:4711";proto=https, for=10.9.9.9`, "2001:db8::7"},
		{"RFC 7239 from an untrusted peer", HeaderForwarded, "203.0.113.5:4000", "for=198.51.100.1", "203.0.113.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := newClientIPResolver(proxies, tc.header)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.peer
			if tc.value != "" {
				r.Header.Set(tc.header, tc.value)
			}
			// The header not configured is never read.
			r.Header.Set(map[string]string{HeaderXForwardedFor: HeaderForwarded, HeaderForwarded: HeaderXForwardedFor}[tc.header], "for=7.7.7.7")
			if got := res.clientIP(r); got != tc.want {
				t.Fatalf("client IP = %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := ParseTrustedProxies([]string{"10.0.0.0/33"}); err == nil {
		t.Error("a bad CIDR range was accepted")
	}
}

// End to end: from an untrusted peer a spoofed X-Forwarded-For is ignored
// (the audit records the peer and the rate limit counts the peer); from a
// trusted proxy each client behind it is told apart.
func TestTrustedProxiesForRateLimitsAndAudit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted []string
		wantIP  string
		limited bool // the second client shares the first's bucket
	}{
		{"untrusted peer", []string{"10.0.0.0/8"}, "127.0.0.1", true},
		{"trusted proxy", []string{"127.0.0.0/8"}, "198.51.100.1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxies, _ := ParseTrustedProxies(tc.trusted)
			e := newEnv(t, func(o *Options) { o.TrustedProxies = proxies; o.LoginsPerIP = 2 })
			e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
			e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
			r := e.rp(t, "app", "app-secret")
			try := func(xff string) page {
				b := e.newBrowser()
				f := parseForm(t, get(t, b, r.start().url).body)
				f.fields.Set("username", "alice")
				f.fields.Set("password", "wrong")
				req, _ := http.NewRequest(http.MethodPost, e.abs(f.action), stringsReader(f.fields.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Forwarded-For", xff)
				return do(t, b, req)
			}
			for i := range 2 {
				if p := try("6.6.6.6, 198.51.100.1"); p.status != http.StatusUnauthorized {
					t.Fatalf("attempt %d: %d", i+1, p.status)
				}
			}
			evs, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{Type: "login.pwd"})
			if len(evs) == 0 || evs[0].RemoteIP != tc.wantIP {
				t.Fatalf("audit address %+v, want %s", evs, tc.wantIP)
			}
			p := try("198.51.100.2")
			if got := p.status == http.StatusTooManyRequests; got != tc.limited {
				t.Fatalf("another client behind the proxy: %d (limited %v, want %v)", p.status, got, tc.limited)
			}
		})
	}
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
