package storagetest

import (
	"errors"
	"testing"

	"github.com/faceidp/faceidp/storage"
)

// Userinfo, introspection and the refresh grant read a token and its user
// in one query; the records come back exactly as two separate reads would
// return them.
func testTokenWithUser(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, "create user", s.CreateUser(ctx, alice()))
	must(t, "create refresh token", s.CreateRefreshToken(ctx, refreshToken("rt1", "hash-1", "fam-1"), accessToken("at1", "rt1")))

	at, u, err := s.GetAccessTokenWithUser(ctx, "at1")
	must(t, "access token with user", err)
	sameRecord(t, "access token", at, accessToken("at1", "rt1"))
	sameRecord(t, "its user", u, alice())

	rt, u, err := s.GetRefreshTokenWithUser(ctx, "hash-1")
	must(t, "refresh token with user", err)
	sameRecord(t, "refresh token", rt, refreshToken("rt1", "hash-1", "fam-1"))
	sameRecord(t, "its user", u, alice())

	_, _, err = s.GetAccessTokenWithUser(ctx, "nope")
	wantErr(t, "unknown access token", err, storage.ErrNotFound)
	_, _, err = s.GetRefreshTokenWithUser(ctx, "nope")
	wantErr(t, "unknown refresh token", err, storage.ErrNotFound)

	orphan := accessToken("at-orphan", "")
	orphan.UserID = "u-gone"
	must(t, "token of a missing user", s.CreateAccessToken(ctx, orphan))
	_, _, err = s.GetAccessTokenWithUser(ctx, "at-orphan")
	wantErr(t, "token whose user is gone", err, storage.ErrNotFound)
}

// The rehash after a successful client authentication is compare-and-swap:
// it never overwrites a secret an administrator replaced meanwhile.
func testClientSecretHashCAS(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	c := webClient()
	must(t, "create", s.CreateClient(ctx, c))
	must(t, "swap", s.UpdateClientSecretHash(ctx, "web", c.SecretHash, "$hmac-sha256$k=k1$new"))
	got, err := s.GetClient(ctx, "web")
	must(t, "get", err)
	if got.SecretHash != "$hmac-sha256$k=k1$new" {
		t.Fatalf("secret hash = %q after the swap", got.SecretHash)
	}
	sameRecord(t, "other columns", got, c, "SecretHash", "UpdatedAt")
	wantErr(t, "swap from a stale hash", s.UpdateClientSecretHash(ctx, "web", c.SecretHash, "$hmac-sha256$k=k1$other"), storage.ErrStale)
	if got, _ := s.GetClient(ctx, "web"); got.SecretHash != "$hmac-sha256$k=k1$new" {
		t.Errorf("stale swap changed the hash to %q", got.SecretHash)
	}
	wantErr(t, "unknown client", s.UpdateClientSecretHash(ctx, "nope", "a", "b"), storage.ErrNotFound)
}

// Once the database is gone every call fails with ErrUnavailable (503 for
// the caller), never with a domain error such as ErrNotFound (which the
// provider would answer as "invalid token" or "unknown client").
func testUnavailableAfterClose(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, "create user", s.CreateUser(ctx, alice()))
	must(t, "close", s.Close())
	_, err := s.GetClient(ctx, "web")
	wantUnavailable(t, "GetClient", err)
	_, _, err = s.GetAccessTokenWithUser(ctx, "at1")
	wantUnavailable(t, "GetAccessTokenWithUser", err)
	_, err = s.GetAuthRequestByCodeHash(ctx, "h")
	wantUnavailable(t, "GetAuthRequestByCodeHash", err)
	wantUnavailable(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, authRequest("ar1")))
	wantUnavailable(t, "RotateRefreshToken", s.RotateRefreshToken(ctx, "h", baseTime(), refreshToken("rt2", "h2", ""), nil))
	wantUnavailable(t, "Health", s.Health(ctx))
	_, err = s.GetUser(ctx, "u-alice")
	wantUnavailable(t, "GetUser", err)
}

func wantUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("%s on a closed store: %v, want ErrUnavailable", what, err)
	}
	if errors.Is(err, storage.ErrNotFound) {
		t.Errorf("%s on a closed store reports ErrNotFound", what)
	}
}
