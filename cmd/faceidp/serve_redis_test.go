package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testRedisURL is the Redis server scripts/test starts; a test that needs it
// fails (never skips) when it is down.
func testRedisURL() string {
	if u := os.Getenv("FACEIDP_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// redisClientNamed reports whether a connection named name is open on the
// Redis server.
func redisClientNamed(t *testing.T, rc *redis.Client, name string) bool {
	t.Helper()
	list, err := rc.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatalf("redis CLIENT LIST: %v", err)
	}
	return strings.Contains(list, " name="+name+" ")
}

// serve reads rate_limit.redis_url from the environment, shares the
// rate-limit counters through that Redis, and closes its connections when
// it shuts down.
func TestServeUsesRateLimitRedisAndClosesIt(t *testing.T) {
	opts, err := redis.ParseURL(testRedisURL())
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opts)
	defer rc.Close()
	if err := rc.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Redis for tests at %s: %v (scripts/test starts it)", testRedisURL(), err)
	}
	name := "faceidp-serve-test-" + rand.Text()[:10]
	sep := "?"
	if strings.Contains(testRedisURL(), "?") {
		sep = "&"
	}
	e := newTestEnv(t).with("FACEIDP_RATE_LIMIT_REDIS_URL=" + testRedisURL() + sep + "client_name=" + name)
	_, stop := serveUntilReady(t, e)
	if !redisClientNamed(t, rc, name) {
		t.Fatalf("serve is running but has no Redis connection named %s", name)
	}
	if r := stop(); r.code != 0 {
		t.Fatalf("serve: exit %d\n%s", r.code, r.stderr)
	}
	// The server drops a closed connection from its list once it has read
	// the EOF; wait for that rather than assuming a duration.
	deadline := time.Now().Add(10 * time.Second)
	for redisClientNamed(t, rc, name) {
		if time.Now().After(deadline) {
			t.Fatal("serve stopped but its Redis connections are still open (Server.Close not called)")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServeRefusesUnreachableOrBadRedis(t *testing.T) {
	dead := freeAddr(t) // nothing listens there any more
	e := newTestEnv(t)
	msg := e.with(fmt.Sprintf("FACEIDP_RATE_LIMIT_REDIS_URL=redis://:hunter2@%s/0", dead)).fails("", "serve")
	if !strings.Contains(msg, "ping") || !strings.Contains(msg, dead) || strings.Contains(msg, "hunter2") {
		t.Errorf("unreachable Redis: want an error naming the address, without the password:\n%s", msg)
	}
	msg = e.with("FACEIDP_RATE_LIMIT_REDIS_URL=http://:hunter2@127.0.0.1:6379").fails("", "serve")
	if !strings.Contains(msg, "rate_limit.redis_url (FACEIDP_RATE_LIMIT_REDIS_URL)") || strings.Contains(msg, "hunter2") {
		t.Errorf("bad Redis URL: want a problem naming the key, without the password:\n%s", msg)
	}
}
