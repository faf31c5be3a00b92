package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faceidp/faceidp/config"
	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/keyring"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
	"github.com/faceidp/faceidp/storage/sqlstore"
)

func key(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// testEnv is a complete, valid configuration in environment variables with
// SQLite in a fresh data directory and the face factor off.
type testEnv struct {
	t       *testing.T
	dataDir string
	vars    []string
}

func newTestEnv(t *testing.T) *testEnv {
	dir := t.TempDir()
	return &testEnv{t: t, dataDir: dir, vars: []string{
		"FACEIDP_DATA_DIR=" + dir,
		"FACEIDP_FACE_MODE=off",
		"FACEIDP_SECRETS_COOKIE_HASH_KEY=" + key(t),
		"FACEIDP_SECRETS_COOKIE_BLOCK_KEY=" + key(t),
		"FACEIDP_SECRETS_TOKEN_KEY=" + key(t),
		"FACEIDP_SECRETS_MASTER_KEYS=k1:" + key(t),
		"FACEIDP_LOG_LEVEL=warn",
	}}
}

func (e *testEnv) with(vars ...string) *testEnv {
	return &testEnv{t: e.t, dataDir: e.dataDir, vars: append(append([]string(nil), e.vars...), vars...)}
}

type result struct {
	stdout, stderr string
	code           int
}

func (e *testEnv) runCtx(ctx context.Context, stdin string, args ...string) result {
	e.t.Helper()
	var out, errb bytes.Buffer
	code := run(ctx, args, strings.NewReader(stdin), &out, &errb, e.vars)
	return result{out.String(), errb.String(), code}
}

func (e *testEnv) run(stdin string, args ...string) result {
	e.t.Helper()
	return e.runCtx(context.Background(), stdin, args...)
}

// ok runs a command that must succeed.
func (e *testEnv) ok(stdin string, args ...string) string {
	e.t.Helper()
	r := e.run(stdin, args...)
	if r.code != 0 {
		e.t.Fatalf("faceidp %s: exit %d\nstderr: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// fails runs a command that must fail with a single error line (a
// configuration error may list its problems below it) and no usage text.
func (e *testEnv) fails(stdin string, args ...string) string {
	e.t.Helper()
	r := e.run(stdin, args...)
	if r.code == 0 {
		e.t.Fatalf("faceidp %s succeeded, want an error\nstdout: %s", strings.Join(args, " "), r.stdout)
	}
	if !strings.HasPrefix(r.stderr, "faceidp: ") || strings.Contains(r.stderr, "Usage:") {
		e.t.Errorf("error output is not one clear line:\n%s", r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "faceidp: invalid configuration") && strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		e.t.Errorf("error spans several lines:\n%s", r.stderr)
	}
	return r.stderr
}

func (e *testEnv) store() *sqlstore.Store {
	e.t.Helper()
	s, err := sqlstore.Open(context.Background(), "sqlite://"+filepath.Join(e.dataDir, "faceidp.db"))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { s.Close() })
	return s
}

func TestUserAddListDisableSetPassword(t *testing.T) {
	e := newTestEnv(t)
	out := e.ok("correct horse battery staple\n", "user", "add", "--username", "ada", "--email", "ada@example.com", "--name", "Ada Lovelace")
	if !strings.Contains(out, "user ada added") {
		t.Errorf("user add printed %q", out)
	}
	e.ok("another fine password", "user", "add", "--username", "bob", "--email", "bob@example.com", "--email-verified")

	list := e.ok("", "user", "list")
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "USERNAME") {
		t.Fatalf("user list:\n%s", list)
	}
	for _, want := range []string{"ada", "ada@example.com", "Ada Lovelace", "active"} {
		if !strings.Contains(list, want) {
			t.Errorf("user list lacks %q:\n%s", want, list)
		}
	}

	// The stored password is an argon2id hash that verifies.
	store := e.store()
	u, err := store.GetUserByLogin(context.Background(), "ada")
	if err != nil {
		t.Fatal(err)
	}
	h, _ := password.New(password.Params{}, rand.Reader)
	if ok, _, err := h.Verify(u.PasswordHash, "correct horse battery staple"); !ok || err != nil {
		t.Errorf("stored hash does not verify the password (%v)", err)
	}
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Errorf("password hash %q is not argon2id", u.PasswordHash)
	}

	// A live session is revoked when the user is disabled.
	ctx := context.Background()
	now := time.Now()
	if err := store.CreateSession(ctx, &models.Session{ID: "s1", UserID: u.ID, AuthTime: now, CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if bob, err := store.GetUserByLogin(context.Background(), "bob"); err != nil || !bob.EmailVerified {
		t.Errorf("--email-verified not stored (%v)", err)
	}
	if out := e.ok("", "user", "disable", "ada@example.com"); !strings.Contains(out, "1 session(s) revoked") {
		t.Errorf("user disable printed %q", out)
	}
	if s, err := store.GetSession(ctx, "s1"); err != nil || s.Active(time.Now()) {
		t.Errorf("session still active after disable (%v)", err)
	}
	if !strings.Contains(e.ok("", "user", "list"), "disabled") {
		t.Error("user list does not show ada disabled")
	}
	e.ok("", "user", "enable", "ada")

	e.ok("a brand new password\n", "user", "set-password", "ada")
	u, _ = store.GetUserByLogin(ctx, "ada")
	if ok, _, _ := h.Verify(u.PasswordHash, "a brand new password"); !ok {
		t.Error("set-password did not store the new password")
	}
	if ok, _, _ := h.Verify(u.PasswordHash, "correct horse battery staple"); ok {
		t.Error("the old password still verifies")
	}
	if u.Disabled {
		t.Error("user enable did not re-enable ada")
	}
}

func TestUserErrors(t *testing.T) {
	e := newTestEnv(t)
	e.ok("correct horse battery staple\n", "user", "add", "--username", "ada", "--email", "ada@example.com")

	msg := e.fails("another password\n", "user", "add", "--username", "ada", "--email", "other@example.com")
	if !strings.Contains(msg, `user add: a user with username "ada" or email "other@example.com" already exists`) {
		t.Errorf("duplicate user: %q", msg)
	}
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"user", "add", "--username", "x", "--email", "x@example.com"}, "no password on standard input"},
		{"short\n", []string{"user", "add", "--username", "x", "--email", "x@example.com"}, "password is too short: 5 characters, at least 8 required"},
		{"long enough pw\n", []string{"user", "add", "--username", "x y", "--email", "not-an-email"}, `username "x y" is invalid`},
		{"long enough pw\n", []string{"user", "add", "--username", "x", "--email", "not-an-email"}, `email "not-an-email" is not a valid address`},
		{"long enough pw\n", []string{"user", "add", "--email", "x@example.com"}, "--username and --email are required"},
		{"", []string{"user", "disable", "nobody"}, `no user with id, username or email "nobody"`},
		{"long enough pw\n", []string{"user", "set-password", "nobody"}, `no user with id, username or email "nobody"`},
		{"", []string{"user", "disable"}, "accepts 1 arg(s)"},
		{"", []string{"user", "add", "--bogus"}, "unknown flag: --bogus"},
	} {
		if msg := e.fails(tc.stdin, tc.args...); !strings.Contains(msg, tc.want) {
			t.Errorf("faceidp %s: %q, want %q", strings.Join(tc.args, " "), msg, tc.want)
		}
	}
	// Nothing half-written: still exactly one user.
	if lines := strings.Count(strings.TrimSpace(e.ok("", "user", "list")), "\n"); lines != 1 {
		t.Errorf("user list has %d users after the failures, want 1", lines)
	}
}

func TestClientAddListRemove(t *testing.T) {
	e := newTestEnv(t)
	out := e.ok("", "client", "add", "--id", "spa", "--name", "Single page app",
		"--redirect-uri", "http://127.0.0.1:9090/callback", "--redirect-uri", "https://app.example.com/cb",
		"--post-logout-redirect-uri", "http://127.0.0.1:9090/")
	if !strings.Contains(out, "client spa added: public") {
		t.Errorf("client add printed %q", out)
	}
	out = e.ok("", "client", "add", "--id", "web", "--secret", "generate", "--redirect-uri", "https://web.example.com/cb",
		"--skip-consent", "--require-face", "--id-token-alg", "ES256")
	if !strings.Contains(out, "client web added: confidential") {
		t.Errorf("client add printed %q", out)
	}
	// The generated secret is printed once, as the last line.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	secret := lines[len(lines)-1]
	if raw, err := base64.RawURLEncoding.DecodeString(secret); err != nil || len(raw) != 32 {
		t.Fatalf("client add --secret generate printed %q, want 256 random bits", out)
	}
	// A supplied secret comes from standard input with --secret -.
	imported := base64.StdEncoding.EncodeToString([]byte("0123456789abcdefghijklmnopqrstuv"))
	if out := e.ok(imported+"\n", "client", "add", "--id", "imported", "--secret", "-", "--redirect-uri", "https://imp.example.com/cb"); strings.Contains(out, imported) {
		t.Errorf("client add printed the supplied secret: %q", out)
	}

	list := e.ok("", "client", "list")
	for _, want := range []string{
		"spa", "Single page app", "public", "http://127.0.0.1:9090/callback,https://app.example.com/cb",
		"web", "confidential", "hmac-sha256 (key k1)", "skip", "required", "ES256",
	} {
		if !strings.Contains(list, want) {
			t.Errorf("client list lacks %q:\n%s", want, list)
		}
	}
	c, err := e.store().GetClient(context.Background(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.SecretHash, "$hmac-sha256$k=k1$") || strings.Contains(c.SecretHash, secret) {
		t.Errorf("client secret not stored as an HMAC under master key k1: %q", c.SecretHash)
	}
	// set-secret replaces it (generated by default) and prints the new one.
	out = e.ok("", "client", "set-secret", "web")
	if fresh := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:]); fresh == secret || len(fresh) != 43 {
		t.Errorf("client set-secret printed %q", out)
	}
	if c2, _ := e.store().GetClient(context.Background(), "web"); c2.SecretHash == c.SecretHash {
		t.Error("client set-secret did not replace the hash")
	}
	if msg := e.fails("", "client", "set-secret", "spa"); !strings.Contains(msg, "is public") {
		t.Errorf("set-secret of a public client: %q", msg)
	}
	if !c.RequireFace || !c.SkipConsent || c.IDTokenAlg != "ES256" {
		t.Errorf("client flags not stored: %+v", c)
	}

	if msg := e.fails("", "client", "add", "--id", "spa", "--redirect-uri", "https://x.example.com/cb"); !strings.Contains(msg, `a client with id "spa" already exists`) {
		t.Errorf("duplicate client: %q", msg)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--id", "x", "--redirect-uri", "http://app.example.com/cb"}, "uses plain http on a non-loopback host"},
		{[]string{"--id", "x", "--redirect-uri", "https://app.example.com/cb#frag"}, "must not contain a fragment"},
		{[]string{"--id", "x", "--redirect-uri", "/relative"}, "is not an absolute URI"},
		{[]string{"--id", "x"}, "at least one redirect URI is required"},
		{[]string{"--id", "x", "--redirect-uri", "https://a.example.com/", "--id-token-alg", "HS256"}, `ID token algorithm "HS256" is not RS256 or ES256`},
		{[]string{"--id", "x", "--redirect-uri", "https://a.example.com/", "--secret", "0123456789abcdef-secret"}, "at least 32 random bytes"},
		{[]string{"--id", "bad id", "--redirect-uri", "https://a.example.com/"}, `client id "bad id" is invalid`},
		{[]string{"--redirect-uri", "https://a.example.com/"}, "--id is required"},
	} {
		if msg := e.fails("", append([]string{"client", "add"}, tc.args...)...); !strings.Contains(msg, tc.want) {
			t.Errorf("client add %v: %q, want %q", tc.args, msg, tc.want)
		}
	}

	e.ok("", "client", "remove", "spa")
	if list := e.ok("", "client", "list"); strings.Contains(list, "spa") || !strings.Contains(list, "web") {
		t.Errorf("after remove:\n%s", list)
	}
	if msg := e.fails("", "client", "remove", "spa"); !strings.Contains(msg, `no client with id "spa"`) {
		t.Errorf("removing a missing client: %q", msg)
	}
}

func TestEveryCommandReportsEveryConfigProblem(t *testing.T) {
	e := newTestEnv(t).with("FACEIDP_ISSUER=http://example.com", "FACEIDP_FACE_MATCH_THRESHOLD=2", "FACEIDP_LISTEN=nope")
	for _, args := range [][]string{{"serve"}, {"migrate"}, {"user", "list"}, {"client", "list"}, {"keys", "rotate"}, {"demo-rp"}} {
		msg := e.fails("", args...)
		for _, want := range []string{
			"3 problems",
			`issuer (FACEIDP_ISSUER): plain http is allowed only for a loopback issuer (127.0.0.1, ::1, localhost), got "http://example.com"`,
			"face.match_threshold (FACEIDP_FACE_MATCH_THRESHOLD): must be between 0 and 1",
			"listen (FACEIDP_LISTEN): must be host:port",
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("faceidp %v: output lacks %q:\n%s", args, want, msg)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(e.dataDir, "faceidp.db")); err == nil {
		t.Error("a command created the database despite an invalid configuration")
	}
}

func TestConfigFileAndUnknownKeys(t *testing.T) {
	e := newTestEnv(t)
	path := filepath.Join(t.TempDir(), "faceidp.yaml")
	if err := os.WriteFile(path, []byte("face:\n  mode: off\n  treshold: 0.4\nlisten: 127.0.0.1:8081\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	msg := e.fails("", "--config", path, "user", "list")
	if !strings.Contains(msg, "face.treshold ("+path+" line 3): unknown key") {
		t.Errorf("unknown key not reported with its place: %s", msg)
	}
	if msg := e.fails("", "--config", filepath.Join(t.TempDir(), "missing.yaml"), "user", "list"); !strings.Contains(msg, "read config file") {
		t.Errorf("missing config file: %s", msg)
	}
	// FACEIDP_CONFIG names the file too.
	if err := os.WriteFile(path, []byte("face:\n  mode: off\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.with("FACEIDP_CONFIG="+path).ok("", "user", "list")
}

func TestSecretsGenerateMakesAValidConfig(t *testing.T) {
	e := &testEnv{t: t, dataDir: t.TempDir()}
	e.vars = []string{"FACEIDP_DATA_DIR=" + e.dataDir, "FACEIDP_FACE_MODE=off"}
	if msg := e.fails("", "user", "list"); !strings.Contains(msg, "secrets.master_keys: at least one {id, key} is required outside demo mode") {
		t.Errorf("missing secrets: %s", msg)
	}
	out := e.ok("", "secrets", "generate", "--key-id", "2026-a")
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	e.ok("", "--config", path, "user", "list")
	entry := e.ok("", "secrets", "generate", "--master-key-only", "--key-id", "2026-b")
	if !strings.HasPrefix(entry, "- id: 2026-b\n  key: ") {
		t.Errorf("master key entry = %q", entry)
	}
}

func TestDemoFlagGeneratesSecrets(t *testing.T) {
	dir := t.TempDir()
	e := &testEnv{t: t, dataDir: dir, vars: []string{"FACEIDP_DATA_DIR=" + dir, "FACEIDP_FACE_MODE=off"}}
	r := e.run("", "--demo", "user", "list")
	if r.code != 0 || !strings.Contains(r.stderr, "demo mode: generated new secrets") {
		t.Fatalf("--demo: exit %d, stderr %s", r.code, r.stderr)
	}
	if fi, err := os.Stat(filepath.Join(dir, config.DemoSecretsFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("demo secrets file: %v %v", fi, err)
	}
}

func TestKeysRotate(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.ok("", "keys", "rotate")
	store := e.store()
	keys, err := store.ListSigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("after the first rotation: %d keys, want an RS256 and an ES256", len(keys))
	}
	e.ok("", "keys", "rotate")
	keys, _ = store.ListSigningKeys(ctx)
	retired := 0
	for _, k := range keys {
		if k.RetiredAt != nil {
			retired++
			if k.RemoveAfter == nil || k.RemoveAfter.Before(time.Now().Add(59*time.Minute)) {
				t.Errorf("retired key %s leaves the JWKS at %v, before the ID token TTL (1h)", k.ID, k.RemoveAfter)
			}
		}
	}
	if len(keys) != 4 || retired != 2 {
		t.Errorf("after the second rotation: %d keys, %d retired; want 4 and 2", len(keys), retired)
	}

	// Adding a master key and resealing moves every signing key under it.
	e2 := e.with("FACEIDP_SECRETS_MASTER_KEYS=" + strings.TrimPrefix(e.vars[5], "FACEIDP_SECRETS_MASTER_KEYS=") + ",k2:" + key(t))
	if out := e2.ok("", "keys", "reseal"); !strings.Contains(out, `4 signing key(s) re-encrypted under master key "k2"`) {
		t.Errorf("keys reseal printed %q", out)
	}
	if out := e2.ok("", "keys", "reseal"); !strings.Contains(out, "0 signing key(s)") {
		t.Errorf("second reseal printed %q", out)
	}
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serveUntilReady starts serve in the background and waits for discovery.
func serveUntilReady(t *testing.T, e *testEnv) (issuer string, stop func() result) {
	t.Helper()
	addr := freeAddr(t)
	issuer = "http://" + addr
	e = e.with("FACEIDP_LISTEN="+addr, "FACEIDP_ISSUER="+issuer)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 1)
	go func() { done <- e.runCtx(ctx, "", "serve") }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(issuer + "/.well-known/openid-configuration")
		if err == nil {
			var doc struct {
				Issuer string `json:"issuer"`
			}
			err = json.NewDecoder(resp.Body).Decode(&doc)
			resp.Body.Close()
			if err == nil && doc.Issuer == issuer {
				break
			}
		}
		select {
		case r := <-done:
			cancel()
			t.Fatalf("serve exited early: %d\n%s", r.code, r.stderr)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return issuer, func() result {
		cancel()
		return <-done
	}
}

func TestServeStartsAndShutsDownGracefully(t *testing.T) {
	issuer, stop := serveUntilReady(t, newTestEnv(t))
	resp, err := http.Get(issuer + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz: %d", resp.StatusCode)
	}
	// face.mode off: no face step is mounted.
	resp, err = http.Get(issuer + "/login/face/?authRequestID=x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("face.mode off but GET /login/face/ = %d", resp.StatusCode)
	}
	if r := stop(); r.code != 0 {
		t.Fatalf("serve after SIGINT-equivalent: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := http.Get(issuer + "/healthz"); err == nil {
		t.Error("server still answering after shutdown")
	}
}

func TestServeRefusesBadConfig(t *testing.T) {
	e := newTestEnv(t)
	msg := e.with("FACEIDP_TOKENS_CODE_TTL=1h", "FACEIDP_SECRETS_TOKEN_KEY=c2hvcnQ=").fails("", "serve")
	for _, want := range []string{"tokens.code_ttl (FACEIDP_TOKENS_CODE_TTL): must be between 5s and 10m", "secrets.token_key (FACEIDP_SECRETS_TOKEN_KEY): must decode to 32 bytes, got 5"} {
		if !strings.Contains(msg, want) {
			t.Errorf("serve output lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "c2hvcnQ=") {
		t.Error("the error output reveals a secret")
	}
}

func TestServeRefusesIncompleteModelDir(t *testing.T) {
	empty := t.TempDir()
	for _, mode := range []string{"required", "optional"} {
		e := newTestEnv(t).with("FACEIDP_FACE_MODE="+mode, "FACEIDP_FACE_MODELS_DIR="+empty)
		msg := e.fails("", "serve")
		for _, want := range []string{faceauth.ShapePredictorFile, "faceidp models assemble", "faceidp models fetch", `face.mode is "` + mode + `"`} {
			if !strings.Contains(msg, want) {
				t.Errorf("mode %s: serve output lacks %q:\n%s", mode, want, msg)
			}
		}
	}
}

// modelsDir is the assembled face model directory (scripts/test exports
// FACEIDP_MODELS_DIR).
func modelsDir(t *testing.T) string {
	dir := os.Getenv("FACEIDP_MODELS_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", ".build", "models")
	}
	if err := faceauth.CheckModelDir(dir); err != nil {
		t.Fatalf("face models (run scripts/test or set FACEIDP_MODELS_DIR): %v", err)
	}
	return dir
}

func TestModelsCommands(t *testing.T) {
	e := newTestEnv(t)
	empty := t.TempDir()
	msg := e.fails("", "models", "check", "--dir", empty)
	if !strings.Contains(msg, faceauth.ShapePredictorFile) || !strings.Contains(msg, "faceidp models assemble") {
		t.Errorf("models check on an empty dir: %s", msg)
	}
	if msg := e.fails("", "models", "assemble", "--dir", empty); !strings.Contains(msg, "--from is required") {
		t.Errorf("assemble without --from: %s", msg)
	}
	// The configured directory is used without --dir.
	src := modelsDir(t)
	out := e.with("FACEIDP_FACE_MODELS_DIR="+src).ok("", "models", "check")
	if !strings.Contains(out, "face models OK in "+src) {
		t.Errorf("models check printed %q", out)
	}
	// Assemble a fresh directory from the files the assembled one links to.
	rec, err := filepath.EvalSymlinks(filepath.Join(src, faceauth.RecognitionFile))
	if err != nil {
		t.Fatal(err)
	}
	sp, err := filepath.EvalSymlinks(filepath.Join(src, faceauth.ShapePredictorFile))
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "models")
	out = e.ok("", "models", "assemble", "--dir", dst, "--from", filepath.Dir(rec), "--shape-predictor", sp)
	if !strings.Contains(out, "face models assembled in "+dst) {
		t.Errorf("models assemble printed %q", out)
	}
	e.ok("", "models", "check", "--dir", dst)
}

func TestServeWithFaceFactorAndRotateTemplates(t *testing.T) {
	modelDir := modelsDir(t)
	e := newTestEnv(t).with("FACEIDP_FACE_MODE=optional", "FACEIDP_FACE_MODELS_DIR="+modelDir, "FACEIDP_FACE_RECOGNIZERS=1")
	issuer, stop := serveUntilReady(t, e)
	// The face step is mounted: its page for an unknown request is an
	// error page, not a 404.
	resp, err := http.Get(issuer + "/login/face/?authRequestID=unknown")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		t.Errorf("face step not mounted: GET /login/face/ = 404")
	}
	if r := stop(); r.code != 0 {
		t.Fatalf("serve: exit %d\n%s", r.code, r.stderr)
	}

	// A template sealed under k1 moves to k2 with keys rotate-templates.
	ctx := context.Background()
	store := e.store()
	k1 := e.vars[5][len("FACEIDP_SECRETS_MASTER_KEYS=k1:"):]
	secret1, _ := base64.StdEncoding.DecodeString(k1)
	kr1, err := keyring.New([]keyring.Key{{ID: "k1", Secret: secret1}}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &faceauth.Template{Descriptors: []faceauth.Descriptor{{0.1, 0.2}, {0.3}}}
	if err := store.CreateUser(ctx, &models.User{ID: "u1", Username: "u1", Email: "u1@example.com"}); err != nil {
		t.Fatal(err)
	}
	kid, sealed, err := faceauth.SealTemplate(kr1, "u1", tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SaveFaceTemplate(ctx, &models.FaceTemplate{UserID: "u1", KeyID: kid, Sealed: sealed, Samples: 2}); err != nil {
		t.Fatal(err)
	}
	// Rotation never runs the engine, so it works where the models are not
	// installed (a key-management host).
	e2 := e.with("FACEIDP_SECRETS_MASTER_KEYS=k1:"+k1+",k2:"+key(t), "FACEIDP_FACE_MODELS_DIR="+t.TempDir())
	out := e2.ok("", "keys", "rotate-templates")
	if !strings.Contains(out, `1 total, 1 re-encrypted, 0 already under "k2"`) {
		t.Errorf("rotate-templates printed %q", out)
	}
	rec, err := store.GetFaceTemplate(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if rec.KeyID != "k2" {
		t.Errorf("template still under %q", rec.KeyID)
	}
	if !strings.Contains(e2.ok("", "user", "list"), "enrolled") {
		t.Error("user list does not show the enrolled face")
	}
}

func TestUserRequireFace(t *testing.T) {
	e := newTestEnv(t)
	e.ok("correct horse battery staple\n", "user", "add", "--username", "ada", "--email", "ada@example.com", "--require-face")
	ctx := context.Background()
	if u, err := e.store().GetUserByLogin(ctx, "ada"); err != nil || !u.RequireFace {
		t.Fatalf("--require-face not stored (%v)", err)
	}
	if list := e.ok("", "user", "list"); !strings.Contains(list, "-,required") {
		t.Errorf("user list does not show face required:\n%s", list)
	}
	if out := e.ok("", "user", "set-require-face", "ada", "false"); !strings.Contains(out, "face is now not required for ada") {
		t.Errorf("set-require-face false printed %q", out)
	}
	if u, _ := e.store().GetUserByLogin(ctx, "ada"); u.RequireFace {
		t.Fatal("set-require-face false did not clear it")
	}
	if out := e.ok("", "user", "set-require-face", "ada", "false"); !strings.Contains(out, "already not required") {
		t.Errorf("set-require-face false twice printed %q", out)
	}
	e.ok("", "user", "set-require-face", "ada@example.com", "true")
	if u, _ := e.store().GetUserByLogin(ctx, "ada"); !u.RequireFace {
		t.Fatal("set-require-face true did not set it")
	}
	if msg := e.fails("", "user", "set-require-face", "ada", "maybe"); !strings.Contains(msg, `must be true or false, got "maybe"`) {
		t.Errorf("bad value: %q", msg)
	}
	if msg := e.fails("", "user", "set-require-face", "nobody", "true"); !strings.Contains(msg, "no user") {
		t.Errorf("unknown user: %q", msg)
	}
}

// set-password and disable end every session and token of the user, and
// every administrative act leaves an audit event without the password.
func TestUserCommandsRevokeTokensAndAudit(t *testing.T) {
	e := newTestEnv(t)
	e.ok("correct horse battery staple\n", "user", "add", "--username", "ada", "--email", "ada@example.com")
	store := e.store()
	ctx := context.Background()
	u, err := store.GetUserByLogin(ctx, "ada")
	if err != nil {
		t.Fatal(err)
	}
	grant := func(tag string) {
		now := time.Now()
		if err := store.CreateSession(ctx, &models.Session{ID: "s-" + tag, UserID: u.ID, CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		rt := &models.RefreshToken{ID: "rt-" + tag, TokenHash: "h-" + tag, ClientID: "app", UserID: u.ID, ExpiresAt: now.Add(time.Hour), CreatedAt: now}
		at := &models.AccessToken{ID: "at-" + tag, ClientID: "app", UserID: u.ID, ExpiresAt: now.Add(time.Hour), CreatedAt: now}
		if err := store.CreateRefreshToken(ctx, rt, at); err != nil {
			t.Fatal(err)
		}
	}
	revoked := func(cmd, tag string) {
		if s, err := store.GetSession(ctx, "s-"+tag); err != nil || s.Active(time.Now()) {
			t.Errorf("%s: session still active (%v)", cmd, err)
		}
		if _, err := store.GetAccessToken(ctx, "at-"+tag); err == nil {
			t.Errorf("%s: access token still valid", cmd)
		}
		if _, err := store.GetRefreshTokenByHash(ctx, "h-"+tag); err == nil {
			t.Errorf("%s: refresh token still valid", cmd)
		}
	}
	grant("1")
	e.ok("a brand new password\n", "user", "set-password", "ada")
	revoked("set-password", "1")
	grant("2")
	e.ok("", "user", "disable", "ada")
	revoked("disable", "2")
	e.ok("", "user", "enable", "ada")
	out := e.ok("", "client", "add", "--id", "app", "--secret", "generate", "--redirect-uri", "https://app.example.com/cb")
	clientSecret := out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:]
	e.ok("", "client", "remove", "app")

	evs, err := store.ListAudit(ctx, storage.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range evs {
		types = append([]string{ev.Type}, types...) // oldest first
		dump := fmt.Sprintf("%+v", ev)
		for _, secret := range []string{"correct horse", "brand new", strings.TrimSpace(clientSecret), "$argon2id$", "$hmac-sha256$"} {
			if strings.Contains(dump, secret) {
				t.Errorf("audit event reveals %q: %s", secret, dump)
			}
		}
	}
	want := []string{"admin.user_create", "admin.set_password", "admin.user_disable", "admin.user_enable", "admin.client_create", "admin.client_remove"}
	if strings.Join(types, " ") != strings.Join(want, " ") {
		t.Errorf("audit events %v, want %v", types, want)
	}
}

// user reset-face deletes the template (user list then shows no face) and
// says so when there is none; an unknown user is a one-line error.
func TestUserResetFace(t *testing.T) {
	e := newTestEnv(t)
	e.ok("correct horse battery staple\n", "user", "add", "--username", "ada", "--email", "ada@example.com")
	ctx := context.Background()
	store := e.store()
	u, err := store.GetUserByLogin(ctx, "ada")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SaveFaceTemplate(ctx, &models.FaceTemplate{UserID: u.ID, KeyID: "k1", Sealed: []byte("sealed"), Samples: 3}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.ok("", "user", "list"), "enrolled") {
		t.Fatal("user list does not show the enrolled face")
	}
	if out := e.ok("", "user", "reset-face", "ada"); !strings.Contains(out, "face template of ada deleted") {
		t.Errorf("reset-face printed %q", out)
	}
	if strings.Contains(e.ok("", "user", "list"), "enrolled") {
		t.Error("user list still shows a face after reset-face")
	}
	if out := e.ok("", "user", "reset-face", "ada"); !strings.Contains(out, "has no face template") {
		t.Errorf("second reset-face printed %q", out)
	}
	if msg := e.fails("", "user", "reset-face", "nobody"); !strings.Contains(msg, "user reset-face") || strings.Count(strings.TrimSpace(msg), "\n") != 0 {
		t.Errorf("reset-face of an unknown user: %q, want one line", msg)
	}
}

// user list shows a disabled face and a password wait; enable-face clears
// the face counter only, enable clears the rest.
func TestUserEnableFace(t *testing.T) {
	e := newTestEnv(t)
	e.ok("correct horse battery staple\n", "user", "add", "--username", "ada", "--email", "ada@example.com")
	ctx := context.Background()
	store := e.store()
	u, err := store.GetUserByLogin(ctx, "ada")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, c := range []struct {
		factor   string
		failures int
	}{{"face", 50}, {"pwd", 5}} {
		if _, err := store.UpdateThrottle(ctx, "user:"+u.ID, c.factor, func(th *models.FactorThrottle) error {
			th.UserID, th.Failures, th.LastFailureAt = u.ID, c.failures, &now
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if list := e.ok("", "user", "list"); !strings.Contains(list, "face disabled") || !strings.Contains(list, "pwd wait 1 minute") {
		t.Fatalf("user list does not show the throttles:\n%s", list)
	}
	if out := e.ok("", "user", "enable-face", "ada"); !strings.Contains(out, "face sign-in of ada enabled again") {
		t.Errorf("enable-face printed %q", out)
	}
	if list := e.ok("", "user", "list"); strings.Contains(list, "face disabled") || !strings.Contains(list, "pwd wait") {
		t.Fatalf("after enable-face (face only):\n%s", list)
	}
	if out := e.ok("", "user", "enable-face", "ada"); !strings.Contains(out, "was not throttled") {
		t.Errorf("second enable-face printed %q", out)
	}
	if out := e.ok("", "user", "enable", "ada"); !strings.Contains(out, "1 throttle counter(s) cleared") {
		t.Errorf("enable printed %q", out)
	}
	if list := e.ok("", "user", "list"); strings.Contains(list, "pwd wait") {
		t.Fatalf("after enable:\n%s", list)
	}
}

// In demo mode the standing warning is serve's, once per start: the other
// commands a script runs before it (migrate, user list, ...) stay quiet.
func TestDemoModeIsWarnedOncePerStart(t *testing.T) {
	dir := t.TempDir()
	e := &testEnv{t: t, dataDir: dir, vars: []string{"FACEIDP_DATA_DIR=" + dir, "FACEIDP_FACE_MODE=off", "FACEIDP_DEMO=true"}}
	first := e.run("", "migrate")
	if first.code != 0 || !strings.Contains(first.stderr, "demo mode: generated new secrets") || strings.Contains(first.stderr, "DEMO MODE") {
		t.Fatalf("first command in demo mode: exit %d, want one note about generated secrets and no DEMO MODE banner:\n%s", first.code, first.stderr)
	}
	for _, args := range [][]string{{"migrate"}, {"user", "list"}, {"client", "list"}} {
		if r := e.run("", args...); r.code != 0 || strings.Contains(r.stderr, "DEMO MODE") || strings.Contains(r.stderr, "demo mode") {
			t.Errorf("faceidp %s: exit %d, want no demo-mode warning:\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	_, stop := serveUntilReady(t, e)
	r := stop()
	if n := strings.Count(r.stderr, "DEMO MODE"); r.code != 0 || n != 1 {
		t.Errorf("serve: exit %d, DEMO MODE warned %d times, want once:\n%s", r.code, n, r.stderr)
	}
}

// serve binds its port before the slow part of starting, and a taken port
// is the error it exits with.
func TestServeReportsATakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	msg := newTestEnv(t).with("FACEIDP_LISTEN="+addr, "FACEIDP_ISSUER=http://"+addr).fails("", "serve")
	if !strings.Contains(msg, "listen on "+addr) || !strings.Contains(msg, "address already in use") {
		t.Errorf("serve with %s taken: %s", addr, msg)
	}
}
