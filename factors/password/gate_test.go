package password

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls cond (the gate's counters move on other goroutines).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// However many callers arrive at once, no more than the gate's slots run
// together, exactly slots+queue are admitted while the slots are held, and
// every further caller is refused at once without running.
func TestGateNeverExceedsItsSize(t *testing.T) {
	const slots, queue, callers = 3, 5, 40
	g := NewGate(slots, queue)
	release := make(chan struct{})
	var running, peak, ran atomic.Int64
	var busy atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := g.Do(context.Background(), func() {
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				<-release
				running.Add(-1)
				ran.Add(1)
			})
			if errors.Is(err, ErrBusy) {
				busy.Add(1)
			} else if err != nil {
				t.Errorf("Do: %v", err)
			}
		}()
	}
	waitFor(t, "all slots are held, the queue is full and the rest refused", func() bool {
		return g.Running() == slots && g.Waiting() == queue && busy.Load() == callers-slots-queue
	})
	close(release)
	wg.Wait()
	if p := peak.Load(); p > slots {
		t.Errorf("%d computations ran at once, the gate has %d slots", p, slots)
	}
	if got := ran.Load(); got != slots+queue {
		t.Errorf("%d computations ran, want the %d slots plus the %d queued", got, slots, queue)
	}
	if g.Running() != 0 || g.Waiting() != 0 {
		t.Errorf("after everything finished: running %d, waiting %d", g.Running(), g.Waiting())
	}
}

func TestGateWaiterLeavesWhenContextEnds(t *testing.T) {
	g := NewGate(1, 1)
	hold := make(chan struct{})
	go func() { _ = g.Do(context.Background(), func() { <-hold }) }()
	waitFor(t, "the slot is held", func() bool { return g.Running() == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Do(ctx, func() { t.Error("ran after its context ended") }) }()
	waitFor(t, "a caller waits", func() bool { return g.Waiting() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Do with a cancelled context: %v", err)
	}
	if g.Waiting() != 0 {
		t.Fatalf("waiting = %d after the waiter left", g.Waiting())
	}
	close(hold)
}

// A gated Hasher refuses verifications past the gate with ErrBusy, for a
// real hash and for the dummy alike (so a busy answer says nothing about
// whether the account exists), and verifies again once a slot is free.
func TestHasherVerifiesUnderItsGate(t *testing.T) {
	fast := Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}
	g := NewGate(1, 0)
	h, err := New(fast, rand.Reader, WithGate(g))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := h.Hash("pw-for-the-gate")
	if err != nil {
		t.Fatal(err)
	}
	hold, held := make(chan struct{}), make(chan struct{})
	go func() { _ = g.Do(context.Background(), func() { close(held); <-hold }) }()
	<-held
	if ok, _, err := h.Verify(enc, "pw-for-the-gate"); ok || !errors.Is(err, ErrBusy) {
		t.Errorf("Verify with the gate full = %v, %v; want false, ErrBusy", ok, err)
	}
	if err := h.VerifyDummy("anything"); !errors.Is(err, ErrBusy) {
		t.Errorf("VerifyDummy with the gate full = %v; want ErrBusy", err)
	}
	close(hold)
	waitFor(t, "the slot is free", func() bool { return g.Running() == 0 })
	if ok, _, err := h.Verify(enc, "pw-for-the-gate"); !ok || err != nil {
		t.Errorf("Verify with a free slot = %v, %v; want true, nil", ok, err)
	}
}
