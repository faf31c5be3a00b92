package idp

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/internal/logintest"
	"github.com/faceidp/faceidp/internal/teststore"
	"github.com/faceidp/faceidp/keyring"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage/sqlstore"
)

// benchServer is a provider on loopback over a fresh SQLite database.
func benchServer(b *testing.B) (*Server, *sqlstore.Store, string) {
	ctx := context.Background()
	store := teststore.SQLite(b)
	kr, err := keyring.New([]keyring.Key{{ID: "k1", Secret: logintest.RandomBytes(b, 32)}}, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	h := &swapHandler{}
	srv := httptest.NewUnstartedServer(h)
	var tokenKey [32]byte
	copy(tokenKey[:], logintest.RandomBytes(b, 32))
	s, err := New(ctx, Options{
		Issuer: "http://" + srv.Listener.Addr().String(), Store: store, Keyring: kr,
		CookieHashKey: logintest.RandomBytes(b, 32), CookieBlockKey: logintest.RandomBytes(b, 32), TokenKey: tokenKey,
		LoginsPerIP: 1 << 30, LoginsPerUser: 1 << 30, AuthorizePerIP: 1 << 30,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	h.h = s.Handler()
	srv.Start()
	b.Cleanup(srv.Close)
	return s, store, srv.URL
}

// cpuPerOp reports the process CPU per operation besides wall time: the
// machine may be shared, CPU per request is what the changes move. It
// includes the client's side of each request, which is the same before
// and after a change.
func cpuPerOp(b *testing.B, fn func(b *testing.B)) {
	var r0, r1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	fn(b)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	cpu := time.Duration(r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkSignIn is a whole public-client password sign-in (authorize,
// login form, password, code, token) in a fresh browser, argon2id
// included:
//
//	go test ./idp -run '^$' -bench SignIn -benchtime 100x -cpuprofile cpu.out
func BenchmarkSignIn(b *testing.B) {
	s, store, base := benchServer(b)
	ctx := context.Background()
	hasher, err := password.New(password.Params{}, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	hash, err := hasher.Hash(alicePW)
	if err != nil {
		b.Fatal(err)
	}
	if err := store.CreateUser(ctx, &models.User{ID: "u1", Username: "alice", Email: "alice@example.com", PasswordHash: hash}); err != nil {
		b.Fatal(err)
	}
	if err := store.CreateClient(ctx, &models.Client{ID: "spa", RedirectURIs: []string{rpRedirect}, SkipConsent: true}); err != nil {
		b.Fatal(err)
	}
	_ = s
	cfg := oauth2.Config{ClientID: "spa", RedirectURL: rpRedirect, Scopes: []string{"openid", "profile"},
		Endpoint: oauth2.Endpoint{AuthURL: base + "/authorize", TokenURL: base + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
	cpuPerOp(b, func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				br := logintest.NewBrowser(base)
				verifier := oauth2.GenerateVerifier()
				resp, err := br.Get(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				f := parseForm(b, string(body))
				f.fields.Set("username", "alice")
				f.fields.Set("password", alicePW)
				resp, err = br.PostForm(base+f.action, f.fields)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				loc, _ := url.Parse(resp.Header.Get("Location"))
				if _, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier)); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkHot runs the protocol hot path in process, over real HTTP on
// loopback, for CPU profiles (docs/performance.md):
//
//	go test ./idp -run '^$' -bench 'Hot/refresh' -benchtime 5s -cpuprofile cpu.out
//	go tool pprof -top cpu.out
//
// Tokens are written to the store directly, so a profile shows the
// endpoint and nothing of the sign-in. The side-by-side comparison with
// zitadel/oidc's example server is scripts/bench-protocol.
func BenchmarkHot(b *testing.B) {
	s, store, base := benchServer(b)
	ctx := context.Background()
	now := time.Now()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(store.CreateUser(ctx, &models.User{ID: "u1", Username: "alice", Email: "alice@example.com", Name: "Alice"}))
	secret, err := s.secrets.Generate()
	must(err)
	hash, err := s.secrets.Hash("app", secret)
	must(err)
	must(store.CreateClient(ctx, &models.Client{ID: "app", SecretHash: hash, RedirectURIs: []string{rpRedirect}, IDTokenAlg: AlgES256}))
	scopes := []string{"openid", "profile", "email", "offline_access"}
	at := &models.AccessToken{ID: "at1", ClientID: "app", UserID: "u1", Scopes: scopes, Audience: []string{"app"},
		AuthTime: now, AMR: []string{"pwd"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	must(store.CreateAccessToken(ctx, at))
	bearer, err := s.provider.Crypto().Encrypt("at1:u1")
	must(err)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	do := func(req *http.Request) *http.Response {
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		return resp
	}
	check := func(resp *http.Response) {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	run := func(name string, fn func(b *testing.B)) {
		b.Run(name, func(b *testing.B) { cpuPerOp(b, fn) })
	}
	run("discovery", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest(http.MethodGet, base+"/.well-known/openid-configuration", nil)
				check(do(req))
			}
		})
	})
	run("jwks", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest(http.MethodGet, base+"/keys", nil)
				check(do(req))
			}
		})
	})
	run("userinfo", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest(http.MethodGet, base+"/userinfo", nil)
				req.Header.Set("Authorization", "Bearer "+bearer)
				check(do(req))
			}
		})
	})
	post := func(path string, form url.Values) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("app", secret)
		return req
	}
	run("introspection", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				check(do(post("/oauth/introspect", url.Values{"token": {bearer}})))
			}
		})
	})
	run("refresh", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			// Each goroutine follows its own rotating chain.
			token, _ := randomID(rand.Reader)
			id, _ := randomID(rand.Reader)
			must(store.CreateRefreshToken(ctx, &models.RefreshToken{ID: id, TokenHash: hashToken(token), FamilyID: id, ClientID: "app", UserID: "u1",
				Scopes: scopes, Audience: []string{"app"}, AuthTime: now, AMR: []string{"pwd"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, nil))
			for pb.Next() {
				resp := do(post("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}))
				var tok struct {
					RefreshToken string `json:"refresh_token"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&tok)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || tok.RefreshToken == "" {
					b.Fatalf("refresh: %d", resp.StatusCode)
				}
				token = tok.RefreshToken
			}
		})
	})
}
