package idp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
	redisstore "github.com/ulule/limiter/v3/drivers/store/redis"
)

// Redis timeouts when the URL sets none: an unreachable Redis must cost a
// request little before the in-process fallback takes over.
const (
	redisDialTimeout = 2 * time.Second
	redisIOTimeout   = time.Second
	// redisProbeEvery is how often, while Redis is unreachable, one request
	// tries it again.
	redisProbeEvery = 5 * time.Second
)

// newRateLimitStore returns where the login rate-limit counters live: in
// Redis when redisURL is set, so every instance behind a load balancer
// counts the same attempts, else in this process's memory (one instance).
// Keys are prefixed with the issuer, so instances of one provider share
// counters and different providers on one Redis do not. With Redis the
// store falls back to in-process counters while Redis is unreachable (see
// fallbackStore). close releases the connection pool.
func newRateLimitStore(ctx context.Context, redisURL, issuer string, clock func() time.Time, log *slog.Logger, up func(bool)) (store limiter.Store, fb *fallbackStore, close func() error, err error) {
	if redisURL == "" {
		return memory.NewStore(), nil, func() error { return nil }, nil
	}
	where := redactRedisURL(redisURL)
	ropts, err := parseRedisURL(redisURL)
	if err != nil {
		return nil, nil, nil, err
	}
	if ropts.DialTimeout == 0 {
		ropts.DialTimeout = redisDialTimeout
	}
	if ropts.ReadTimeout == 0 {
		ropts.ReadTimeout = redisIOTimeout
	}
	if ropts.WriteTimeout == 0 {
		ropts.WriteTimeout = redisIOTimeout
	}
	// One try each: a failed call falls back to memory at once rather than
	// after go-redis's retries and backoffs (5 dials, 3 commands).
	if ropts.DialerRetries == 0 {
		ropts.DialerRetries = 1
	}
	if ropts.MaxRetries == 0 {
		ropts.MaxRetries = -1
	}
	client := redis.NewClient(ropts)
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		return nil, nil, nil, fmt.Errorf("rate limit redis at %s: ping: %w", where, err)
	}
	primary, err := redisstore.NewStoreWithOptions(client, limiter.StoreOptions{
		Prefix:          "faceidp:ratelimit:" + issuer,
		CleanUpInterval: limiter.DefaultCleanUpInterval,
	})
	if err != nil {
		_ = client.Close()
		return nil, nil, nil, fmt.Errorf("rate limit redis at %s: %w", where, err)
	}
	fb = &fallbackStore{
		primary:  primary,
		fallback: memory.NewStore(),
		ping:     func(ctx context.Context) error { return client.Ping(ctx).Err() },
		clock:    clock,
		log:      log,
		where:    where,
		up:       up,
	}
	up(true)
	return fb, fb, client.Close, nil
}

// fallbackStore is the Redis rate-limit store that does not switch the
// limits off when Redis is unreachable: the first failure logs once and
// moves every limit to this process's memory (each instance then counts
// its own attempts, with the same rates), /healthz and the
// faceidp_ratelimit_redis_up gauge say so, and every redisProbeEvery one
// request tries Redis again; the first success logs once and moves back.
// Counts made in memory meanwhile are not copied to Redis.
type fallbackStore struct {
	primary, fallback limiter.Store
	ping              func(context.Context) error
	clock             func() time.Time
	log               *slog.Logger
	where             string
	up                func(bool)

	mu        sync.Mutex
	down      bool
	nextProbe time.Time
}

var _ limiter.Store = (*fallbackStore)(nil)

// Degraded reports whether the limits are in process memory now.
func (f *fallbackStore) Degraded() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.down
}

// check brings the state up to date for /healthz: while Redis is up it is
// pinged, while it is down it is probed when a probe is due.
func (f *fallbackStore) check(ctx context.Context) {
	if f.Degraded() {
		f.use(ctx)
		return
	}
	if err := f.ping(ctx); err != nil && ctx.Err() == nil {
		f.failed(ctx, err)
	}
}

// use returns the store for this call: Redis unless it is down and not
// due for a probe.
func (f *fallbackStore) use(ctx context.Context) limiter.Store {
	f.mu.Lock()
	if !f.down {
		f.mu.Unlock()
		return f.primary
	}
	now := f.clock()
	if now.Before(f.nextProbe) {
		f.mu.Unlock()
		return f.fallback
	}
	f.nextProbe = now.Add(redisProbeEvery) // one prober at a time
	f.mu.Unlock()
	pctx, cancel := context.WithTimeout(ctx, redisDialTimeout)
	err := f.ping(pctx)
	cancel()
	if err != nil {
		return f.fallback
	}
	f.mu.Lock()
	recovered := f.down
	f.down = false
	f.mu.Unlock()
	if recovered {
		f.log.WarnContext(ctx, "rate limits: redis reachable again, shared limits restored", "redis", f.where)
		f.up(true)
	}
	return f.primary
}

// failed records a Redis failure; it logs only on the transition.
func (f *fallbackStore) failed(ctx context.Context, err error) {
	f.mu.Lock()
	wasDown := f.down
	f.down = true
	f.nextProbe = f.clock().Add(redisProbeEvery)
	f.mu.Unlock()
	if !wasDown {
		f.log.ErrorContext(ctx, "rate limits: redis unreachable, using in-process limits until it answers again", "redis", f.where, "err", err.Error())
		f.up(false)
	}
}

func (f *fallbackStore) do(ctx context.Context, op func(limiter.Store) (limiter.Context, error)) (limiter.Context, error) {
	st := f.use(ctx)
	if st == f.fallback {
		return op(f.fallback)
	}
	lc, err := op(st)
	if err == nil || ctx.Err() != nil {
		return lc, err
	}
	f.failed(ctx, err)
	return op(f.fallback)
}

func (f *fallbackStore) Get(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	return f.do(ctx, func(s limiter.Store) (limiter.Context, error) { return s.Get(ctx, key, rate) })
}

func (f *fallbackStore) Peek(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	return f.do(ctx, func(s limiter.Store) (limiter.Context, error) { return s.Peek(ctx, key, rate) })
}

func (f *fallbackStore) Reset(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	return f.do(ctx, func(s limiter.Store) (limiter.Context, error) { return s.Reset(ctx, key, rate) })
}

func (f *fallbackStore) Increment(ctx context.Context, key string, count int64, rate limiter.Rate) (limiter.Context, error) {
	return f.do(ctx, func(s limiter.Store) (limiter.Context, error) { return s.Increment(ctx, key, count, rate) })
}

// parseRedisURL parses a redis://, rediss:// or unix:// URL; the error never
// contains the URL's password.
func parseRedisURL(raw string) (*redis.Options, error) {
	o, err := redis.ParseURL(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("RateLimitRedisURL %s: %w (want redis://[:password@]host:port/db)", redactRedisURL(raw), err)
	}
	return o, nil
}

// redactRedisURL hides the password of a redis:// URL for messages.
func redactRedisURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
