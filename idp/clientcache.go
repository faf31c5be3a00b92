package idp

import (
	"context"
	"sync"
	"time"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// clientCacheTTL is how long a running instance reuses a client record it
// read: `faceidp client remove` and `client set-secret` take effect on every
// instance within it. It saves the client read on every token,
// introspection and revocation request and /authorize.
const clientCacheTTL = 5 * time.Second

// clientCacheMax bounds the cache; only registered clients enter it, so
// invented client_ids cannot fill it.
const clientCacheMax = 4096

// clientCache holds recently read clients. Cached records are shared:
// callers must not modify them.
type clientCache struct {
	mu      sync.Mutex
	entries map[string]cachedClient
}

type cachedClient struct {
	c    *models.Client
	read time.Time
}

func (cc *clientCache) get(id string, now time.Time) (*models.Client, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	e, ok := cc.entries[id]
	if !ok || now.Sub(e.read) >= clientCacheTTL || now.Before(e.read) {
		return nil, false
	}
	return e.c, true
}

func (cc *clientCache) put(c *models.Client, now time.Time) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.entries == nil || len(cc.entries) >= clientCacheMax {
		cc.entries = make(map[string]cachedClient)
	}
	cc.entries[c.ID] = cachedClient{c: c, read: now}
}

// client returns a registered client, from the cache when it was read in
// the last clientCacheTTL. Errors are the store's.
func (s *Server) client(ctx context.Context, id string) (*models.Client, error) {
	now := s.clock()
	if c, ok := s.clients.get(id, now); ok {
		if c.Disabled {
			return nil, storage.ErrNotFound
		}
		return c, nil
	}
	c, err := s.store.GetClient(ctx, id)
	if err != nil {
		return nil, err
	}
	s.clients.put(c, now)
	if c.Disabled {
		// A disabled client is refused everywhere as if unregistered.
		return nil, storage.ErrNotFound
	}
	return c, nil
}
