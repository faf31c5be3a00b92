package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	"github.com/faceidp/faceidp/storage"
)

var _ storage.Storage = (*Store)(nil)

// Dialect names the SQL backend a Store talks to.
type Dialect string

const (
	DialectSQLite   Dialect = "sqlite"
	DialectPostgres Dialect = "postgres"
)

// Store is the gorm implementation of storage.Storage.
type Store struct {
	db      *gorm.DB
	dialect Dialect
	now     func() time.Time
	log     *slog.Logger
	hot     hotQueries // reads on db (hot.go)
	hotW    hotQueries // writes on wdb (hotwrite.go)
	// wdb writes (tx.go): db itself on PostgreSQL, one dedicated
	// connection on SQLite.
	wdb *gorm.DB
	// stopCheckpoints ends the SQLite checkpointer (checkpoint.go); nil
	// when there is none.
	stopCheckpoints func()
}

type options struct {
	logger       *slog.Logger
	now          func() time.Time
	maxOpenConns int
	checkpoints  time.Duration
}

// Option configures Open.
type Option func(*options)

// WithLogger routes gorm's warnings (errors and slow queries, never SQL
// parameter values) to l. The default discards them.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithClock sets the clock used for automatic CreatedAt/UpdatedAt stamps.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithMaxOpenConns caps the connection pool (default: 25 for PostgreSQL,
// 8 for SQLite files, 1 for in-memory SQLite).
func WithMaxOpenConns(n int) Option { return func(o *options) { o.maxOpenConns = n } }

// WithCheckpointInterval sets how often a SQLite file's WAL is checkpointed
// (checkpoint.go; default 250ms).
func WithCheckpointInterval(d time.Duration) Option { return func(o *options) { o.checkpoints = d } }

// sqliteDefaults are applied unless the URL sets the parameter itself.
// WAL lets readers run beside the single writer; _txlock=immediate takes the
// write lock at BEGIN so a transaction never fails upgrading a read lock, and
// _busy_timeout makes writers queue instead of failing with "database is
// locked".
var sqliteDefaults = [][2]string{
	{"_journal_mode", "WAL"},
	{"_busy_timeout", "10000"},
	{"_foreign_keys", "on"},
	{"_txlock", "immediate"},
	{"_synchronous", "NORMAL"},
}

// Open connects to databaseURL (see the package doc for accepted forms). It
// does not migrate: call Migrate.
func Open(ctx context.Context, databaseURL string, opts ...Option) (*Store, error) {
	o := options{now: time.Now, checkpoints: defaultCheckpointInterval}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{log: o.logger, now: o.now}

	var (
		dialector gorm.Dialector
		sqliteDSN string
		where     string // for error messages, without credentials
		maxOpen   int
		memory    bool
	)
	switch {
	case strings.HasPrefix(databaseURL, "sqlite://"), strings.HasPrefix(databaseURL, "sqlite:"),
		strings.HasPrefix(databaseURL, "file:"):
		dsn, path, err := sqliteDSNOf(databaseURL)
		if err != nil {
			return nil, err
		}
		s.dialect = DialectSQLite
		sqliteDSN = dsn
		dialector = sqlite.Open(dsn)
		where = "sqlite database " + path
		memory = path == ":memory:" || strings.Contains(dsn, "mode=memory")
		maxOpen = 8
		if memory {
			maxOpen = 1 // every connection to :memory: is a different database
		}
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		u, err := url.Parse(databaseURL)
		if err != nil {
			return nil, errors.New("parse postgres database URL: malformed URL")
		}
		s.dialect = DialectPostgres
		dialector = postgres.Open(databaseURL)
		where = "postgres database " + u.Redacted()
		maxOpen = 25
	case strings.HasPrefix(strings.TrimSpace(databaseURL), "host="):
		s.dialect = DialectPostgres
		dialector = postgres.Open(databaseURL)
		where = "postgres database (key=value DSN)"
		maxOpen = 25
	case databaseURL == "":
		return nil, errors.New("open database: empty database URL (want sqlite:///path/faceidp.db or postgres://...)")
	default:
		scheme, _, _ := strings.Cut(databaseURL, ":")
		if len(scheme) > 32 {
			scheme = scheme[:32]
		}
		return nil, fmt.Errorf("open database: unknown scheme %q (want sqlite://, file: or postgres://)", scheme)
	}
	if o.maxOpenConns > 0 && !memory {
		maxOpen = o.maxOpenConns
	}

	cfg := &gorm.Config{
		TranslateError: true,
		// No gorm statement cache: it makes a transaction wait for a
		// statement being prepared by a caller outside it, who waits for
		// the transaction's connection (go-gorm/gorm#7465), which stopped
		// every write on SQLite's single writer for good. pgx caches
		// prepared statements per connection itself; the hot queries are
		// prepared by this package (hot.go).
		PrepareStmt: false,
		Logger:      newGormLogger(o.logger),
		NowFunc:     func() time.Time { return norm(o.now()) },
		// Create/Update never cascade into associations (models have none,
		// but be explicit).
		FullSaveAssociations: false,
	}
	open := func(dialector gorm.Dialector, maxOpen int) (*gorm.DB, error) {
		db, err := gorm.Open(dialector, cfg)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", where, err)
		}
		sqlDB, err := db.DB()
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", where, err)
		}
		sqlDB.SetMaxOpenConns(maxOpen)
		sqlDB.SetMaxIdleConns(maxOpen)
		if !memory {
			sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		}
		if err := sqlDB.PingContext(ctx); err != nil {
			_ = sqlDB.Close()
			return nil, fmt.Errorf("open %s: %w", where, err)
		}
		return db, nil
	}
	var err error
	if s.db, err = open(dialector, maxOpen); err != nil {
		return nil, err
	}
	s.wdb = s.db
	if s.dialect == DialectSQLite && !memory {
		writer := sqlite.New(sqlite.Config{Conn: sql.OpenDB(newWriterConnector(sqliteDSN))})
		if s.wdb, err = open(writer, 1); err != nil {
			_ = s.closeDB(s.db)
			return nil, err
		}
		s.startCheckpoints(o.checkpoints)
	}
	return s, nil
}

// startCheckpoints runs the WAL checkpointer on the reader pool until
// Close.
func (s *Store) startCheckpoints(interval time.Duration) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: sqlDB, interval: interval, done: make(chan struct{}),
		onError: func(err error) { s.log.Warn("sqlite checkpoint failed", "err", err) }}
	go c.run(ctx)
	s.stopCheckpoints = func() { cancel(); <-c.done }
}

func (s *Store) closeDB(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// sqliteDSNOf turns a sqlite:// or file: URL into a go-sqlite3 DSN with the
// defaults added; it returns the file path for messages.
func sqliteDSNOf(raw string) (dsn, path string, err error) {
	rest := raw
	switch {
	case strings.HasPrefix(rest, "sqlite://"):
		rest = strings.TrimPrefix(rest, "sqlite://")
	case strings.HasPrefix(rest, "sqlite:"):
		rest = strings.TrimPrefix(rest, "sqlite:")
	case strings.HasPrefix(rest, "file://"):
		rest = strings.TrimPrefix(rest, "file://")
	case strings.HasPrefix(rest, "file:"):
		rest = strings.TrimPrefix(rest, "file:")
	}
	path, query, _ := strings.Cut(rest, "?")
	if path == "" {
		return "", "", fmt.Errorf("open sqlite database: no file path in %q (want sqlite:///abs/path.db or sqlite://relative.db)", raw)
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return "", "", fmt.Errorf("open sqlite database %s: bad query parameters: %w", path, err)
	}
	for _, kv := range sqliteDefaults {
		if !params.Has(kv[0]) {
			params.Set(kv[0], kv[1])
		}
	}
	if path == ":memory:" {
		params.Del("_journal_mode") // WAL does not apply to memory databases
	}
	// go-sqlite3 treats a DSN starting with "file:" as an SQLite URI; a bare
	// path keeps characters like spaces literal.
	return path + "?" + params.Encode(), path, nil
}
