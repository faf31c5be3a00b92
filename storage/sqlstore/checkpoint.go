package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/mattn/go-sqlite3"
)

// SQLite's WAL is copied back into the database file by a checkpoint. Left
// to SQLite, the commit that takes the WAL past 1000 pages runs it, on the
// writer connection, with two fsyncs: every ~50th refresh held the single
// writer for ~10 ms while every other write queued behind it
// (docs/performance.md). Here the writer never checkpoints; a goroutine
// does, on a reader connection, beside the writer (a PASSIVE checkpoint
// takes no lock a writer needs). Fewer, larger checkpoints also copy each
// often-rewritten page once instead of once per 1000 pages.

const (
	// defaultCheckpointInterval is how often the checkpointer runs.
	defaultCheckpointInterval = 250 * time.Millisecond
	// walTruncateFrames: a WAL still this long after a passive checkpoint
	// (readers kept it from being reset) gets a TRUNCATE checkpoint,
	// which waits for readers and briefly for the writer, so the file
	// cannot grow without bound (~80 MB at 4 KiB pages).
	walTruncateFrames = 20000
	// walSizeLimit truncates the WAL file back to this size when it is
	// reset after growing past it.
	walSizeLimit = 64 << 20
)

// writerConnector opens SQLite connections that never checkpoint on
// commit. A connector rather than a registered driver: the hook is the
// store's, not the process's.
type writerConnector struct {
	drv *sqlite3.SQLiteDriver
	dsn string
}

var _ driver.Connector = writerConnector{}

func newWriterConnector(dsn string) writerConnector {
	return writerConnector{dsn: dsn, drv: &sqlite3.SQLiteDriver{
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec(fmt.Sprintf("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = %d", walSizeLimit), nil)
			return err
		},
	}}
}

func (c writerConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c writerConnector) Driver() driver.Driver                      { return c.drv }

// checkpointer runs checkpoints on db every interval until ctx ends; done
// is closed when it has stopped.
type checkpointer struct {
	db       *sql.DB
	interval time.Duration
	onError  func(error)
	done     chan struct{}
	failing  bool // the last checkpoint failed and was reported
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// A failure is reported once, not every tick, until a
			// checkpoint succeeds again.
			err := c.checkpoint(ctx)
			if err != nil && ctx.Err() == nil && !c.failing {
				c.onError(err)
			}
			c.failing = err != nil
		}
	}
}

// checkpoint copies what it can of the WAL into the database without
// waiting for anyone, and truncates a WAL that readers kept from being
// reset for too long.
func (c *checkpointer) checkpoint(ctx context.Context) error {
	frames, err := c.run1(ctx, "PASSIVE")
	if err != nil || frames < walTruncateFrames {
		return err
	}
	_, err = c.run1(ctx, "TRUNCATE")
	return err
}

// run1 runs one checkpoint of mode and returns the WAL's length in frames.
func (c *checkpointer) run1(ctx context.Context, mode string) (int, error) {
	var busy, frames, copied int
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &copied); err != nil {
		return 0, fmt.Errorf("sqlite %s checkpoint: %w", mode, err)
	}
	return frames, nil
}
