package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// key32 is a valid base64 32-byte key made from a fill byte.
func key32(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }

// secretEnv is a complete set of valid secrets as environment variables.
func secretEnv() []string {
	return []string{
		"FACEIDP_SECRETS_COOKIE_HASH_KEY=" + key32(1),
		"FACEIDP_SECRETS_COOKIE_BLOCK_KEY=" + key32(2),
		"FACEIDP_SECRETS_TOKEN_KEY=" + key32(4),
		"FACEIDP_SECRETS_MASTER_KEYS=k1:" + key32(5) + ",k2:" + key32(6),
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// problems returns the problems of a failed Load, failing the test if it
// did not fail with a configuration error.
func problems(t *testing.T, err error) []Problem {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("want a configuration error, got %v", err)
	}
	return ce.Problems
}

func TestDefaultsNeedSecretsOutsideDemo(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(LoadOptions{Environ: []string{"FACEIDP_DATA_DIR=" + dir}})
	ps := problems(t, err)
	var keys []string
	for _, p := range ps {
		keys = append(keys, p.Key)
		if !strings.Contains(p.Message, "required outside demo mode") {
			t.Errorf("%s: unexpected message %q", p.Key, p.Message)
		}
	}
	want := []string{"secrets.cookie_block_key", "secrets.cookie_hash_key", "secrets.master_keys", "secrets.token_key"}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("problem keys = %v, want %v", keys, want)
	}
}

func TestDefaults(t *testing.T) {
	dir := t.TempDir()
	cfg, err := Load(LoadOptions{Environ: append(secretEnv(), "FACEIDP_DATA_DIR="+dir)})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:8080" || cfg.Issuer != "http://127.0.0.1:8080" {
		t.Errorf("listen/issuer defaults = %q %q", cfg.Listen, cfg.Issuer)
	}
	if got, want := cfg.ResolvedDatabaseURL(), "sqlite://"+filepath.Join(dir, "faceidp.db"); got != want {
		t.Errorf("database url = %q, want %q", got, want)
	}
	if got, want := cfg.ResolvedModelsDir(), filepath.Join(dir, "models"); got != want {
		t.Errorf("models dir = %q, want %q", got, want)
	}
	if cfg.Face.ChallengeSteps != 2 || cfg.Face.ChallengeTTL != time.Minute || cfg.Face.Mode != FaceOptional {
		t.Errorf("face defaults = %+v", cfg.Face)
	}
	if d := Defaults(); d.DataDir != "./data" {
		t.Errorf("default data dir = %q", d.DataDir)
	}
	keys, err := cfg.Keys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys.Master) != 2 || keys.Master[1].ID != "k2" || keys.Token[0] != 4 {
		t.Errorf("decoded keys = %+v", keys.Master)
	}
	kr, err := cfg.Keyring(bytes.NewReader(make([]byte, 64)))
	if err != nil {
		t.Fatal(err)
	}
	if kr.NewestID() != "k2" {
		t.Errorf("newest key = %q, want the last listed (k2)", kr.NewestID())
	}
}

func TestLoadYAML(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "faceidp.yaml", `
issuer: https://id.example.com
listen: 0.0.0.0:9000
data_dir: `+dir+`
database_url: postgres://postgres@127.0.0.1:5432/test?sslmode=disable
secrets:
  cookie_hash_key: `+key32(1)+`
  cookie_block_key: `+key32(2)+`
  token_key: `+key32(4)+`
  master_keys:
    - id: old
      key: `+key32(5)+`
    - id: new
      key: `+key32(6)+`
tokens:
  access_token_ttl: 5m
  code_ttl: 30s
face:
  mode: required
  models_dir: /srv/models
  match_threshold: 0.45
  challenge_steps: 3
  challenge_ttl: 90s
  recognizers: 2
  queue: 4
  embedders: dlib+onnx
  onnx:
    runtime_library: /opt/onnxruntime/libonnxruntime.so.1
    min_similarity: 0.35
rate_limit:
  logins_per_ip: 100
  password_delays: [2m, 10m]
  face_throttle_after: 10
trusted_proxies:
  - 10.0.0.0/8
  - 192.0.2.10
log:
  level: debug
  format: json
`)
	cfg, err := Load(LoadOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.Issuer = "https://id.example.com"
	want.Listen = "0.0.0.0:9000"
	want.DataDir = dir
	want.DatabaseURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	want.Secrets = Secrets{
		CookieHashKey: key32(1), CookieBlockKey: key32(2), TokenKey: key32(4),
		MasterKeys: []MasterKey{{"old", key32(5)}, {"new", key32(6)}},
	}
	want.Tokens.AccessTokenTTL = 5 * time.Minute
	want.Tokens.CodeTTL = 30 * time.Second
	want.Face = Face{Mode: "required", ModelsDir: "/srv/models", MatchThreshold: 0.45, ChallengeSteps: 3, ChallengeTTL: 90 * time.Second, Recognizers: 2, Queue: 4,
		Embedders: EmbeddersDlibONNX, ONNX: want.Face.ONNX}
	want.Face.ONNX.RuntimeLibrary = "/opt/onnxruntime/libonnxruntime.so.1"
	want.Face.ONNX.MinSimilarity = 0.35
	want.RateLimit.LoginsPerIP = 100
	want.RateLimit.PasswordDelays = []string{"2m", "10m"}
	want.RateLimit.FaceThrottleAfter = 10
	want.TrustedProxies = []string{"10.0.0.0/8", "192.0.2.10"}
	want.Log = Log{Level: "debug", Format: "json"}
	if !reflect.DeepEqual(*cfg, want) {
		t.Fatalf("loaded\n%+v\nwant\n%+v", *cfg, want)
	}
	if cfg.ResolvedDatabaseURL() != want.DatabaseURL || cfg.ResolvedModelsDir() != "/srv/models" {
		t.Errorf("resolved = %q %q", cfg.ResolvedDatabaseURL(), cfg.ResolvedModelsDir())
	}
	if cfg.ResolvedONNXModel() != "/srv/models/fr_feature.onnx" || cfg.ResolvedONNXRuntime() != "/opt/onnxruntime/libonnxruntime.so.1" {
		t.Errorf("resolved ONNX files = %q %q", cfg.ResolvedONNXModel(), cfg.ResolvedONNXRuntime())
	}
}

func TestEnvOverridesFile(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "c.yaml", "issuer: https://file.example.com\nlisten: 127.0.0.1:1\nface:\n  mode: off\n")
	env := append(secretEnv(),
		"FACEIDP_ISSUER=https://env.example.com",
		"FACEIDP_DATA_DIR="+dir,
		"FACEIDP_DATABASE_URL=sqlite://"+dir+"/x.db",
		"FACEIDP_FACE_MATCH_THRESHOLD=0.5",
	)
	cfg, err := Load(LoadOptions{Path: path, Environ: env})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Issuer != "https://env.example.com" {
		t.Errorf("issuer = %q, want the environment's", cfg.Issuer)
	}
	if cfg.Listen != "127.0.0.1:1" || cfg.Face.Mode != "off" {
		t.Errorf("file values lost: listen %q mode %q", cfg.Listen, cfg.Face.Mode)
	}
	if cfg.DataDir != dir || cfg.ResolvedDatabaseURL() != "sqlite://"+dir+"/x.db" || cfg.Face.MatchThreshold != 0.5 {
		t.Errorf("env not applied: %+v", cfg)
	}
}

// TestEveryKeyHasAnEnvVar sets every key through its environment variable
// and checks that the value arrives, so no key lacks an override.
func TestEveryKeyHasAnEnvVar(t *testing.T) {
	samples := map[string]string{
		"string": "x", "bool": "true", "int": "3", "float": "0.5", "duration": "42s",
		"list": "a,b", "master keys": "id:" + key32(9),
	}
	seen := map[string]string{}
	for _, f := range Fields() {
		if prev, dup := seen[f.Env]; dup {
			t.Errorf("%s and %s share %s", prev, f.Key, f.Env)
		}
		seen[f.Env] = f.Key
		want := strings.ToUpper(strings.ReplaceAll(f.Key, ".", "_"))
		if f.Env != "FACEIDP_"+want {
			t.Errorf("%s: env %s is not systematic", f.Key, f.Env)
		}
		sample, ok := samples[f.Type]
		if !ok {
			t.Fatalf("%s: no sample for type %s", f.Key, f.Type)
		}
		cfg := Defaults()
		c := &collector{sources: map[string]string{}}
		c.applyEnv([]string{f.Env + "=" + sample}, &cfg, nil)
		if len(c.problems) > 0 {
			t.Fatalf("%s: %v", f.Env, c.problems)
		}
		if c.sources[f.Key] != f.Env {
			t.Errorf("%s did not set %s", f.Env, f.Key)
		}
		if reflect.DeepEqual(cfg, Defaults()) {
			t.Errorf("%s=%s changed nothing", f.Env, sample)
		}
	}
	for _, required := range []string{"FACEIDP_ISSUER", "FACEIDP_LISTEN", "FACEIDP_DATA_DIR", "FACEIDP_DATABASE_URL", "FACEIDP_FACE_MATCH_THRESHOLD"} {
		if _, ok := seen[required]; !ok {
			t.Errorf("%s is not a configuration variable", required)
		}
	}
}

func TestUnknownEnvIsLogged(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	env := append(secretEnv(), "FACEIDP_DATA_DIR="+t.TempDir(), "FACEIDP_ISUER=https://typo", "FACEIDP_MODELS_DIR=/x")
	if _, err := Load(LoadOptions{Environ: env, Logger: logger}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "FACEIDP_ISUER") {
		t.Errorf("typo not reported: %s", logs.String())
	}
	if strings.Contains(logs.String(), "FACEIDP_MODELS_DIR") {
		t.Errorf("test fixture variable reported as unknown: %s", logs.String())
	}
}

// TestProblems checks every validation and decoding message: each case is
// applied on top of a valid configuration and must yield exactly the listed
// problems (key and message fragment).
func TestProblems(t *testing.T) {
	type want struct{ key, msg string }
	cases := []struct {
		name string
		yaml string
		env  []string
		want []want
	}{
		{"http issuer off loopback", "issuer: http://example.com", nil,
			[]want{{"issuer", `plain http is allowed only for a loopback issuer (127.0.0.1, ::1, localhost), got "http://example.com"`}}},
		{"http issuer on localhost ok", "issuer: http://localhost:8080", nil, nil},
		{"http issuer on ::1 ok", "issuer: http://[::1]:8080", nil, nil},
		{"relative issuer", "issuer: id.example.com", nil, []want{{"issuer", "must be an absolute http(s) URL"}}},
		{"ftp issuer", "issuer: ftp://id.example.com", nil, []want{{"issuer", "must be an absolute http(s) URL"}}},
		{"empty issuer", `issuer: ""`, nil, []want{{"issuer", "must not be empty"}}},
		{"issuer with query", "issuer: https://id.example.com?a=b", nil, []want{{"issuer", "must not contain user info, a query or a fragment"}}},
		{"issuer with path", "issuer: https://example.com/idp", nil, []want{{"issuer", "must not have a path"}}},
		{"listen without port", "listen: 127.0.0.1", nil, []want{{"listen", "must be host:port"}}},
		{"listen bad port", "listen: 127.0.0.1:99999", nil, []want{{"listen", "port must be a number from 0 to 65535"}}},
		{"listen bad host", "listen: example.com:80", nil, []want{{"listen", "host must be an IP address"}}},
		{"listen all interfaces ok", "listen: :8080", nil, nil},
		{"empty data dir", "", []string{"FACEIDP_DATA_DIR="}, []want{{"data_dir", "must not be empty"}}},
		{"data dir is a file", "", []string{"FACEIDP_DATA_DIR=" + os.Args[0]}, []want{{"data_dir", "is not a directory"}}},
		{"db without scheme", "database_url: /tmp/x.db", nil, []want{{"database_url", "must be sqlite://PATH, file:PATH, postgres://"}}},
		{"libpq dsn ok", "database_url: host=127.0.0.1 user=postgres dbname=test", nil, nil},
		{"file dsn ok", "database_url: file:x.db", nil, nil},
		{"db unsupported", "database_url: mysql://root@localhost/x", nil, []want{{"database_url", `unsupported database "mysql"`}}},
		{"sqlite without path", "database_url: sqlite://", nil, []want{{"database_url", "sqlite: needs a file path"}}},
		{"postgres without db", "database_url: postgres://u:hunter2@127.0.0.1:5432", nil, []want{{"database_url", "needs a host and a database name"}}},
		{"bad base64", "secrets:\n  token_key: '***'", nil, []want{{"secrets.token_key", "not valid base64"}}},
		{"short key", "secrets:\n  cookie_block_key: " + base64.StdEncoding.EncodeToString([]byte("short")), nil,
			[]want{{"secrets.cookie_block_key", "must decode to 32 bytes, got 5"}}},
		{"hash key sizes", "secrets:\n  cookie_hash_key: " + base64.StdEncoding.EncodeToString(make([]byte, 16)), nil,
			[]want{{"secrets.cookie_hash_key", "must decode to 32 or 64 bytes, got 16"}}},
		{"master key problems", "secrets:\n  master_keys:\n    - id: a\n      key: " + key32(1) + "\n    - id: a\n      key: " + key32(2) + "\n    - id: 'b c'\n      key: ''\n    - key: " + key32(3), nil,
			[]want{{"secrets.master_keys[1].id", `"a" appears more than once`}, {"secrets.master_keys[2].id", "may hold only letters"}, {"secrets.master_keys[2].key", "must not be empty"}, {"secrets.master_keys[3].id", "must not be empty"}}},
		{"master keys env not a pair", "", []string{"FACEIDP_SECRETS_MASTER_KEYS=nocolon"}, []want{{"secrets.master_keys", "entry 1 is not id:base64key"}}},
		{"ttl out of range", "tokens:\n  code_ttl: 1h\n  access_token_ttl: 0s", nil,
			[]want{{"tokens.access_token_ttl", "must be between 1m and 24h, got 0s"}, {"tokens.code_ttl", "must be between 5s and 10m, got 1h"}}},
		{"refresh shorter than access", "tokens:\n  access_token_ttl: 2h\n  refresh_token_ttl: 1h", nil,
			[]want{{"tokens.refresh_token_ttl", "must not be shorter than tokens.access_token_ttl"}}},
		{"bad duration", "tokens:\n  session_ttl: forever", nil, []want{{"tokens.session_ttl", "not a duration"}}},
		{"face mode", "face:\n  mode: sometimes", nil, []want{{"face.mode", `must be off, optional or required, got "sometimes"`}}},
		{"face threshold", "face:\n  match_threshold: 1.5", nil, []want{{"face.match_threshold", "must be between 0 and 1"}}},
		{"face threshold not a number", "", []string{"FACEIDP_FACE_MATCH_THRESHOLD=abc"}, []want{{"face.match_threshold", `not a number: "abc"`}}},
		{"face steps", "face:\n  challenge_steps: 5", nil, []want{{"face.challenge_steps", "must be between 1 and 4"}}},
		{"face steps not int", "face:\n  challenge_steps: two", nil, []want{{"face.challenge_steps", `not a whole number: "two"`}}},
		{"face ttl", "face:\n  challenge_ttl: 1s", nil, []want{{"face.challenge_ttl", "must be between 10s and 10m, got 1s"}}},
		{"face pool", "face:\n  recognizers: -1\n  queue: -2", nil,
			[]want{{"face.queue", "must be between 0 (twice the recognizers) and 10000"}, {"face.recognizers", "must be between 0 (one per CPU) and 256"}}},
		{"face embedders", "face:\n  embedders: onnx", nil, []want{{"face.embedders", `must be dlib or dlib+onnx, got "onnx"`}}},
		{"face embedders dlib+onnx ok", "face:\n  embedders: dlib+onnx\n  onnx:\n    model: /srv/arcface.onnx\n    channel_order: bgr\n    mean: 127.5\n    std: 127.5", nil, nil},
		{"face onnx settings", "face:\n  onnx:\n    input_size: 8\n    std: 0\n    channel_order: rbg\n    output_dim: 0\n    min_similarity: 1.2\n    mean: -1", nil,
			[]want{{"face.onnx.channel_order", `must be rgb or bgr, got "rbg"`}, {"face.onnx.input_size", "must be between 32 and 1024 pixels, got 8"}, {"face.onnx.mean", "must be between 0 and 255, got -1"},
				{"face.onnx.min_similarity", "must be at least 0 and below 1"}, {"face.onnx.output_dim", "must be between 1 and 4096, got 0"}, {"face.onnx.std", "must be above 0"}}},
		{"face onnx env", "", []string{"FACEIDP_FACE_ONNX_INPUT_SIZE=big"}, []want{{"face.onnx.input_size", `not a whole number: "big"`}}},
		{"rate limits", "rate_limit:\n  face_challenges_per_minute: 0\n  logins_per_ip: 0\n  logins_per_user: -1\n  password_throttle_after: 1000000\n  password_window: 0s", nil,
			[]want{{"rate_limit.face_challenges_per_minute", "must be between 1 and 100000, got 0"},
				{"rate_limit.logins_per_ip", "must be between 1 and 100000, got 0"}, {"rate_limit.logins_per_user", "must be between 1 and 100000, got -1"},
				{"rate_limit.password_throttle_after", "must be between 1 and 100000, got 1000000"}, {"rate_limit.password_window", "must be between 1m and 720h, got 0s"}}},
		{"face throttle", "rate_limit:\n  face_throttle_after: 11\n  face_delay: 10s\n  face_disable_after: 60", nil,
			[]want{{"rate_limit.face_delay", "must be between 30s"}, {"rate_limit.face_disable_after", "must be more than rate_limit.face_throttle_after (11) and at most 50, got 60"},
				{"rate_limit.face_throttle_after", "must be between 1 and 10"}}},
		{"password delays", "rate_limit:\n  password_delays: [5m, 1m]", nil, []want{{"rate_limit.password_delays", "must not shrink: item 2 (1m) is shorter than item 1 (5m)"}}},
		{"password delays not durations", "", []string{"FACEIDP_RATE_LIMIT_PASSWORD_DELAYS=1m,soon"}, []want{{"rate_limit.password_delays", `item 2 is not a duration`}}},
		{"removed lockout keys", "rate_limit:\n  lockout_threshold: 5", []string{"FACEIDP_RATE_LIMIT_LOCKOUT_DURATION=15m"},
			[]want{{"rate_limit.lockout_threshold", "was removed: the account-wide lockout is replaced by per-factor throttling"}, {"rate_limit.lockout_duration", "was removed"}}},
		{"trusted proxies", "trusted_proxies: [10.0.0.0/8, 10.0.0.0/33, proxy.internal]\nclient_ip_header: X-Real-IP", nil,
			[]want{{"client_ip_header", `must be X-Forwarded-For or Forwarded (RFC 7239), whichever the trusted proxies set, got "X-Real-IP"`},
				{"trusted_proxies", `item 2 is not an address or CIDR range`}, {"trusted_proxies", `item 3 is not an address or CIDR range (e.g. 10.0.0.0/8, 192.0.2.10, fd00::/8): "proxy.internal"`}}},
		{"log", "log:\n  level: loud\n  format: xml", nil,
			[]want{{"log.format", `must be text or json, got "xml"`}, {"log.level", `must be one of debug, info, warn, error, got "loud"`}}},
		{"demo not bool", "demo: perhaps", nil, []want{{"demo", `not a boolean (true or false): "perhaps"`}}},
		{"unknown key", "face:\n  mach_threshold: 0.5\nfoo: 1", nil,
			[]want{{"face.mach_threshold", `unknown key (did you mean "match_threshold"?)`}, {"foo", "unknown key"}}},
		{"section not mapping", "face: yes", nil, []want{{"face", `expected a mapping of keys, got "yes"`}}},
		{"scalar expected", "listen: [a, b]", nil, []want{{"listen", "expected a single value, got a list"}}},
		{"master keys not a list", "secrets:\n  master_keys: abc", nil, []want{{"secrets.master_keys", "expected a list of {id, key} entries"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeFile(t, dir, "c.yaml", tc.yaml)
			// Valid secrets come from the environment, except those the
			// case sets in its file (the environment would override them).
			env := []string{"FACEIDP_DATA_DIR=" + dir}
			for _, kv := range secretEnv() {
				name, _, _ := strings.Cut(kv, "=")
				leaf := strings.ToLower(strings.TrimPrefix(name, "FACEIDP_SECRETS_"))
				if !strings.Contains(tc.yaml, leaf+":") {
					env = append(env, kv)
				}
			}
			env = append(env, tc.env...)
			_, err := Load(LoadOptions{Path: path, Environ: env})
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			ps := problems(t, err)
			if len(ps) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(tc.want), err)
			}
			for i, w := range tc.want {
				if ps[i].Key != w.key || !strings.Contains(ps[i].Message, w.msg) {
					t.Errorf("problem %d = %q, want key %q and message containing %q", i, ps[i].String(), w.key, w.msg)
				}
			}
		})
	}
}

func TestProblemsNameTheirSourceAndHideSecrets(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "c.yaml", "listen: nope\ndatabase_url: postgres://u:hunter2@127.0.0.1:5432\n")
	env := append(secretEnv(), "FACEIDP_DATA_DIR="+dir, "FACEIDP_ISSUER=http://example.com", "FACEIDP_SECRETS_TOKEN_KEY=c2VjcmV0")
	_, err := Load(LoadOptions{Path: path, Environ: env})
	msg := err.Error()
	for _, want := range []string{
		"4 problems",
		`issuer (FACEIDP_ISSUER): plain http`,
		"listen (" + path + " line 1): must be host:port",
		"database_url (" + path + " line 2)",
		"secrets.token_key (FACEIDP_SECRETS_TOKEN_KEY): must decode to 32 bytes, got 6",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	for _, secret := range []string{"hunter2", "c2VjcmV0"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error reveals secret %q:\n%s", secret, msg)
		}
	}
}

func TestMissingConfigFile(t *testing.T) {
	_, err := Load(LoadOptions{Path: filepath.Join(t.TempDir(), "absent.yaml")})
	if err == nil || !os.IsNotExist(errors.Unwrap(err)) {
		t.Fatalf("want a not-exist error, got %v", err)
	}
}

func TestDemoSecretsGeneratedOncePersistedAndWarned(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	var logs bytes.Buffer
	opts := LoadOptions{
		Environ: []string{"FACEIDP_DATA_DIR=" + dir, "FACEIDP_SECRETS_COOKIE_BLOCK_KEY=" + key32(7)},
		Demo:    true,
		Rand:    bytes.NewReader(bytes.Repeat([]byte{0xAB}, 1024)),
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
	}
	first, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Demo {
		t.Error("--demo did not set demo mode")
	}
	if !strings.Contains(logs.String(), "demo mode: generated new secrets") {
		t.Errorf("no note that secrets were generated: %s", logs.String())
	}
	if first.Secrets.CookieBlockKey != key32(7) {
		t.Error("configured secret replaced by a generated one")
	}
	if first.Secrets.TokenKey != base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xAB}, 32)) {
		t.Errorf("token key not drawn from the injected random source: %q", first.Secrets.TokenKey)
	}
	fi, err := os.Stat(filepath.Join(dir, DemoSecretsFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("demo secrets file mode = %v, want 0600", fi.Mode().Perm())
	}
	stored, _ := os.ReadFile(filepath.Join(dir, DemoSecretsFile))
	if strings.Contains(string(stored), key32(7)) {
		t.Error("a configured secret was written to the demo secrets file")
	}

	// A second start reuses the stored secrets (a different random source
	// would otherwise yield different keys) and generates nothing.
	logs.Reset()
	opts.Rand = bytes.NewReader(bytes.Repeat([]byte{0xCD}, 1024))
	second, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first.Secrets, second.Secrets) {
		t.Errorf("secrets changed between starts:\n%+v\n%+v", first.Secrets, second.Secrets)
	}
	if strings.Contains(logs.String(), "generated new secrets") {
		t.Errorf("second start generated secrets again: %s", logs.String())
	}
	// Loading says nothing more: the standing warning is the server's, once
	// per start (every CLI command loads the configuration).
	if logs.Len() != 0 {
		t.Errorf("loading the configuration again logged: %s", logs.String())
	}
	second.WarnDemoMode(slog.New(slog.NewTextHandler(&logs, nil)))
	if n := strings.Count(logs.String(), "DEMO MODE"); n != 1 || !strings.Contains(logs.String(), second.DemoSecretsPath()) {
		t.Errorf("WarnDemoMode: %d warnings, want 1 naming the file: %s", n, logs.String())
	}
	logs.Reset()
	cfg := Defaults()
	cfg.WarnDemoMode(slog.New(slog.NewTextHandler(&logs, nil)))
	if logs.Len() != 0 {
		t.Errorf("WarnDemoMode outside demo mode logged: %s", logs.String())
	}
}

func TestGenerateSecretsIsValid(t *testing.T) {
	s, err := GenerateSecrets(bytes.NewReader(bytes.Repeat([]byte{1}, 512)), "2026-01")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Secrets = s
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := GenerateSecrets(bytes.NewReader(nil), "x"); err == nil {
		t.Error("an exhausted random source did not fail")
	}
}

// rate_limit.redis_url is checked with the Redis client's own parser; every
// message names the key and its source and never shows the password.
func TestRateLimitRedisURL(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"redis://:hunter2@127.0.0.1:6379/0", ""},
		{"rediss://user:hunter2@redis.internal:6380/2", ""},
		{"unix:///run/redis/redis.sock", ""},
		{"http://:hunter2@127.0.0.1:6379", "invalid URL scheme: http"},
		{"redis://:hunter2@127.0.0.1:6379/zero", "invalid database number"},
		{"redis://:hunter2@127.0.0.1:6379/0?pool=3", "unexpected option: pool"},
		{"redis://:hunter2@127.0.0.1:port/0", "not a Redis URL"},
		{"127.0.0.1:6379", "not a Redis URL"},
	} {
		env := append(secretEnv(), "FACEIDP_DATA_DIR="+t.TempDir(), "FACEIDP_RATE_LIMIT_REDIS_URL="+tc.url)
		cfg, err := Load(LoadOptions{Environ: env})
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.url, err)
			} else if cfg.RateLimit.RedisURL != tc.url {
				t.Errorf("%s: RateLimit.RedisURL = %q", tc.url, cfg.RateLimit.RedisURL)
			}
			continue
		}
		ps := problems(t, err)
		if len(ps) != 1 || ps[0].Key != "rate_limit.redis_url" || !strings.Contains(ps[0].Message, tc.want) {
			t.Errorf("%s: problems %v, want one for rate_limit.redis_url containing %q", tc.url, ps, tc.want)
		}
		if msg := err.Error(); !strings.Contains(msg, "rate_limit.redis_url (FACEIDP_RATE_LIMIT_REDIS_URL)") || strings.Contains(msg, "hunter2") {
			t.Errorf("%s: error must name the key and its variable and hide the password:\n%s", tc.url, msg)
		}
	}
}
