package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The test user and the redirect URI the relying party "registers"; the
// browser stops at it and never contacts it.
const (
	benchUser     = "bench"
	benchPassword = "correct horse battery staple"
	redirectURI   = "http://127.0.0.1:9/cb"
)

// server is one OpenID provider under test.
type server struct {
	name string
	base string // http://127.0.0.1:PORT
	cmd  *exec.Cmd
	// extraPIDs returns other processes whose CPU is the server's too
	// (PostgreSQL backends serving faceidp).
	extraPIDs func(context.Context) []int

	authorizePath string
	clientID      string // confidential client
	clientSecret  string
	publicClient  string
	username      string
	password      string
}

func (s *server) url(path string) string { return s.base + path }

func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// freePort returns a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitReady(ctx context.Context, u string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := loopbackClient(nil).Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer 200 within a minute (last error: %v)", u, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// --- zitadel/oidc's example server --------------------------------------------

// exampleSource is where go.mod's version of zitadel/oidc sits in the
// module cache.
func exampleSource(ctx context.Context) (dir, version string, err error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", "github.com/zitadel/oidc/v3").Output()
	if err != nil {
		return "", "", fmt.Errorf("find zitadel/oidc in the module cache (go list -m): %w", err)
	}
	dir, version, _ = strings.Cut(strings.TrimSpace(string(out)), " ")
	if dir == "" {
		return "", "", errors.New("zitadel/oidc is not in the module cache: run go mod download")
	}
	return dir, version, nil
}

// buildExample compiles github.com/zitadel/oidc/v3/example/server inside
// its own module (in the module cache), so its own go.sum pins its
// dependencies.
func buildExample(ctx context.Context, workDir string) (bin, version string, err error) {
	dir, version, err := exampleSource(ctx)
	if err != nil {
		return "", "", err
	}
	bin = filepath.Join(workDir, "oidc-example-server")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./example/server")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("build the example server in %s: %w\n%s", dir, err, out)
	}
	return bin, version, nil
}

// startExample runs the example server on a free port. Its issuer is
// http://localhost:PORT/; every connection is dialled to 127.0.0.1.
func startExample(ctx context.Context, bin, workDir string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(workDir, "example.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "REDIRECT_URI="+redirectURI)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the example server: %w", err)
	}
	s := &server{
		name: "example", base: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd,
		authorizePath: "/auth", clientID: "web", clientSecret: "secret", publicClient: "native",
		username: "test-user@localhost", password: "verysecure",
	}
	if err := waitReady(ctx, s.url("/.well-known/openid-configuration")); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// --- faceidp ----------------------------------------------------------------------

func randomKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// faceidpEnv is the configuration of the faceidp under test: face off,
// fresh secrets, and sign-in limits raised so that one test user on one
// address may sign in dozens of times a second (the defaults would refuse
// that, as they should). Client authentication failures keep their
// default limits (the flood test is about them).
func faceidpEnv(dataDir, dbURL string, port int) []string {
	return append(os.Environ(),
		"FACEIDP_ISSUER=http://127.0.0.1:"+strconv.Itoa(port),
		"FACEIDP_LISTEN=127.0.0.1:"+strconv.Itoa(port),
		"FACEIDP_DATA_DIR="+dataDir,
		"FACEIDP_DATABASE_URL="+dbURL,
		"FACEIDP_FACE_MODE=off",
		"FACEIDP_LOG_LEVEL=warn",
		"FACEIDP_SECRETS_COOKIE_HASH_KEY="+randomKey(),
		"FACEIDP_SECRETS_COOKIE_BLOCK_KEY="+randomKey(),
		"FACEIDP_SECRETS_TOKEN_KEY="+randomKey(),
		"FACEIDP_SECRETS_MASTER_KEYS=bench:"+randomKey(),
		"FACEIDP_RATE_LIMIT_LOGINS_PER_IP=100000",
		"FACEIDP_RATE_LIMIT_LOGINS_PER_USER=100000",
		"FACEIDP_RATE_LIMIT_AUTHORIZE_PER_IP=100000",
		"FACEIDP_RATE_LIMIT_PASSWORD_THROTTLE_AFTER=100000",
	)
}

// startFaceidp prepares a database with the test user, a confidential
// client (generated secret, ES256 ID tokens) and a public one, then runs
// faceidp serve.
func startFaceidp(ctx context.Context, bin, workDir, db, dbURL string, extra func(context.Context) []int) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(workDir, "faceidp-"+db)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	env := faceidpEnv(dataDir, dbURL, port)
	run := func(stdin string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("faceidp %s: %w\n%s", strings.Join(args, " "), err, errb.String())
		}
		return out.String(), nil
	}
	if _, err := run(benchPassword+"\n", "user", "add", "--username", benchUser, "--email", benchUser+"@example.com"); err != nil {
		return nil, err
	}
	out, err := run("", "client", "add", "--id", "bench", "--secret", "generate", "--id-token-alg", "ES256",
		"--skip-consent", "--redirect-uri", redirectURI)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	secret := lines[len(lines)-1]
	if _, err := run("", "client", "add", "--id", "bench-public", "--id-token-alg", "ES256", "--skip-consent", "--redirect-uri", redirectURI); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(workDir, "faceidp-"+db+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start faceidp: %w", err)
	}
	s := &server{
		name: "faceidp", base: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, extraPIDs: extra,
		authorizePath: "/authorize", clientID: "bench", clientSecret: secret, publicClient: "bench-public",
		username: benchUser, password: benchPassword,
	}
	if err := waitReady(ctx, s.url("/healthz")); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// --- PostgreSQL ----------------------------------------------------------------

// pgSchema is a fresh schema on the shared server for one run, with an
// application_name that identifies faceidp's backends (their CPU counts
// as the server's).
type pgSchema struct {
	admin   *pgx.Conn
	name    string
	appName string
	url     string
}

func newPGSchema(ctx context.Context, base string) (*pgSchema, error) {
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	p := &pgSchema{admin: admin, name: "bench_protocol_" + hex.EncodeToString(b), appName: "faceidp-bench-" + hex.EncodeToString(b)}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+p.name); err != nil {
		admin.Close(ctx)
		return nil, fmt.Errorf("create schema: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	q.Set("search_path", p.name)
	q.Set("application_name", p.appName)
	u.RawQuery = q.Encode()
	p.url = u.String()
	return p, nil
}

// backends returns the PIDs of faceidp's connections.
func (p *pgSchema) backends(ctx context.Context) []int {
	rows, err := p.admin.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = $1", p.appName)
	if err != nil {
		return nil
	}
	defer rows.Close()
	var pids []int
	for rows.Next() {
		var pid int32
		if rows.Scan(&pid) == nil {
			pids = append(pids, int(pid))
		}
	}
	return pids
}

func (p *pgSchema) drop(ctx context.Context) {
	if _, err := p.admin.Exec(ctx, "DROP SCHEMA "+p.name+" CASCADE"); err != nil {
		logf("drop schema %s: %v", p.name, err)
	}
	p.admin.Close(ctx)
}
