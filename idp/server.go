// Package idp is faceidp's OpenID Provider: the zitadel/oidc op.Provider
// over an op.Storage adapter (opstorage.go), the hosted login UI under
// /login/ (login.go), the login flow state machine (flow.go) that second
// factors plug into (factor.go), and signing key management (keys.go).
package idp

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/csrf"
	"github.com/gorilla/sessions"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/cors"
	"github.com/ulule/limiter/v3"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/idp/clientsecret"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
	"github.com/faceidp/faceidp/templates"
)

// Server is a running provider. Build it with New and serve Handler().
type Server struct {
	opts     Options
	store    storage.Storage
	issuer   string
	insecure bool // plain-http loopback issuer
	clock    func() time.Time
	rand     interface{ Read([]byte) (int, error) }
	log      *slog.Logger

	keys     *keyManager
	hasher   *password.Hasher
	secrets  *clientsecret.Hasher
	provider *op.Provider
	tmpl     *templates.Set
	cookies  *sessions.CookieStore
	rlStore  limiter.Store
	rlRedis  *fallbackStore // nil without Redis
	ipLimit  *limiter.Limiter
	usrLimit *limiter.Limiter
	closeRL  func() error
	throttle *throttle.Limiter
	clientIP *clientIPResolver
	// deviceKey authenticates device cookies; loginKey names the throttle
	// counters of login names that are no account. Both are derived from
	// CookieHashKey, so every instance has the same.
	deviceKey []byte
	loginKey  []byte
	factors   map[string]SecondFactor
	// firstFactors are the first factors served by their own surface, by
	// policy name (the password is served by the provider itself).
	firstFactors map[string]FirstFactor
	metrics      *metrics
	handler      http.Handler

	// Failed client authentications per address and per client, and
	// /authorize requests per address (clientauth.go, authorize.go).
	authIPLimit     *limiter.Limiter
	authClientLimit *limiter.Limiter
	authorizeLimit  *limiter.Limiter
	// held bounds the rate-limited responses held back at once.
	held chan struct{}
	// discoveryDoc is the discovery document, encoded once.
	discoveryDoc []byte
	clients      clientCache
	outageLog    sampledLog
	limiterLog   sampledLog
}

type metrics struct {
	reg        *prometheus.Registry
	logins     *prometheus.CounterVec
	tokens     *prometheus.CounterVec
	throttle   *prometheus.CounterVec
	redisUp    prometheus.Gauge
	clientAuth *prometheus.CounterVec
	refused    *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faceidp_login_attempts_total",
			Help: "Login factor attempts by factor and outcome.",
		}, []string{"factor", "outcome"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faceidp_tokens_issued_total",
			Help: "Tokens issued by type.",
		}, []string{"type"}),
		throttle: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faceidp_throttle_decisions_total",
			Help: "Throttle decisions by factor, counter (account, device, source) and decision (refused, engaged, disabled).",
		}, []string{"factor", "counter", "decision"}),
		redisUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "faceidp_ratelimit_redis_up",
			Help: "1 while the rate limits are shared through Redis, 0 while Redis is unreachable and each instance limits in its own memory; absent without rate_limit.redis_url.",
		}),
		clientAuth: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faceidp_client_auth_total",
			Help: "Client authentications at the token, introspection and revocation endpoints by outcome.",
		}, []string{"outcome"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faceidp_requests_refused_total",
			Help: "Requests refused before any work, by endpoint and reason (counted here instead of an audit row or log line each).",
		}, []string{"endpoint", "reason"}),
	}
	m.reg.MustRegister(m.logins, m.tokens, m.throttle, m.clientAuth, m.refused, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// New validates opts, makes sure signing keys exist (generating them on
// first start) and builds the provider.
func New(ctx context.Context, opts Options) (*Server, error) {
	opts.setDefaults()
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("idp options: %w", err)
	}
	issuer, insecure, _ := parseIssuer(opts.Issuer)
	s := &Server{
		opts:     opts,
		store:    opts.Store,
		issuer:   issuer,
		insecure: insecure,
		clock:    opts.Clock,
		rand:     opts.Rand,
		log:      opts.Logger,
		factors:  make(map[string]SecondFactor),
		metrics:  newMetrics(),

		firstFactors: make(map[string]FirstFactor),
	}
	var err error
	// One gate for every argon2id verification in the process: user
	// passwords and legacy client secret hashes.
	gate := password.NewGate(opts.HashConcurrency, opts.HashQueue)
	if s.hasher, err = password.New(opts.PasswordParams, opts.Rand, password.WithGate(gate)); err != nil {
		return nil, err
	}
	if s.secrets, err = clientsecret.New(opts.Keyring, s.hasher, opts.Rand); err != nil {
		return nil, err
	}
	if s.throttle, err = throttle.New(opts.Store, opts.Throttle, opts.Clock); err != nil {
		return nil, err
	}
	if s.clientIP, err = newClientIPResolver(opts.TrustedProxies, opts.ClientIPHeader); err != nil {
		return nil, err
	}
	s.deviceKey = deriveKey(opts.CookieHashKey, "faceidp device cookie key")
	s.loginKey = deriveKey(opts.CookieHashKey, "faceidp login name throttle key")
	if s.tmpl, err = templates.Load(); err != nil {
		return nil, err
	}
	s.keys = &keyManager{store: opts.Store, kr: opts.Keyring, clock: opts.Clock, rand: opts.Rand, cache: map[string]crypto.Signer{},
		failed: func(ctx context.Context, err error) {
			s.outageLog.log(ctx, s, "reload signing keys; serving the previous ones", err)
		}}
	if err := s.keys.ensure(ctx); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	s.cookies = sessions.NewCookieStore(opts.CookieHashKey, opts.CookieBlockKey)
	s.cookies.Options = &sessions.Options{
		Path:     "/",
		MaxAge:   int(opts.SessionTTL / time.Second),
		Secure:   !insecure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}

	cfg := &op.Config{
		CryptoKey:                opts.TokenKey,
		DefaultLogoutRedirectURI: issuer + "/login/logged-out",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       []language.Tag{language.English},
		SupportedScopes:          []string{"openid", "profile", "email", "offline_access"},
	}
	tc, err := newTokenCrypto(opts.TokenKey, opts.Rand)
	if err != nil {
		return nil, err
	}
	popts := []op.Option{op.WithCrypto(tc)}
	if insecure {
		popts = append(popts, op.WithAllowInsecure())
	}
	if s.provider, err = op.NewProvider(cfg, &opStorage{s: s}, op.StaticIssuer(issuer), popts...); err != nil {
		return nil, fmt.Errorf("build provider: %w", err)
	}
	if s.discoveryDoc, err = s.buildDiscovery(ctx); err != nil {
		return nil, err
	}

	// The last step that can fail, so no error path leaks its Redis
	// connections. Second factors build their own limits on the same store
	// (FlowControl.RateLimitStore), so they hold across instances too.
	redisUp := func(up bool) {
		if up {
			s.metrics.redisUp.Set(1)
		} else {
			s.metrics.redisUp.Set(0)
		}
	}
	if s.rlStore, s.rlRedis, s.closeRL, err = newRateLimitStore(ctx, opts.RateLimitRedisURL, issuer, opts.Clock, opts.Logger, redisUp); err != nil {
		return nil, err
	}
	if s.rlRedis != nil {
		s.metrics.reg.MustRegister(s.metrics.redisUp)
	}
	// One store, two rates: keys are "ip:..." and "user:...".
	s.ipLimit = limiter.New(s.rlStore, limiter.Rate{Period: time.Minute, Limit: opts.LoginsPerIP})
	s.usrLimit = limiter.New(s.rlStore, limiter.Rate{Period: time.Minute, Limit: opts.LoginsPerUser})
	s.authIPLimit = limiter.New(s.rlStore, limiter.Rate{Period: time.Minute, Limit: opts.ClientAuthFailuresPerIP})
	s.authClientLimit = limiter.New(s.rlStore, limiter.Rate{Period: time.Minute, Limit: opts.ClientAuthFailuresPerClient})
	s.authorizeLimit = limiter.New(s.rlStore, limiter.Rate{Period: time.Minute, Limit: opts.AuthorizePerIP})
	s.held = make(chan struct{}, maxHeldRefusals)

	login := http.NewServeMux()
	s.mountLogin(login)
	for _, f := range opts.SecondFactors {
		s.factors[f.AMR()] = f
		f.Mount(login, &flowControl{s: s})
	}
	for _, f := range opts.FirstFactors {
		s.firstFactors[f.Name()] = f
		f.Mount(login, &flowControl{s: s})
	}
	if opts.Recovery != nil {
		s.mountFallbacks(login)
	}
	csrfKey := hmac.New(sha256.New, opts.CookieHashKey)
	csrfKey.Write([]byte("faceidp csrf key"))
	protect := csrf.Protect(csrfKey.Sum(nil),
		csrf.Secure(!insecure),
		csrf.HttpOnly(true),
		csrf.Path("/login/"),
		csrf.SameSite(csrf.SameSiteLaxMode),
		csrf.CookieName("faceidp_csrf"),
		csrf.FieldName("csrf_token"),
		csrf.ErrorHandler(http.HandlerFunc(s.csrfFailed)),
	)(login)

	root := http.NewServeMux()
	root.Handle("/login/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.insecure {
			r = csrf.PlaintextHTTPRequest(r)
		}
		setSecurityHeaders(w)
		protect.ServeHTTP(w, r)
	}))
	root.HandleFunc("GET /healthz", s.healthz)
	// Browsers ask for /favicon.ico whatever a page links (the discovery
	// document, JSON errors): answer rather than log a 404 for each.
	root.Handle("GET /favicon.ico", templates.Static())
	root.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	// The hot endpoints are served here, from memory or with one indexed
	// read, with op's CORS policy; see docs/performance.md.
	withCORS := cors.New(*s.provider.CORSOptions()).Handler
	root.Handle("/.well-known/openid-configuration", withCORS(http.HandlerFunc(s.discovery)))
	root.Handle(s.provider.KeysEndpoint().Relative(), withCORS(http.HandlerFunc(s.jwks)))
	root.Handle(s.provider.UserinfoEndpoint().Relative(), withCORS(http.HandlerFunc(s.userinfo)))
	root.HandleFunc(s.provider.IntrospectionEndpoint().Relative(), s.introspect)
	root.HandleFunc(s.provider.TokenEndpoint().Relative(), s.token)
	root.HandleFunc(s.provider.RevocationEndpoint().Relative(), s.revoke)
	root.HandleFunc("/authorize", s.authorize)
	root.HandleFunc("/authorize/callback", s.authorizeCallback)
	// op serves the device grant unconditionally; faceidp offers only the
	// code flow, so its endpoint does not exist here.
	root.Handle(s.provider.DeviceAuthorizationEndpoint().Relative(), http.NotFoundHandler())
	root.HandleFunc("/end_session", s.endSession)
	s.mountAdmin(root)
	root.Handle("/", s.provider)
	s.handler = s.withRequestState(s.limitBody(root))
	return s, nil
}

// Close releases what New opened (the rate limiter's Redis connections).
// The storage passed in Options is the caller's to close.
func (s *Server) Close() error {
	if s.closeRL == nil {
		return nil
	}
	return s.closeRL()
}

// Handler serves the OIDC endpoints, the login UI, /healthz and /metrics.
func (s *Server) Handler() http.Handler { return s.handler }

// Issuer is the normalised issuer URL.
func (s *Server) Issuer() string { return s.issuer }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if err := s.store.Health(r.Context()); err != nil {
		s.storageUnavailable(r.Context(), err)
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	// A Redis outage degrades the rate limits but not the service: still
	// 200, with what is degraded said in the body.
	if s.rlRedis != nil {
		s.rlRedis.check(r.Context())
	}
	if s.rlRedis != nil && s.rlRedis.Degraded() {
		_, _ = w.Write([]byte("ok\nrate limits: redis unreachable, in-process fallback\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) opClient(c *models.Client) *opClient {
	return &opClient{c: c, loginURL: loginURL(s.issuer), idTokenTTL: s.opts.IDTokenTTL}
}

// limitBody caps request bodies: MaxBodyBytes everywhere, or a second
// factor's own limit under /login/<amr>/.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := s.opts.MaxBodyBytes
		for amr, f := range s.factors {
			if bl, ok := f.(BodyLimiter); ok && hasPathPrefix(r.URL.Path, "/login/"+amr+"/") {
				limit = bl.MaxBodyBytes()
			}
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}

func hasPathPrefix(p, prefix string) bool {
	return len(p) >= len(prefix) && p[:len(prefix)] == prefix
}

func setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; frame-ancestors 'none'; form-action 'self' http: https:; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// --- per-request state --------------------------------------------------------

// reqState carries per-request facts into op.Storage callbacks, which only
// see a context: the ID token algorithm of the client being served, the
// browser's session (for end_session), the client's address (rate limits,
// throttles, audit; resolved through the trusted proxies), what this
// request already read (so op's repeated lookups cost nothing) and whether
// the database failed during it.
type reqState struct {
	alg          string
	remoteIP     string
	sessionID    string
	clearSession func()

	// client is the client this request is for, once read. At the token,
	// introspection and revocation endpoints clientFromRequest has
	// authenticated it (clientAuthenticated; public clients have no
	// secret) with clientSecret.
	client              *models.Client
	clientSecret        string
	clientAuthenticated bool
	// codeVerifier is the token request's PKCE code_verifier: a replayed
	// code revokes its grant only when the replay proves to be the client.
	codeVerifier string
	// user is the user of the refresh token being exchanged, read with it.
	user *models.User
	// redeemed is the auth request whose code this request exchanged.
	redeemed string
	// authRequest is the auth request /authorize/callback already read.
	authRequest *models.AuthRequest
	// unavailable is set when a storage call failed: the answer is 503.
	unavailable bool
}

type stateKey struct{}

func stateFrom(ctx context.Context) *reqState {
	if st, ok := ctx.Value(stateKey{}).(*reqState); ok {
		return st
	}
	return &reqState{}
}

// RemoteIP is the client address of the request ctx belongs to, as the
// provider resolved it (through Options.TrustedProxies); "" outside a
// request the provider serves.
func RemoteIP(ctx context.Context) string { return stateFrom(ctx).remoteIP }

func (s *Server) withRequestState(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), stateKey{}, &reqState{remoteIP: s.clientIP.clientIP(r)})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// audit records an authentication decision; failures to write are logged,
// never shown to the user. Never pass secrets in reason or details.
func (s *Server) audit(ctx context.Context, typ, outcome, userID, clientID, reason string, details map[string]any) {
	e := &models.AuditEvent{
		Time: s.clock(), Type: typ, Outcome: outcome, UserID: userID, ClientID: clientID,
		Reason: reason, RemoteIP: stateFrom(ctx).remoteIP, Details: details,
	}
	if err := s.store.AppendAudit(ctx, e); err != nil {
		s.outageLog.log(ctx, s, "write audit event "+typ, err)
	}
}
