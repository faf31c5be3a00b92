package password

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
)

// ErrBusy is returned when every verification slot is taken and the
// waiting queue is full. Callers answer 503 with Retry-After: nothing was
// verified, so it is neither a success nor a failed attempt.
var ErrBusy = errors.New("password: too many verifications in progress")

// Gate bounds how many argon2id computations run at once in the process.
// Each costs Params.Memory (19 MiB with OWASP parameters) and a CPU for
// tens of milliseconds, so without a cap a burst of requests multiplies
// memory until the process is killed. A Gate admits slots computations at
// once and lets at most queue more wait for a slot; any more are refused
// with ErrBusy at once, so neither memory nor waiting goroutines grow
// without bound. It is safe for concurrent use.
type Gate struct {
	slots   chan struct{}
	queue   int64
	waiting atomic.Int64
}

// NewGate returns a Gate with slots concurrent computations (0 or less:
// GOMAXPROCS, one per CPU, since argon2id with p=1 uses one) and queue
// waiting ones (less than 0: none).
func NewGate(slots, queue int) *Gate {
	if slots <= 0 {
		slots = runtime.GOMAXPROCS(0)
	}
	if queue < 0 {
		queue = 0
	}
	return &Gate{slots: make(chan struct{}, slots), queue: int64(queue)}
}

// Size returns how many computations may run at once and how many may wait.
func (g *Gate) Size() (slots, queue int) { return cap(g.slots), int(g.queue) }

// Do runs fn in a slot: at once if one is free, else after waiting in the
// queue. It returns ErrBusy without running fn when the queue is full, and
// ctx's error if ctx ends while waiting.
func (g *Gate) Do(ctx context.Context, fn func()) error {
	select {
	case g.slots <- struct{}{}:
	default:
		if g.waiting.Add(1) > g.queue {
			g.waiting.Add(-1)
			return ErrBusy
		}
		select {
		case g.slots <- struct{}{}:
			g.waiting.Add(-1)
		case <-ctx.Done():
			g.waiting.Add(-1)
			return ctx.Err()
		}
	}
	defer func() { <-g.slots }()
	fn()
	return nil
}

// Waiting reports how many callers wait for a slot now.
func (g *Gate) Waiting() int { return int(g.waiting.Load()) }

// Running reports how many computations hold a slot now.
func (g *Gate) Running() int { return len(g.slots) }
