package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Validate checks a configuration that was built by hand (Load already
// validates what it returns).
func (c *Config) Validate() error {
	if ps := validate(c); len(ps) > 0 {
		return &Error{Problems: ps}
	}
	return nil
}

// validate returns every problem in c. Missing secrets are problems only
// outside demo mode, where Load generates them after validation.
func validate(c *Config) []Problem {
	var ps []Problem
	add := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
	}

	validateIssuer(c.Issuer, add)
	validateListen(c.Listen, add)
	if strings.TrimSpace(c.DataDir) == "" {
		add("data_dir", "must not be empty")
	} else if fi, err := os.Stat(c.DataDir); err == nil && !fi.IsDir() {
		add("data_dir", "%q exists and is not a directory", c.DataDir)
	}
	validateDatabaseURL(c.DatabaseURL, add)
	validateSecrets(&c.Secrets, c.Demo, add)
	validateTokens(&c.Tokens, add)
	validateFace(&c.Face, add)
	validateRateLimit(&c.RateLimit, add)
	validatePasskeys(c, add)
	validatePolicy(c, add)
	validateRecovery(&c.Recovery, add)
	validateProxies(c, add)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "must be one of debug, info, warn, error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		add("log.format", "must be text or json, got %q", c.Log.Format)
	}
	sortProblems(ps)
	return ps
}

type addFunc func(key, format string, args ...any)

func validateIssuer(issuer string, add addFunc) {
	if issuer == "" {
		add("issuer", "must not be empty")
		return
	}
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		add("issuer", "must be an absolute http(s) URL such as https://id.example.com, got %q", issuer)
		return
	}
	if u.Scheme == "http" && !IsLoopbackHost(u.Hostname()) {
		add("issuer", "plain http is allowed only for a loopback issuer (127.0.0.1, ::1, localhost), got %q", issuer)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(issuer, "?") || strings.HasSuffix(issuer, "#") {
		add("issuer", "must not contain user info, a query or a fragment, got %q", issuer)
	}
	if u.Path != "" && u.Path != "/" {
		add("issuer", "must not have a path (serve faceidp at the root of its host), got %q", issuer)
	}
}

// IsLoopbackHost reports whether host (without port) is a loopback name or
// address.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func validateListen(listen string, add addFunc) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		add("listen", "must be host:port such as 127.0.0.1:8080, got %q", listen)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		add("listen", "port must be a number from 0 to 65535, got %q", port)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		add("listen", "host must be an IP address, localhost or empty (all interfaces), got %q", host)
	}
}

func validateDatabaseURL(dsn string, add addFunc) {
	const forms = "sqlite://PATH, file:PATH, postgres://USER@HOST:PORT/DB or a libpq \"host=... dbname=...\" string"
	scheme, rest, hasScheme := strings.Cut(dsn, ":")
	switch {
	case dsn == "":
		// SQLite in data_dir.
	case strings.HasPrefix(strings.TrimSpace(dsn), "host="):
		// libpq key=value DSN: checked by the driver when connecting.
	case !hasScheme:
		add("database_url", "must be %s, got %s", forms, redactDSN(dsn))
	case scheme == "sqlite" || scheme == "file":
		if strings.TrimPrefix(rest, "//") == "" {
			add("database_url", "%s: needs a file path, e.g. sqlite://./data/faceidp.db", scheme)
		}
	case scheme == "postgres" || scheme == "postgresql":
		u, err := url.Parse(dsn)
		if err != nil || u.Host == "" || strings.Trim(u.Path, "/") == "" {
			add("database_url", "a PostgreSQL URL needs a host and a database name (postgres://USER@HOST:5432/DB), got %s", redactDSN(dsn))
		}
	default:
		add("database_url", "unsupported database %q: use %s", scheme, forms)
	}
}

// redactDSN hides a password in a database URL before it is printed.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
			return strconv.Quote(u.String())
		}
	}
	return strconv.Quote(dsn)
}

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func validateSecrets(s *Secrets, demo bool, add addFunc) {
	const missing = "required outside demo mode (generate one with `faceidp secrets generate` or `openssl rand -base64 32`)"
	for _, k := range []struct {
		key   string
		value string
		sizes []int
	}{
		{"secrets.cookie_hash_key", s.CookieHashKey, []int{32, 64}},
		{"secrets.cookie_block_key", s.CookieBlockKey, []int{32}},
		{"secrets.token_key", s.TokenKey, []int{32}},
	} {
		if k.value == "" {
			if !demo {
				add(k.key, "%s", missing)
			}
			continue
		}
		checkKeyBytes(k.key, k.value, k.sizes, add)
	}
	if len(s.MasterKeys) == 0 {
		if !demo {
			add("secrets.master_keys", "at least one {id, key} is %s", missing)
		}
		return
	}
	seen := map[string]bool{}
	for i, mk := range s.MasterKeys {
		key := fmt.Sprintf("secrets.master_keys[%d]", i)
		switch {
		case mk.ID == "":
			add(key+".id", "must not be empty")
		case !keyIDPattern.MatchString(mk.ID):
			add(key+".id", "may hold only letters, digits, '.', '_' and '-' (at most 64), got %q", mk.ID)
		case seen[mk.ID]:
			add(key+".id", "%q appears more than once", mk.ID)
		}
		seen[mk.ID] = true
		if mk.Key == "" {
			add(key+".key", "must not be empty")
			continue
		}
		checkKeyBytes(key+".key", mk.Key, []int{32}, add)
	}
}

func checkKeyBytes(key, value string, sizes []int, add addFunc) {
	b, err := decodeKey(value)
	if err != nil {
		add(key, "not valid base64 (the value is not shown)")
		return
	}
	for _, n := range sizes {
		if len(b) == n {
			return
		}
	}
	want := make([]string, len(sizes))
	for i, n := range sizes {
		want[i] = strconv.Itoa(n)
	}
	add(key, "must decode to %s bytes, got %d", strings.Join(want, " or "), len(b))
}

func validateTokens(t *Tokens, add addFunc) {
	for _, d := range []struct {
		key      string
		value    time.Duration
		min, max time.Duration
	}{
		{"tokens.access_token_ttl", t.AccessTokenTTL, time.Minute, 24 * time.Hour},
		{"tokens.id_token_ttl", t.IDTokenTTL, time.Minute, 24 * time.Hour},
		{"tokens.refresh_token_ttl", t.RefreshTokenTTL, time.Minute, 365 * 24 * time.Hour},
		{"tokens.auth_request_ttl", t.AuthRequestTTL, time.Minute, 24 * time.Hour},
		{"tokens.code_ttl", t.CodeTTL, 5 * time.Second, 10 * time.Minute},
		{"tokens.session_ttl", t.SessionTTL, time.Minute, 90 * 24 * time.Hour},
	} {
		if d.value < d.min || d.value > d.max {
			add(d.key, "must be between %s and %s, got %s", formatDuration(d.min), formatDuration(d.max), formatDuration(d.value))
		}
	}
	if t.RefreshTokenTTL > 0 && t.AccessTokenTTL > 0 && t.RefreshTokenTTL < t.AccessTokenTTL {
		add("tokens.refresh_token_ttl", "must not be shorter than tokens.access_token_ttl (%s), got %s", formatDuration(t.AccessTokenTTL), formatDuration(t.RefreshTokenTTL))
	}
}

// challengeActions is how many distinct actions a challenge can draw from
// (blink, smile, turn left, turn right; faceauth.AllActions).
const challengeActions = 4

func validateFace(f *Face, add addFunc) {
	switch f.Mode {
	case FaceOff, FaceOptional, FaceRequired:
	default:
		add("face.mode", "must be off, optional or required, got %q", f.Mode)
	}
	if f.MatchThreshold < 0 || f.MatchThreshold > 1 {
		add("face.match_threshold", "must be between 0 and 1 (0 = the engine's calibrated default), got %g", f.MatchThreshold)
	}
	if f.ChallengeSteps < 1 || f.ChallengeSteps > challengeActions {
		add("face.challenge_steps", "must be between 1 and %d (the number of distinct actions), got %d", challengeActions, f.ChallengeSteps)
	}
	if f.ChallengeTTL < 10*time.Second || f.ChallengeTTL > 10*time.Minute {
		add("face.challenge_ttl", "must be between 10s and 10m, got %s", formatDuration(f.ChallengeTTL))
	}
	if f.Recognizers < 0 || f.Recognizers > 256 {
		add("face.recognizers", "must be between 0 (one per CPU) and 256, got %d", f.Recognizers)
	}
	if f.Queue < 0 || f.Queue > 10000 {
		add("face.queue", "must be between 0 (twice the recognizers) and 10000, got %d", f.Queue)
	}
	switch f.Embedders {
	case EmbeddersDlib, EmbeddersDlibONNX:
	default:
		add("face.embedders", "must be %s or %s, got %q", EmbeddersDlib, EmbeddersDlibONNX, f.Embedders)
	}
	validateFaceONNX(&f.ONNX, add)
}

// validateFaceONNX checks the second embedder's settings whether or not it
// is switched on, so that switching it on later cannot meet a bad value.
func validateFaceONNX(o *FaceONNX, add addFunc) {
	if o.InputSize < 32 || o.InputSize > 1024 {
		add("face.onnx.input_size", "must be between 32 and 1024 pixels, got %d", o.InputSize)
	}
	if o.Mean < 0 || o.Mean > 255 {
		add("face.onnx.mean", "must be between 0 and 255, got %g", o.Mean)
	}
	if o.Std <= 0 || o.Std > 1000 {
		add("face.onnx.std", "must be above 0 and at most 1000, got %g", o.Std)
	}
	switch o.ChannelOrder {
	case "rgb", "bgr":
	default:
		add("face.onnx.channel_order", "must be rgb or bgr, got %q", o.ChannelOrder)
	}
	if o.OutputDim < 1 || o.OutputDim > 4096 {
		add("face.onnx.output_dim", "must be between 1 and 4096, got %d", o.OutputDim)
	}
	if o.MinSimilarity < 0 || o.MinSimilarity >= 1 {
		add("face.onnx.min_similarity", "must be at least 0 and below 1 (0 = the engine's calibrated default), got %g", o.MinSimilarity)
	}
}

func validateRateLimit(r *RateLimit, add addFunc) {
	for _, n := range []struct {
		key   string
		value int
	}{
		{"rate_limit.logins_per_ip", r.LoginsPerIP},
		{"rate_limit.logins_per_user", r.LoginsPerUser},
		{"rate_limit.face_challenges_per_minute", r.FaceChallengesPerMinute},
		{"rate_limit.password_throttle_after", r.PasswordThrottleAfter},
		{"rate_limit.ip_throttle_after", r.IPThrottleAfter},
		{"rate_limit.client_auth_failures_per_ip", r.ClientAuthFailuresPerIP},
		{"rate_limit.client_auth_failures_per_client", r.ClientAuthFailuresPerClient},
		{"rate_limit.authorize_per_ip", r.AuthorizePerIP},
	} {
		if n.value < 1 || n.value > 100000 {
			add(n.key, "must be between 1 and 100000, got %d", n.value)
		}
	}
	validateRedisURL(r.RedisURL, add)
	validateDelays(r.PasswordDelays, add)
	if r.PasswordWindow < time.Minute || r.PasswordWindow > 30*24*time.Hour {
		add("rate_limit.password_window", "must be between 1m and 720h, got %s", formatDuration(r.PasswordWindow))
	}
	// NIST SP 800-63B-4 §3.2.3: at most 5 consecutive failed biometric
	// attempts (10 with presentation-attack detection), then at least 30 s
	// before each further attempt.
	if r.FaceThrottleAfter < 1 || r.FaceThrottleAfter > 10 {
		add("rate_limit.face_throttle_after", "must be between 1 and 10 (NIST SP 800-63B-4 allows at most 10 consecutive failed biometric attempts), got %d", r.FaceThrottleAfter)
	}
	if r.FaceDelay < 30*time.Second || r.FaceDelay > 24*time.Hour {
		add("rate_limit.face_delay", "must be between 30s (the least NIST SP 800-63B-4 allows) and 24h, got %s", formatDuration(r.FaceDelay))
	}
	if r.FaceDelayMax < r.FaceDelay || r.FaceDelayMax > 7*24*time.Hour {
		add("rate_limit.face_delay_max", "must be between rate_limit.face_delay (%s) and 168h, got %s", formatDuration(r.FaceDelay), formatDuration(r.FaceDelayMax))
	}
	if r.FaceDisableAfter <= r.FaceThrottleAfter || r.FaceDisableAfter > 50 {
		add("rate_limit.face_disable_after", "must be more than rate_limit.face_throttle_after (%d) and at most 50, got %d", r.FaceThrottleAfter, r.FaceDisableAfter)
	}
}

func validateDelays(delays []string, add addFunc) {
	const key = "rate_limit.password_delays"
	if len(delays) == 0 || len(delays) > 10 {
		add(key, "must list 1 to 10 durations (e.g. 1m, 5m, 30m), got %d", len(delays))
		return
	}
	var prev time.Duration
	for i, s := range delays {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		switch {
		case err != nil:
			add(key, "item %d is not a duration (use units such as 90s, 15m, 12h): %q", i+1, s)
			return
		case d < time.Second || d > 24*time.Hour:
			add(key, "item %d must be between 1s and 24h, got %s", i+1, formatDuration(d))
			return
		case d < prev:
			add(key, "must not shrink: item %d (%s) is shorter than item %d (%s)", i+1, formatDuration(d), i, formatDuration(prev))
			return
		}
		prev = d
	}
}

// validateProxies checks trusted_proxies (addresses or CIDR ranges) and
// client_ip_header.
func validateProxies(c *Config, add addFunc) {
	for i, s := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(s); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(s); err == nil {
			continue
		}
		add("trusted_proxies", "item %d is not an address or CIDR range (e.g. 10.0.0.0/8, 192.0.2.10, fd00::/8): %q", i+1, s)
	}
	switch strings.ToLower(c.ClientIPHeader) {
	case "x-forwarded-for", "forwarded":
	default:
		add("client_ip_header", "must be X-Forwarded-For or Forwarded (RFC 7239), whichever the trusted proxies set, got %q", c.ClientIPHeader)
	}
}

// validateRedisURL checks rate_limit.redis_url with the parser the Redis
// client itself uses, so whatever passes here connects the same way. The
// URL is printed with its password masked; an unparsable one not at all.
func validateRedisURL(raw string, add addFunc) {
	if raw == "" {
		return
	}
	const want = "redis://[:password@]host:port/db, rediss://... for TLS or unix:///path/to/socket"
	_, err := redis.ParseURL(raw)
	if err == nil {
		return
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// url.Error repeats the whole URL, password included.
		add("rate_limit.redis_url", "not a Redis URL (%v); want %s (the value is not shown)", ue.Err, want)
		return
	}
	u, _ := url.Parse(raw) // parsed fine above
	add("rate_limit.redis_url", "%s; want %s, got %q", strings.TrimPrefix(err.Error(), "redis: "), want, u.Redacted())
}
