// Package config holds faceidp's configuration: one Config struct read from
// an optional YAML file and overridden by FACEIDP_* environment variables,
// then validated as a whole so that every problem is reported at once.
//
// Every key has exactly one environment variable: FACEIDP_ followed by the
// key's path in upper case with dots replaced by underscores
// (face.match_threshold ↔ FACEIDP_FACE_MATCH_THRESHOLD). Lists are
// comma-separated in the environment; master keys are "id:base64key" pairs.
package config

import (
	"path/filepath"
	"strings"
	"time"
)

// Config is faceidp's whole configuration. The yaml tags are the key names;
// the environment variable names derive from them (see EnvName).
type Config struct {
	// Issuer is the OpenID Provider's issuer URL without a path (https, or
	// http on a loopback host).
	Issuer string `yaml:"issuer"`
	// Listen is the address the HTTP server binds (host:port).
	Listen string `yaml:"listen"`
	// DataDir holds the SQLite database, demo secrets and, by default, the
	// face model directory.
	DataDir string `yaml:"data_dir"`
	// DatabaseURL selects the database: "sqlite://PATH" ("sqlite:///abs",
	// "sqlite://relative"), "file:PATH", a PostgreSQL URL
	// ("postgres://user@host:5432/db?sslmode=disable") or a libpq
	// "host=... dbname=..." DSN. Empty means SQLite in DataDir.
	DatabaseURL string `yaml:"database_url"`
	// Demo generates missing secrets once and keeps them in DataDir.
	Demo bool `yaml:"demo"`
	// TrustedProxies are the reverse proxies (CIDR ranges or addresses)
	// whose client address header (ClientIPHeader) is believed for rate
	// limits, throttles and audit events. Empty: the TCP peer always.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// ClientIPHeader is the header those proxies set: X-Forwarded-For or
	// Forwarded (RFC 7239).
	ClientIPHeader string `yaml:"client_ip_header"`

	Secrets   Secrets   `yaml:"secrets"`
	Tokens    Tokens    `yaml:"tokens"`
	Face      Face      `yaml:"face"`
	RateLimit RateLimit `yaml:"rate_limit"`
	Log       Log       `yaml:"log"`
	Passkeys  Passkeys  `yaml:"passkeys"`
	Policy    Policy    `yaml:"policy"`
	Recovery  Recovery  `yaml:"recovery"`
}

// Secrets are base64-encoded (standard or URL alphabet, padded or not) keys.
type Secrets struct {
	// CookieHashKey authenticates session cookies (HMAC-SHA256): 32 or 64
	// bytes. The CSRF key is derived from it.
	CookieHashKey string `yaml:"cookie_hash_key"`
	// CookieBlockKey encrypts session cookies (AES-256): 32 bytes.
	CookieBlockKey string `yaml:"cookie_block_key"`
	// TokenKey encrypts opaque tokens handed out by the OP (zitadel op
	// CryptoKey): 32 bytes.
	TokenKey string `yaml:"token_key"`
	// MasterKeys seal signing keys and face templates, oldest first; the
	// last one seals new records.
	MasterKeys []MasterKey `yaml:"master_keys"`
}

// MasterKey is one keyring key: an id stored with every sealed record and a
// base64-encoded 32-byte secret.
type MasterKey struct {
	ID  string `yaml:"id"`
	Key string `yaml:"key"`
}

// Tokens are lifetimes of protocol artefacts.
type Tokens struct {
	AccessTokenTTL  time.Duration `yaml:"access_token_ttl"`
	IDTokenTTL      time.Duration `yaml:"id_token_ttl"`
	RefreshTokenTTL time.Duration `yaml:"refresh_token_ttl"`
	AuthRequestTTL  time.Duration `yaml:"auth_request_ttl"`
	CodeTTL         time.Duration `yaml:"code_ttl"`
	SessionTTL      time.Duration `yaml:"session_ttl"`
}

// Face mode values.
const (
	FaceOff      = "off"
	FaceOptional = "optional"
	FaceRequired = "required"
)

// Face configures the face second factor.
type Face struct {
	// Mode is off (never asked), optional (enrolled users and clients that
	// require it) or required (every sign-in needs face).
	Mode string `yaml:"mode"`
	// ModelsDir is the go-face model directory. Empty means DataDir/models.
	ModelsDir string `yaml:"models_dir"`
	// MatchThreshold is the largest descriptor distance that counts as the
	// same person; 0 means the engine's calibrated default.
	MatchThreshold float64 `yaml:"match_threshold"`
	// ChallengeSteps is how many distinct actions a challenge asks for.
	ChallengeSteps int `yaml:"challenge_steps"`
	// ChallengeTTL is how long a challenge may be answered.
	ChallengeTTL time.Duration `yaml:"challenge_ttl"`
	// Recognizers is the size of the recognizer pool; 0 means one per CPU.
	Recognizers int `yaml:"recognizers"`
	// Queue is how many face attempts may wait for a recognizer before the
	// server answers 503; 0 means twice the recognizers.
	Queue int `yaml:"queue"`
	// Embedders is dlib (dlib's descriptor alone) or dlib+onnx (dlib's and
	// an ArcFace-style ONNX model's; identity passes only when both agree).
	Embedders string `yaml:"embedders"`
	// ONNX configures the second embedder (face.embedders: dlib+onnx).
	ONNX FaceONNX `yaml:"onnx"`
}

// Face embedder sets.
const (
	EmbeddersDlib     = "dlib"
	EmbeddersDlibONNX = "dlib+onnx"
)

// FaceONNX configures the second face embedder: an ArcFace-compatible ONNX
// model run by ONNX Runtime. The defaults suit fr_feature.onnx.
type FaceONNX struct {
	// Model is the ONNX model file. Empty means <models_dir>/fr_feature.onnx.
	Model string `yaml:"model"`
	// RuntimeLibrary is ONNX Runtime 1.24.1's shared library. Empty means
	// <models_dir>/libonnxruntime.so.1.
	RuntimeLibrary string `yaml:"runtime_library"`
	// InputSize is the side of the model's square input image.
	InputSize int `yaml:"input_size"`
	// Mean and Std normalise each channel value p as (p - Mean) / Std.
	Mean float64 `yaml:"mean"`
	Std  float64 `yaml:"std"`
	// ChannelOrder is rgb or bgr.
	ChannelOrder string `yaml:"channel_order"`
	// OutputDim is the length of the model's embedding.
	OutputDim int `yaml:"output_dim"`
	// MinSimilarity is the smallest cosine similarity to the template that
	// counts as the same person; 0 means the engine's calibrated default.
	MinSimilarity float64 `yaml:"min_similarity"`
}

// RateLimit configures brute-force protection of the sign-in steps: flood
// limits per minute and the per-factor throttle (README "Throttling").
type RateLimit struct {
	// LoginsPerIP caps password attempts per client IP per minute.
	LoginsPerIP int `yaml:"logins_per_ip"`
	// LoginsPerUser caps password attempts per account (per known device
	// for a browser holding the account's device cookie) per minute.
	LoginsPerUser int `yaml:"logins_per_user"`
	// PasswordThrottleAfter consecutive failed passwords of an account
	// (or a known device) are free; after every further as many, the next
	// of PasswordDelays applies before each attempt.
	PasswordThrottleAfter int `yaml:"password_throttle_after"`
	// PasswordDelays are the growing waits (durations, the last repeats).
	PasswordDelays []string `yaml:"password_delays"`
	// PasswordWindow: a password counter is forgotten this long after its
	// last failure.
	PasswordWindow time.Duration `yaml:"password_window"`
	// IPThrottleAfter is PasswordThrottleAfter for one source address (all
	// accounts together), with the same delays, forgotten after an hour.
	IPThrottleAfter int `yaml:"ip_throttle_after"`
	// FaceThrottleAfter consecutive failed face verifications of a user
	// are free (at most 10); then each attempt waits FaceDelay, doubling
	// up to FaceDelayMax, and FaceDisableAfter failures disable face for
	// the user until an administrator re-enables it.
	FaceThrottleAfter int           `yaml:"face_throttle_after"`
	FaceDelay         time.Duration `yaml:"face_delay"`
	FaceDelayMax      time.Duration `yaml:"face_delay_max"`
	FaceDisableAfter  int           `yaml:"face_disable_after"`
	// FaceChallengesPerMinute caps the face challenges one user may
	// request per minute.
	FaceChallengesPerMinute int `yaml:"face_challenges_per_minute"`
	// ClientAuthFailuresPerIP and ClientAuthFailuresPerClient cap failed
	// client authentications (token, introspection, revocation endpoints)
	// per source address and per client_id per minute; AuthorizePerIP caps
	// /authorize requests per address per minute.
	ClientAuthFailuresPerIP     int `yaml:"client_auth_failures_per_ip"`
	ClientAuthFailuresPerClient int `yaml:"client_auth_failures_per_client"`
	AuthorizePerIP              int `yaml:"authorize_per_ip"`
	// RedisURL, when set (redis://[:password@]host:port/db, rediss:// for
	// TLS), keeps the login rate-limit counters in Redis so that every
	// instance behind a load balancer counts the same attempts. Empty keeps
	// them in each process's memory (one instance).
	RedisURL string `yaml:"redis_url"`
}

// Log configures log/slog output.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// Defaults returns the built-in configuration.
func Defaults() Config {
	return Config{
		Issuer:         "http://127.0.0.1:8080",
		ClientIPHeader: "X-Forwarded-For",
		Listen:         "127.0.0.1:8080",
		DataDir:        "./data",
		Tokens: Tokens{
			AccessTokenTTL:  15 * time.Minute,
			IDTokenTTL:      time.Hour,
			RefreshTokenTTL: 30 * 24 * time.Hour,
			AuthRequestTTL:  30 * time.Minute,
			CodeTTL:         time.Minute,
			SessionTTL:      12 * time.Hour,
		},
		Face: Face{
			Mode:           FaceOptional,
			ChallengeSteps: 2,
			ChallengeTTL:   60 * time.Second,
			Embedders:      EmbeddersDlib,
			ONNX: FaceONNX{
				InputSize:    112,
				Mean:         127,
				Std:          128,
				ChannelOrder: "rgb",
				OutputDim:    512,
			},
		},
		RateLimit: RateLimit{
			LoginsPerIP:           30,
			LoginsPerUser:         10,
			PasswordThrottleAfter: 5,
			PasswordDelays:        []string{"1m", "5m", "30m"},
			PasswordWindow:        24 * time.Hour,
			IPThrottleAfter:       20,
			FaceThrottleAfter:     5,
			FaceDelay:             30 * time.Second,
			FaceDelayMax:          time.Hour,
			FaceDisableAfter:      50,

			FaceChallengesPerMinute: 10,

			ClientAuthFailuresPerIP:     20,
			ClientAuthFailuresPerClient: 60,
			AuthorizePerIP:              600,
		},
		Log: Log{Level: "info", Format: "text"},
		Passkeys: Passkeys{
			RPName:           "faceidp",
			UserVerification: "preferred",
			ChallengeTTL:     5 * time.Minute,
		},
		Policy:   Policy{FaceEnrolment: "offer"},
		Recovery: Recovery{BypassTTL: 24 * time.Hour},
	}
}

// ResolvedDatabaseURL is DatabaseURL, or the SQLite database in DataDir when
// it is empty.
func (c *Config) ResolvedDatabaseURL() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return "sqlite://" + filepath.Join(c.DataDir, "faceidp.db")
}

// ResolvedModelsDir is Face.ModelsDir, or DataDir/models when it is empty.
func (c *Config) ResolvedModelsDir() string {
	if c.Face.ModelsDir != "" {
		return c.Face.ModelsDir
	}
	return filepath.Join(c.DataDir, "models")
}

// PasswordDelayDurations are PasswordDelays parsed (Validate has checked
// them).
func (r *RateLimit) PasswordDelayDurations() []time.Duration {
	out := make([]time.Duration, 0, len(r.PasswordDelays))
	for _, s := range r.PasswordDelays {
		if d, err := time.ParseDuration(strings.TrimSpace(s)); err == nil {
			out = append(out, d)
		}
	}
	return out
}

// ResolvedONNXModel is Face.ONNX.Model, or fr_feature.onnx in the models
// directory when it is empty.
func (c *Config) ResolvedONNXModel() string {
	if c.Face.ONNX.Model != "" {
		return c.Face.ONNX.Model
	}
	return filepath.Join(c.ResolvedModelsDir(), "fr_feature.onnx")
}

// ResolvedONNXRuntime is Face.ONNX.RuntimeLibrary, or libonnxruntime.so.1
// in the models directory when it is empty.
func (c *Config) ResolvedONNXRuntime() string {
	if c.Face.ONNX.RuntimeLibrary != "" {
		return c.Face.ONNX.RuntimeLibrary
	}
	return filepath.Join(c.ResolvedModelsDir(), "libonnxruntime.so.1")
}
