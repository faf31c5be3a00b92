package idp

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/redis/go-redis/v9"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
	redisstore "github.com/ulule/limiter/v3/drivers/store/redis"
)

// newRateLimitStore returns where the login rate-limit counters live: in
// Redis when redisURL is set, so every instance behind a load balancer
// counts the same attempts, else in this process's memory (one instance).
// Keys are prefixed with the issuer, so instances of one provider share
// counters and different providers on one Redis do not. close releases the
// connection pool.
func newRateLimitStore(ctx context.Context, redisURL, issuer string) (store limiter.Store, close func() error, err error) {
	if redisURL == "" {
		return memory.NewStore(), func() error { return nil }, nil
	}
	where := redactRedisURL(redisURL)
	ropts, err := parseRedisURL(redisURL)
	if err != nil {
		return nil, nil, err
	}
	client := redis.NewClient(ropts)
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		return nil, nil, fmt.Errorf("rate limit redis at %s: ping: %w", where, err)
	}
	store, err = redisstore.NewStoreWithOptions(client, limiter.StoreOptions{
		Prefix:          "faceidp:ratelimit:" + issuer,
		CleanUpInterval: limiter.DefaultCleanUpInterval,
	})
	if err != nil {
		_ = client.Close()
		return nil, nil, fmt.Errorf("rate limit redis at %s: %w", where, err)
	}
	return store, client.Close, nil
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
