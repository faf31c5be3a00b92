package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/faceidp/faceidp/factors/password"
)

func testHasher(t *testing.T) *password.Hasher {
	t.Helper()
	h, err := password.New(password.Params{}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// lockedBuffer is a bytes.Buffer safe for one writer and a polling reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func ioctl(fd uintptr, req uintptr, arg unsafe.Pointer) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(arg)); errno != 0 {
		return errno
	}
	return nil
}

// openPTY returns a pseudo-terminal: the master (the "keyboard and screen")
// and the slave (what the command gets as its standard input).
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	var unlock int32
	if err := ioctl(master.Fd(), syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	var n uint32
	if err := ioctl(master.Fd(), syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		t.Fatalf("pty number: %v", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty slave: %v", err)
	}
	t.Cleanup(func() { slave.Close(); master.Close() })
	return master, slave
}

// echoOff reports whether the terminal currently does not echo input.
func echoOff(t *testing.T, tty *os.File) bool {
	t.Helper()
	var tio syscall.Termios
	if err := ioctl(tty.Fd(), syscall.TCGETS, unsafe.Pointer(&tio)); err != nil {
		t.Fatalf("TCGETS: %v", err)
	}
	return tio.Lflag&syscall.ECHO == 0
}

// typeAt waits until prompt has been printed on stderr and the terminal
// stopped echoing (the command is reading the password), then types line.
func typeAt(t *testing.T, stderr *lockedBuffer, prompt string, master, slave *os.File, line string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), prompt) || !echoOff(t, slave) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q prompt with echo off; stderr: %q", prompt, stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := master.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

// runOnTerminal runs faceidp with a terminal as standard input, answering
// the two password prompts with first and second. It returns the exit code,
// stdout, stderr and everything the terminal displayed.
func runOnTerminal(t *testing.T, e *testEnv, first, second string, args ...string) (int, string, string, string) {
	t.Helper()
	master, slave := openPTY(t)
	var screen lockedBuffer
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := master.Read(buf)
			screen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	var stdout bytes.Buffer
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() { done <- run(context.Background(), args, slave, &stdout, &stderr, e.vars) }()
	typeAt(t, &stderr, "Password: ", master, slave, first)
	typeAt(t, &stderr, "Repeat password: ", master, slave, second)
	code := <-done
	if !strings.Contains(stderr.String(), "Repeat password: ") {
		t.Errorf("asked only once: %q", stderr.String())
	}
	if echoOff(t, slave) {
		t.Error("the terminal was left without echo")
	}
	return code, stdout.String(), stderr.String(), screen.String()
}

// On a terminal, user add and set-password prompt for the password twice
// and never echo it; a pipe is still read as one line (the other tests).
func TestPasswordPromptOnTerminal(t *testing.T) {
	e := newTestEnv(t)
	code, out, errOut, screen := runOnTerminal(t, e, "terminal typed pw", "terminal typed pw",
		"user", "add", "--username", "ada", "--email", "ada@example.com")
	if code != 0 || !strings.Contains(out, "user ada added") {
		t.Fatalf("user add on a terminal: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if strings.Contains(screen, "terminal typed pw") {
		t.Errorf("the password was echoed: %q", screen)
	}
	u, err := e.store().GetUserByLogin(context.Background(), "ada")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := testHasher(t).Verify(u.PasswordHash, "terminal typed pw"); !ok {
		t.Error("the typed password is not the stored one")
	}

	// Two different entries change nothing.
	code, _, errOut, _ = runOnTerminal(t, e, "a new password", "a new passwort", "user", "set-password", "ada")
	if code == 0 || !strings.Contains(errOut, "do not match") {
		t.Fatalf("mismatched entries: exit %d, stderr %q", code, errOut)
	}
	u, _ = e.store().GetUserByLogin(context.Background(), "ada")
	if ok, _, _ := testHasher(t).Verify(u.PasswordHash, "terminal typed pw"); !ok {
		t.Error("a mismatched confirmation changed the password")
	}
	code, _, errOut, _ = runOnTerminal(t, e, "a new password", "a new password", "user", "set-password", "ada")
	if code != 0 {
		t.Fatalf("set-password on a terminal: exit %d, stderr %q", code, errOut)
	}
	u, _ = e.store().GetUserByLogin(context.Background(), "ada")
	if ok, _, _ := testHasher(t).Verify(u.PasswordHash, "a new password"); !ok {
		t.Error("set-password on a terminal did not store the typed password")
	}
}
