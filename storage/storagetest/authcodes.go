package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/faceidp/faceidp/storage"
)

func codedRequest(t *testing.T, s storage.Storage, id string) {
	t.Helper()
	r := authRequest(id)
	r.CodeHash, r.Done, r.UserID = "code-of-"+id, true, "u-alice"
	must(t, "create coded request", s.CreateAuthRequest(t.Context(), r))
}

// testAuthCodeRedeem: the first exchange stores the tokens and leaves a
// tombstone; a second one stores nothing and revokes what the first issued.
func testAuthCodeRedeem(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	codedRequest(t, s, "ar1")
	rt := refreshToken("rt1", "h1", "")
	must(t, "redeem", s.RedeemAuthCode(ctx, "ar1", t0, accessToken("at1", ""), rt))

	r, err := s.GetAuthRequest(ctx, "ar1")
	must(t, "tombstone", err)
	if r.CodeUsedAt == nil || r.CodeAccessTokenID != "at1" || r.CodeRefreshFamilyID != "rt1" {
		t.Fatalf("tombstone: used=%v at=%q family=%q", r.CodeUsedAt, r.CodeAccessTokenID, r.CodeRefreshFamilyID)
	}
	sameTime(t, "CodeUsedAt", *r.CodeUsedAt, t0)
	got, err := s.GetRefreshToken(ctx, "rt1")
	must(t, "refresh token stored", err)
	if got.FamilyID != "rt1" || got.RevokedAt != nil {
		t.Fatalf("refresh token family=%q revoked=%v", got.FamilyID, got.RevokedAt)
	}
	at, err := s.GetAccessToken(ctx, "at1")
	must(t, "access token stored", err)
	if at.RefreshTokenID != "rt1" {
		t.Errorf("access token RefreshTokenID = %q, want rt1", at.RefreshTokenID)
	}
	// The family rotates on as usual.
	must(t, "rotate", s.RotateRefreshToken(ctx, "h1", t0.Add(time.Minute), refreshToken("rt2", "h2", ""), accessToken("at2", "")))

	err = s.RedeemAuthCode(ctx, "ar1", t0.Add(2*time.Minute), accessToken("at-replay", ""), refreshToken("rt-replay", "h-replay", ""))
	wantErr(t, "second redeem", err, storage.ErrAuthCodeUsed)
	for _, id := range []string{"at1", "at2", "at-replay"} {
		_, err := s.GetAccessToken(ctx, id)
		wantErr(t, "access token "+id+" after reuse", err, storage.ErrNotFound)
	}
	_, err = s.GetRefreshToken(ctx, "rt-replay")
	wantErr(t, "replay's refresh token", err, storage.ErrNotFound)
	for _, id := range []string{"rt1", "rt2"} {
		got, err := s.GetRefreshToken(ctx, id)
		must(t, id, err)
		if got.RevokedAt == nil {
			t.Errorf("%s not revoked after code reuse", id)
		}
	}
	r, err = s.GetAuthRequest(ctx, "ar1")
	must(t, "tombstone after reuse", err)
	sameTime(t, "CodeUsedAt keeps the first use", *r.CodeUsedAt, t0)

	// Without offline access only the access token exists.
	codedRequest(t, s, "ar2")
	must(t, "redeem without refresh", s.RedeemAuthCode(ctx, "ar2", t0, accessToken("at3", ""), nil))
	must(t, "revoke code tokens", s.RevokeAuthCodeTokens(ctx, "ar2", t0.Add(time.Minute)))
	_, err = s.GetAccessToken(ctx, "at3")
	wantErr(t, "access token after RevokeAuthCodeTokens", err, storage.ErrNotFound)

	// An unused code's request is left alone.
	codedRequest(t, s, "ar3")
	must(t, "standalone token", s.CreateAccessToken(ctx, accessToken("at4", "")))
	must(t, "revoke unused", s.RevokeAuthCodeTokens(ctx, "ar3", t0))
	if _, err := s.GetAccessToken(ctx, "at4"); err != nil {
		t.Errorf("unrelated access token gone: %v", err)
	}

	wantErr(t, "redeem unknown", s.RedeemAuthCode(ctx, "nope", t0, accessToken("at5", ""), nil), storage.ErrNotFound)
	wantErr(t, "revoke unknown", s.RevokeAuthCodeTokens(ctx, "nope", t0), storage.ErrNotFound)
	if _, err := s.GetAccessToken(ctx, "at5"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("redeeming an unknown request stored its access token: %v", err)
	}
}

// testAuthCodeConcurrentRedeem: of concurrent exchanges of one code exactly
// one issues tokens, and the losers revoke them.
func testAuthCodeConcurrentRedeem(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	codedRequest(t, s, "ar1")
	const n = 8
	errs := concurrently(n, func(i int) error {
		return s.RedeemAuthCode(ctx, "ar1", baseTime(), accessToken(fmt.Sprint("at", i), ""), refreshToken(fmt.Sprint("rt", i), fmt.Sprint("h", i), ""))
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("exchanges %d and %d both succeeded", winner, i)
			}
			winner = i
		case !errors.Is(err, storage.ErrAuthCodeUsed):
			t.Errorf("exchange %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no exchange succeeded")
	}
	for i := range n {
		rt, err := s.GetRefreshToken(ctx, fmt.Sprint("rt", i))
		if i != winner {
			wantErr(t, "loser's refresh token", err, storage.ErrNotFound)
			continue
		}
		must(t, "winner's refresh token", err)
		if rt.RevokedAt == nil {
			t.Error("the winner's tokens survived a concurrent second exchange")
		}
	}
}
