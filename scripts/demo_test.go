// Package scripts tests scripts/demo as a person runs it: the whole script,
// with its build (cached in .build after scripts/test's own), its apt
// checks (everything is installed by then) and the real binary. Nothing
// leaves 127.0.0.1.
package scripts

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// demo is one run of scripts/demo in its own process group, with a fresh
// data directory and the given addresses.
type demo struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	output strings.Builder // stdout and stderr, interleaved
	lines  chan string
	done   chan error
}

func startDemo(t *testing.T, listen, rpListen string, extra ...string) *demo {
	t.Helper()
	if testing.Short() {
		t.Skip("runs scripts/demo (builds faceidp unless .build is current)")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "demo"))
	cmd.Dir = root
	var env []string
	for _, kv := range os.Environ() {
		// The run's own addresses, data and configuration only.
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "FACEIDP_") && k != "FACEIDP_SHARED_DIR" {
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = append(env,
		"FACEIDP_DATA_DIR="+t.TempDir(),
		"FACEIDP_LISTEN="+listen,
		"FACEIDP_DEMO_RP_LISTEN="+rpListen,
		"FACEIDP_FACE_EMBEDDERS=dlib",
		"FACEIDP_LOG_LEVEL=info",
	)
	cmd.Env = append(cmd.Env, extra...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// On timeout or cleanup, Ctrl-C the whole group as a person would.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }
	cmd.WaitDelay = 30 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	d := &demo{cmd: cmd, lines: make(chan string, 1000), done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			d.mu.Lock()
			d.output.WriteString(sc.Text() + "\n")
			d.mu.Unlock()
			select {
			case d.lines <- sc.Text():
			default:
			}
		}
		close(d.lines)
	}()
	go func() {
		err := cmd.Wait()
		pw.Close()
		d.done <- err
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-d.done:
		case <-time.After(40 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	return d
}

func (d *demo) out() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.output.String()
}

// exitCode waits for the script to end.
func (d *demo) exitCode(t *testing.T) int {
	t.Helper()
	err := <-d.done
	d.done <- err // later callers see it too
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	t.Fatalf("scripts/demo: %v\n%s", err, d.out())
	return -1
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// With the provider's port taken, scripts/demo stops with serve's bind
// error and a non-zero status, and never announces the demo.
func TestDemoStopsWithTheBindErrorWhenThePortIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	d := startDemo(t, addr, freeAddr(t))
	code := d.exitCode(t)
	out := d.out()
	if code == 0 {
		t.Fatalf("scripts/demo exited 0 with %s taken\n%s", addr, out)
	}
	if !strings.Contains(out, "listen on "+addr) || !strings.Contains(out, "address already in use") {
		t.Errorf("the output does not give the bind error for %s:\n%s", addr, out)
	}
	if !strings.Contains(out, "faceidp serve did not start") {
		t.Errorf("the script does not say that the provider did not start:\n%s", out)
	}
	if strings.Contains(out, "Open http") || strings.Contains(out, "demo app listening") {
		t.Errorf("the demo was announced or the demo app started against nothing:\n%s", out)
	}
}

// A bad configuration value stops the script with the key named.
func TestDemoStopsOnABadConfiguration(t *testing.T) {
	d := startDemo(t, freeAddr(t), freeAddr(t), "FACEIDP_FACE_MATCH_THRESHOLD=1.5")
	if code := d.exitCode(t); code == 0 {
		t.Fatalf("scripts/demo exited 0 with a bad face.match_threshold\n%s", d.out())
	}
	if out := d.out(); !strings.Contains(out, "face.match_threshold (FACEIDP_FACE_MATCH_THRESHOLD)") || strings.Contains(out, "Open http") {
		t.Errorf("want the problem naming the key and no banner:\n%s", out)
	}
}

// The banner comes only once the provider answers its discovery URL and
// the demo app answers too; DEMO MODE is warned once for the whole start;
// Ctrl-C stops both servers.
func TestDemoAnnouncesOnlyWhenReadyAndStopsOnCtrlC(t *testing.T) {
	listen, rpListen := freeAddr(t), freeAddr(t)
	_, port, _ := net.SplitHostPort(listen)
	issuer := "http://localhost:" + port
	d := startDemo(t, listen, rpListen)
	banner := "Open http://" + rpListen + "/"
	deadline := time.After(20 * time.Minute)
	for seen := false; !seen; {
		select {
		case line, ok := <-d.lines:
			if !ok {
				t.Fatalf("scripts/demo ended (exit %d) before its banner:\n%s", d.exitCode(t), d.out())
			}
			seen = strings.Contains(line, banner)
		case <-deadline:
			t.Fatalf("no banner after 20 minutes:\n%s", d.out())
		}
	}
	// At the moment of the banner both answer.
	for _, u := range []string{issuer + "/.well-known/openid-configuration", "http://" + rpListen + "/"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatalf("banner printed but %s does not answer: %v\n%s", u, err, d.out())
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("banner printed but %s answers %d", u, resp.StatusCode)
		}
	}
	if err := syscall.Kill(-d.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code := d.exitCode(t)
	out := d.out()
	if n := strings.Count(out, "DEMO MODE"); n != 1 {
		t.Errorf("DEMO MODE warned %d times in one start, want once:\n%s", n, out)
	}
	if code == 0 {
		t.Errorf("Ctrl-C: exit 0, want the interrupt's status")
	}
	for _, a := range []string{listen, rpListen} {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Ctrl-C", a)
		}
	}
}
