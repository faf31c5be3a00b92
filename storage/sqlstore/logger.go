package sqlstore

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"
)

// gormLogger sends gorm's errors and slow queries to slog at warn level.
// It never sees SQL parameter values (ParamsFilter drops them): they include
// token hashes and sealed key material.
type gormLogger struct {
	log  *slog.Logger
	slow time.Duration
}

var (
	_ gormlogger.Interface = gormLogger{}
	_ gorm.ParamsFilter    = gormLogger{}
)

func newGormLogger(l *slog.Logger) gormLogger {
	return gormLogger{log: l.With("component", "storage"), slow: time.Second}
}

func (g gormLogger) LogMode(gormlogger.LogLevel) gormlogger.Interface { return g }
func (g gormLogger) Info(context.Context, string, ...any)             {}
func (g gormLogger) Warn(ctx context.Context, msg string, _ ...any) {
	g.log.WarnContext(ctx, "gorm: "+msg)
}
func (g gormLogger) Error(ctx context.Context, msg string, _ ...any) {
	g.log.WarnContext(ctx, "gorm: "+msg)
}

// ParamsFilter drops bind values so traced SQL carries only placeholders.
func (g gormLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}

func (g gormLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	switch {
	case err != nil && !expectedErr(err):
		sql, _ := fc()
		g.log.WarnContext(ctx, "sql error", "err", err, "sql", sql, "elapsed", elapsed)
	case elapsed > g.slow:
		sql, rows := fc()
		g.log.WarnContext(ctx, "slow sql", "sql", sql, "rows", rows, "elapsed", elapsed)
	}
}

// expectedErr reports errors that are part of normal operation and become
// storage.ErrNotFound / ErrAlreadyExists for the caller.
func expectedErr(err error) bool {
	return errors.Is(err, gorm.ErrRecordNotFound) || errors.Is(err, gorm.ErrDuplicatedKey) ||
		errors.Is(err, context.Canceled)
}
