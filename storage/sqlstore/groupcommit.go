package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"sync"
)

// Group commit. On SQLite every write transaction queues for the one
// writer, and a refresh grant's commit (its pages to the WAL) cost more
// CPU than its three statements (docs/performance.md). Refresh rotations
// that arrive while another batch is being written are therefore run
// together in one transaction, each under its own savepoint, and committed
// once: a rotation that fails is rolled back to its savepoint alone, and
// every caller learns its own outcome only after the commit, so a batch
// changes neither what is stored nor what each caller is told.
//
// There is no writer goroutine: the first caller to find the writer idle
// leads, running the queued rotations (its own included) as one batch;
// when it is done it hands the lead to the first rotation queued
// meanwhile. PostgreSQL has concurrent writers and is not batched.

// maxBatch bounds one batch, so a leader's own answer is never held up by
// an unbounded queue.
const maxBatch = 64

type batchItem struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error    // the item's outcome, after the commit
	lead chan struct{} // this caller now leads the next batch
}

// batcher queues write transactions for the SQLite writer.
type batcher struct {
	mu      sync.Mutex
	queue   []*batchItem
	running bool
}

// batchedTransaction runs fn in a write transaction, with other callers'
// in the same one on SQLite (see above); fn's statements are queries,
// prepared on the writer first. fn must use the ctx it is given.
func (s *Store) batchedTransaction(ctx context.Context, queries []string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if s.dialect != DialectSQLite || s.wdb == s.db {
		// PostgreSQL, or in-memory SQLite (one connection for everything).
		return s.rawTransactionOf(ctx, queries, func(tx *sql.Tx) error { return fn(ctx, tx) })
	}
	it := &batchItem{ctx: ctx, fn: fn, done: make(chan error, 1), lead: make(chan struct{}, 1)}
	b := &s.batch
	b.mu.Lock()
	b.queue = append(b.queue, it)
	if b.running {
		b.mu.Unlock()
		// Always wait for the outcome, even if ctx ends: the batch may
		// already hold this item's writes.
		select {
		case err := <-it.done:
			return err
		case <-it.lead:
		}
		b.mu.Lock()
	}
	b.running = true
	n := min(len(b.queue), maxBatch)
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()

	s.runBatch(queries, batch)

	b.mu.Lock()
	if len(b.queue) > 0 {
		b.queue[0].lead <- struct{}{}
	} else {
		b.running = false
		b.queue = nil
	}
	b.mu.Unlock()
	return <-it.done
}

// runBatch runs items in one transaction and sends each its outcome.
func (s *Store) runBatch(queries []string, items []*batchItem) {
	errs := make([]error, len(items))
	finish := func(commitErr error) {
		for i, it := range items {
			if errs[i] == nil {
				errs[i] = commitErr
			}
			it.done <- errs[i]
		}
	}
	// Items whose caller gave up before the batch began are not run.
	live := 0
	for i, it := range items {
		if err := it.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		live++
	}
	if live == 0 {
		finish(nil)
		return
	}
	// The transaction and its statements must not end with one caller's
	// context: each item runs under its caller's values, without its
	// cancellation (an interrupted statement could abort the whole
	// transaction).
	ctx := context.Background()
	sqlDB, err := s.wdb.DB()
	if err != nil {
		finish(err)
		return
	}
	for _, q := range slices.Concat(queries, []string{savepointSQL, releaseSQL, rollbackToSQL}) {
		if _, err := s.hotW.prepared(ctx, s.wdb, s.dialect, q); err != nil {
			finish(err)
			return
		}
	}
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		finish(err)
		return
	}
	single := live == 1
	for i, it := range items {
		if errs[i] != nil {
			continue
		}
		ictx := context.WithoutCancel(it.ctx)
		if single {
			errs[i] = it.fn(ictx, tx)
			if errs[i] != nil {
				_ = tx.Rollback()
				finish(nil)
				return
			}
			continue
		}
		if _, err := s.txExec(ictx, tx, savepointSQL); err != nil {
			_ = tx.Rollback()
			finish(err)
			return
		}
		if errs[i] = it.fn(ictx, tx); errs[i] != nil {
			if _, err := s.txExec(ictx, tx, rollbackToSQL); err != nil {
				_ = tx.Rollback()
				finish(err) // nothing of the batch is stored
				return
			}
		}
		if _, err := s.txExec(ictx, tx, releaseSQL); err != nil {
			_ = tx.Rollback()
			finish(err)
			return
		}
	}
	finish(tx.Commit())
}

const (
	savepointSQL  = "SAVEPOINT batch_item"
	releaseSQL    = "RELEASE batch_item"
	rollbackToSQL = "ROLLBACK TO batch_item"
)
