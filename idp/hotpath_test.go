package idp

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// countingStore counts the storage calls the hot endpoints could make.
type countingStore struct {
	storage.Storage
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingStore) count(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[name]++
}

func (c *countingStore) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := maps.Clone(c.calls)
	clear(c.calls)
	return out
}

func (c *countingStore) GetClient(ctx context.Context, id string) (*models.Client, error) {
	c.count("GetClient")
	return c.Storage.GetClient(ctx, id)
}
func (c *countingStore) GetUser(ctx context.Context, id string) (*models.User, error) {
	c.count("GetUser")
	return c.Storage.GetUser(ctx, id)
}
func (c *countingStore) GetAccessToken(ctx context.Context, id string) (*models.AccessToken, error) {
	c.count("GetAccessToken")
	return c.Storage.GetAccessToken(ctx, id)
}
func (c *countingStore) GetAccessTokenWithUser(ctx context.Context, id string) (*models.AccessToken, *models.User, error) {
	c.count("GetAccessTokenWithUser")
	return c.Storage.GetAccessTokenWithUser(ctx, id)
}
func (c *countingStore) GetRefreshTokenByHash(ctx context.Context, h string) (*models.RefreshToken, error) {
	c.count("GetRefreshTokenByHash")
	return c.Storage.GetRefreshTokenByHash(ctx, h)
}
func (c *countingStore) GetRefreshTokenWithUser(ctx context.Context, h string) (*models.RefreshToken, *models.User, error) {
	c.count("GetRefreshTokenWithUser")
	return c.Storage.GetRefreshTokenWithUser(ctx, h)
}
func (c *countingStore) GetRefreshToken(ctx context.Context, id string) (*models.RefreshToken, error) {
	c.count("GetRefreshToken")
	return c.Storage.GetRefreshToken(ctx, id)
}
func (c *countingStore) RotateRefreshToken(ctx context.Context, old string, now time.Time, next *models.RefreshToken, at *models.AccessToken) error {
	c.count("RotateRefreshToken")
	return c.Storage.RotateRefreshToken(ctx, old, now, next, at)
}
func (c *countingStore) CreateAccessToken(ctx context.Context, at *models.AccessToken) error {
	c.count("CreateAccessToken")
	return c.Storage.CreateAccessToken(ctx, at)
}
func (c *countingStore) ListSigningKeys(ctx context.Context) ([]models.SigningKey, error) {
	c.count("ListSigningKeys")
	return c.Storage.ListSigningKeys(ctx)
}
func (c *countingStore) AppendAudit(ctx context.Context, e *models.AuditEvent) error {
	c.count("AppendAudit")
	return c.Storage.AppendAudit(ctx, e)
}
func (c *countingStore) GetAuthRequest(ctx context.Context, id string) (*models.AuthRequest, error) {
	c.count("GetAuthRequest")
	return c.Storage.GetAuthRequest(ctx, id)
}
func (c *countingStore) GetSession(ctx context.Context, id string) (*models.Session, error) {
	c.count("GetSession")
	return c.Storage.GetSession(ctx, id)
}

// The protocol hot path: discovery and JWKS touch no storage, userinfo and
// introspection are one read of the token joined to its user (the client is
// cached for a few seconds), and a refresh grant is the token with its user
// and one transaction; nothing is audited per request.
func TestHotPathStorageCalls(t *testing.T) {
	var cs *countingStore
	e := newEnv(t, func(o *Options) {
		cs = &countingStore{Storage: o.Store, calls: map[string]int{}}
		o.Store = cs
	})
	_, _, tok := aliceTokens(t, e)
	cs.take()

	want := func(what string, p page, status int, calls map[string]int) {
		t.Helper()
		if p.status != status {
			t.Fatalf("%s: %d, want %d\n%s", what, p.status, status, p.body)
		}
		if got := cs.take(); !maps.Equal(got, calls) {
			t.Errorf("%s: storage calls %v, want %v", what, got, calls)
		}
	}
	want("discovery", get(t, http.DefaultClient, e.issuer+"/.well-known/openid-configuration"), 200, map[string]int{})
	want("jwks", get(t, http.DefaultClient, e.issuer+"/keys"), 200, map[string]int{})

	req, _ := http.NewRequest(http.MethodGet, e.issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	want("userinfo", do(t, http.DefaultClient, req), 200, map[string]int{"GetAccessTokenWithUser": 1})

	post := func(u string, v url.Values) page {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("app", "app-secret")
		return do(t, http.DefaultClient, req)
	}
	// The client was read by the code exchange a moment ago: it comes from
	// the cache (clientCacheTTL).
	want("introspection", post(e.issuer+"/oauth/introspect", url.Values{"token": {tok.AccessToken}}), 200,
		map[string]int{"GetAccessTokenWithUser": 1})
	p := post(e.issuer+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	want("refresh", p, 200, map[string]int{"GetRefreshTokenWithUser": 1, "RotateRefreshToken": 1})
	// Past the TTL the client is read again.
	e.clock.Advance(clientCacheTTL)
	want("introspection after the client cache TTL", post(e.issuer+"/oauth/introspect", url.Values{"token": {tok.AccessToken}}), 200,
		map[string]int{"GetClient": 1, "GetAccessTokenWithUser": 1})
	if !strings.Contains(p.body, `"id_token"`) || !strings.Contains(p.body, `"refresh_token"`) {
		t.Errorf("refresh response lacks tokens: %s", p.body)
	}
}
