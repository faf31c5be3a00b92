package idp

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/factors/recovery"
	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/keyring"
	"github.com/faceidp/faceidp/storage"
)

// Defaults for the zero values of Options.
const (
	DefaultAuthRequestTTL  = 30 * time.Minute
	DefaultCodeTTL         = time.Minute
	DefaultAccessTokenTTL  = 15 * time.Minute
	DefaultIDTokenTTL      = time.Hour
	DefaultRefreshTokenTTL = 30 * 24 * time.Hour
	DefaultSessionTTL      = 12 * time.Hour
	DefaultMaxBodyBytes    = 64 << 10
	DefaultLoginsPerIP     = 30 // per minute
	DefaultLoginsPerUser   = 10 // per minute

	DefaultClientAuthFailuresPerIP     = 20  // per minute
	DefaultClientAuthFailuresPerClient = 60  // per minute
	DefaultAuthorizePerIP              = 600 // per minute
	DefaultRefusalDelay                = time.Second
)

// Options configure New. Required: Issuer, Store, Keyring, CookieHashKey,
// CookieBlockKey, TokenKey. Zero durations and limits take the defaults
// above; Clock defaults to time.Now, Rand to crypto/rand, Logger to
// slog.Default().
type Options struct {
	// Issuer is the provider's public base URL without a path, e.g.
	// https://id.example.com. Plain http is allowed only for a loopback
	// host (127.0.0.1, ::1, localhost).
	Issuer string
	Store  storage.Storage
	// Keyring seals signing keys at rest.
	Keyring *keyring.Keyring
	// CookieHashKey (32 or 64 bytes) authenticates and CookieBlockKey (32
	// bytes) encrypts the session cookie; the CSRF key is derived from
	// CookieHashKey.
	CookieHashKey  []byte
	CookieBlockKey []byte
	// TokenKey encrypts opaque access tokens and authorization codes
	// (op.Config.CryptoKey). Changing it invalidates outstanding ones.
	TokenKey [32]byte

	Clock  func() time.Time
	Rand   io.Reader
	Logger *slog.Logger

	AuthRequestTTL  time.Duration // how long a login may take
	CodeTTL         time.Duration // authorization code lifetime
	AccessTokenTTL  time.Duration
	IDTokenTTL      time.Duration // also how long retired signing keys stay published
	RefreshTokenTTL time.Duration // idle lifetime; every rotation extends it
	SessionTTL      time.Duration // browser login session lifetime

	// FaceMode is the global face setting ("" = optional); see factors/policy.
	FaceMode policy.FaceMode
	// Policy holds the other global defaults of the factor policy
	// (factors/policy): the allowed first factors (empty: every one
	// served), face enrolment during sign-in ("" = offer), and whether a
	// user-verified passkey alone satisfies the face mode. Its FaceMode is
	// ignored (FaceMode is). Clients override each (models.ClientPolicy).
	Policy policy.Policy
	// SecondFactors are the pluggable second factors (see SecondFactor).
	SecondFactors []SecondFactor
	// FirstFactors are the first factors served by a web surface of their
	// own (idp/passkeyweb), beside the password the provider checks itself
	// (see FirstFactor).
	FirstFactors []FirstFactor
	// Recovery is the fallback service for users who cannot pass the face
	// step (recovery codes, an administrator's face bypass); nil offers
	// none.
	Recovery *recovery.Service
	// Admin builds the admin console and API (idp/admin), served under
	// /admin/; nil serves none.
	Admin func(AdminHost) http.Handler

	// PasswordParams are the argon2id parameters (zero = OWASP).
	PasswordParams password.Params
	// HashConcurrency argon2id verifications (user passwords, legacy client
	// secrets) run at once in the process, and HashQueue more may wait;
	// beyond that the request gets 503 with Retry-After. Zero: one per CPU,
	// and eight waiting per slot.
	HashConcurrency int
	HashQueue       int

	// MaxBodyBytes caps every request body (default 64 KiB); a second
	// factor may raise it for its own routes (see BodyLimiter).
	MaxBodyBytes int64
	// Throttle are the per-factor throttling rules (factors/throttle):
	// growing waits after consecutive failures, per account, known device
	// and source address for passwords, per user for each second factor.
	// Zero: throttle.DefaultRules().
	Throttle throttle.Rules
	// TrustedProxies are the reverse proxies whose client address header
	// (ClientIPHeader) is believed; a request from any other peer is
	// attributed to the peer. Empty: the peer address always.
	TrustedProxies []netip.Prefix
	// ClientIPHeader is the header the trusted proxies set:
	// "X-Forwarded-For" (default) or "Forwarded" (RFC 7239).
	ClientIPHeader string
	// LoginsPerIP and LoginsPerUser cap password attempts per minute (a
	// flood limit on top of the throttle; per known device instead of per
	// account for a browser holding the account's device cookie).
	LoginsPerIP   int64
	LoginsPerUser int64
	// ClientAuthFailuresPerIP and ClientAuthFailuresPerClient cap failed
	// client authentications (token, introspection, revocation) per minute
	// per source address and per client_id; past them the request gets 429
	// before any database read or hash. AuthorizePerIP caps /authorize
	// requests per minute per address. Counters live in the same store as
	// the login limits (Redis when configured).
	ClientAuthFailuresPerIP     int64
	ClientAuthFailuresPerClient int64
	AuthorizePerIP              int64
	// RefusalDelay holds a rate-limited client authentication's 429 this
	// long (default 1 s, never longer than the Retry-After it announces),
	// so a client that ignores Retry-After slows itself down instead of
	// spinning the CPU; at most a bounded number are held at once.
	RefusalDelay time.Duration
	// RateLimitRedisURL, when set (redis://[:password@]host:port/db,
	// rediss:// for TLS), keeps the login rate-limit counters in Redis so
	// that every instance behind a load balancer counts the same attempts.
	// Empty keeps them in process memory, which suits a single instance.
	// New fails if Redis does not answer.
	RateLimitRedisURL string
}

func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.AuthRequestTTL, DefaultAuthRequestTTL)
	def(&o.CodeTTL, DefaultCodeTTL)
	def(&o.AccessTokenTTL, DefaultAccessTokenTTL)
	def(&o.IDTokenTTL, DefaultIDTokenTTL)
	def(&o.RefreshTokenTTL, DefaultRefreshTokenTTL)
	def(&o.SessionTTL, DefaultSessionTTL)
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Throttle.Factors == nil {
		o.Throttle = throttle.DefaultRules()
	}
	if o.LoginsPerIP <= 0 {
		o.LoginsPerIP = DefaultLoginsPerIP
	}
	if o.LoginsPerUser <= 0 {
		o.LoginsPerUser = DefaultLoginsPerUser
	}
	if o.ClientAuthFailuresPerIP <= 0 {
		o.ClientAuthFailuresPerIP = DefaultClientAuthFailuresPerIP
	}
	if o.ClientAuthFailuresPerClient <= 0 {
		o.ClientAuthFailuresPerClient = DefaultClientAuthFailuresPerClient
	}
	if o.AuthorizePerIP <= 0 {
		o.AuthorizePerIP = DefaultAuthorizePerIP
	}
	if o.RefusalDelay <= 0 {
		o.RefusalDelay = DefaultRefusalDelay
	}
	if o.HashConcurrency <= 0 {
		o.HashConcurrency = runtime.GOMAXPROCS(0)
	}
	if o.HashQueue <= 0 {
		o.HashQueue = 8 * o.HashConcurrency
	}
	if o.FaceMode == "" {
		o.FaceMode = policy.FaceOptional
	}
	if o.Policy.FaceEnrolment == "" {
		o.Policy.FaceEnrolment = policy.EnrolOffer
	}
	o.Policy.FaceMode = o.FaceMode
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

func (o *Options) validate() error {
	var errs []error
	if o.Store == nil {
		errs = append(errs, errors.New("no Store given"))
	}
	if o.Keyring == nil {
		errs = append(errs, errors.New("no Keyring given"))
	}
	if n := len(o.CookieHashKey); n != 32 && n != 64 {
		errs = append(errs, fmt.Errorf("CookieHashKey is %d bytes, want 32 or 64", n))
	}
	if n := len(o.CookieBlockKey); n != 32 {
		errs = append(errs, fmt.Errorf("CookieBlockKey is %d bytes, want 32", n))
	}
	if o.TokenKey == ([32]byte{}) {
		errs = append(errs, errors.New("TokenKey is all zeroes"))
	}
	if _, err := policy.ParseFaceMode(string(o.FaceMode)); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, o.validatePolicy()...)
	seen := map[string]bool{}
	for _, f := range o.SecondFactors {
		if f == nil || f.AMR() == "" {
			errs = append(errs, errors.New("a second factor has no amr value"))
			continue
		}
		if seen[f.AMR()] {
			errs = append(errs, fmt.Errorf("second factor %q registered twice", f.AMR()))
		}
		seen[f.AMR()] = true
	}
	if err := o.Throttle.Validate(); err != nil {
		errs = append(errs, err)
	}
	if _, err := newClientIPResolver(o.TrustedProxies, o.ClientIPHeader); err != nil {
		errs = append(errs, err)
	}
	if _, _, err := parseIssuer(o.Issuer); err != nil {
		errs = append(errs, err)
	}
	if o.RateLimitRedisURL != "" {
		if _, err := parseRedisURL(o.RateLimitRedisURL); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// parseIssuer validates the issuer and reports whether it is a plain-http
// loopback issuer (the only case where http is allowed).
func parseIssuer(issuer string) (string, bool, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", false, fmt.Errorf("issuer %q is not an absolute URL", issuer)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", false, fmt.Errorf("issuer %q must not have a query, fragment or user info", issuer)
	}
	if u.Path != "" && u.Path != "/" {
		return "", false, fmt.Errorf("issuer %q must not have a path", issuer)
	}
	clean := u.Scheme + "://" + u.Host
	switch u.Scheme {
	case "https":
		return clean, false, nil
	case "http":
		if isLoopbackHost(u.Hostname()) {
			return clean, true, nil
		}
		return "", false, fmt.Errorf("issuer %q uses plain http on a non-loopback host; use https", issuer)
	}
	return "", false, fmt.Errorf("issuer %q must use https", issuer)
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// validatePolicy checks the global factor policy and that every first
// factor it allows is served.
func (o *Options) validatePolicy() []error {
	var errs []error
	ff, err := policy.ParseFirstFactors(o.Policy.FirstFactors)
	if err != nil {
		errs = append(errs, fmt.Errorf("policy: %w", err))
	}
	if _, err := policy.ParseEnrolment(string(o.Policy.FaceEnrolment)); err != nil {
		errs = append(errs, fmt.Errorf("policy: %w", err))
	}
	served := map[string]bool{policy.FirstFactorPassword: true}
	for _, f := range o.FirstFactors {
		switch {
		case f == nil || f.Name() == "":
			errs = append(errs, errors.New("a first factor has no name"))
		case f.Name() == policy.FirstFactorPassword || served[f.Name()]:
			errs = append(errs, fmt.Errorf("first factor %q registered twice", f.Name()))
		default:
			if _, err := policy.ParseFirstFactors([]string{f.Name()}); err != nil {
				errs = append(errs, err)
			}
			served[f.Name()] = true
		}
	}
	if len(ff) > 0 && !slices.ContainsFunc(ff, func(n string) bool { return served[n] }) {
		errs = append(errs, fmt.Errorf("policy allows only %v as first factors, and none of them is served", ff))
	}
	return errs
}
