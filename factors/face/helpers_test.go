package face_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/faceidp/faceidp/internal/testclock"
	"github.com/faceidp/faceidp/internal/teststore"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/factors/face"
	"github.com/faceidp/faceidp/internal/facetest"
	"github.com/faceidp/faceidp/keyring"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage/sqlstore"
)

// pinned is a test ActionPicker that returns the next queued challenge.
type pinned struct {
	mu    sync.Mutex
	queue [][]faceauth.Action
}

func (p *pinned) Pick(n int) ([]faceauth.Action, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 {
		return nil, fmt.Errorf("pinned picker: no challenge queued")
	}
	a := p.queue[0]
	p.queue = p.queue[1:]
	return a, nil
}

func (p *pinned) Push(a ...faceauth.Action) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queue = append(p.queue, a)
}

type env struct {
	store  *sqlstore.Store
	svc    *face.Service
	clock  *testclock.Clock
	picker *pinned
	kr     *keyring.Keyring
}

func newKeyring(t testing.TB, ids ...string) *keyring.Keyring {
	t.Helper()
	var keys []keyring.Key
	for _, id := range ids {
		keys = append(keys, keyring.Key{ID: id, Secret: bytes.Repeat([]byte(id[:1]), keyring.KeySize)})
	}
	kr, err := keyring.New(keys, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// newEnv builds a service on real SQLite and, when engine is nil, the real
// face engine.
func newEnv(t testing.TB, steps int, engine faceauth.Verifier) *env {
	t.Helper()
	c := testclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	st := teststore.SQLite(t, sqlstore.WithClock(c.Now))
	if engine == nil {
		engine = facetest.Engine(t)
	}
	p := &pinned{}
	kr := newKeyring(t, "k1")
	svc, err := face.New(face.Deps{Store: st, Engine: engine, Keyring: kr, Now: c.Now, Rand: rand.Reader, Picker: p}, face.Options{Steps: steps})
	if err != nil {
		t.Fatal(err)
	}
	return &env{store: st, svc: svc, clock: c, picker: p, kr: kr}
}

func addUser(t testing.TB, st *sqlstore.Store, id string) {
	t.Helper()
	err := st.CreateUser(context.Background(), &models.User{ID: id, Username: id, Email: id + "@example.test"})
	if err != nil {
		t.Fatal(err)
	}
}

func randReader() io.Reader { return rand.Reader }
