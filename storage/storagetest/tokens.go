package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func refreshToken(id, hash, family string) *models.RefreshToken {
	t0 := baseTime()
	return &models.RefreshToken{
		ID: id, TokenHash: hash, FamilyID: family, ClientID: "web", UserID: "u-alice",
		Scopes: []string{"openid", "offline_access"}, Audience: []string{"web"},
		AuthTime: t0, AMR: []string{"pwd", "face"}, ACR: "urn:faceidp:2fa",
		ExpiresAt: t0.Add(24 * time.Hour), CreatedAt: t0,
	}
}

func accessToken(id, refreshID string) *models.AccessToken {
	t0 := baseTime()
	return &models.AccessToken{
		ID: id, ClientID: "web", UserID: "u-alice", Scopes: []string{"openid"},
		Audience: []string{"web", "api"}, RefreshTokenID: refreshID, AuthTime: t0,
		AMR: []string{"pwd"}, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0,
	}
}

func testAccessTokenCRUD(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, "create", s.CreateAccessToken(ctx, accessToken("at1", "")))
	got, err := s.GetAccessToken(ctx, "at1")
	must(t, "get", err)
	sameRecord(t, "access token", got, accessToken("at1", ""))
	wantErr(t, "duplicate", s.CreateAccessToken(ctx, accessToken("at1", "")), storage.ErrAlreadyExists)
	must(t, "delete", s.DeleteAccessToken(ctx, "at1"))
	_, err = s.GetAccessToken(ctx, "at1")
	wantErr(t, "get deleted", err, storage.ErrNotFound)
	wantErr(t, "delete again", s.DeleteAccessToken(ctx, "at1"), storage.ErrNotFound)
}

func testRefreshTokenCreate(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, "create", s.CreateRefreshToken(ctx, refreshToken("rt1", "h1", "fam1"), accessToken("at1", "rt1")))
	got, err := s.GetRefreshTokenByHash(ctx, "h1")
	must(t, "get by hash", err)
	sameRecord(t, "refresh token", got, refreshToken("rt1", "h1", "fam1"))
	byID, err := s.GetRefreshToken(ctx, "rt1")
	must(t, "get by id", err)
	sameRecord(t, "refresh token by id", byID, refreshToken("rt1", "h1", "fam1"))
	at, err := s.GetAccessToken(ctx, "at1")
	must(t, "its access token", err)
	if at.RefreshTokenID != "rt1" {
		t.Errorf("access token RefreshTokenID = %q, want rt1", at.RefreshTokenID)
	}

	// A clashing hash stores neither the token nor its access token.
	err = s.CreateRefreshToken(ctx, refreshToken("rt2", "h1", "fam2"), accessToken("at2", "rt2"))
	wantErr(t, "duplicate hash", err, storage.ErrAlreadyExists)
	_, err = s.GetRefreshToken(ctx, "rt2")
	wantErr(t, "token of failed create", err, storage.ErrNotFound)
	_, err = s.GetAccessToken(ctx, "at2")
	wantErr(t, "access token of failed create must not be half-written", err, storage.ErrNotFound)

	_, err = s.GetRefreshTokenByHash(ctx, "nope")
	wantErr(t, "unknown hash", err, storage.ErrNotFound)
	_, err = s.GetRefreshToken(ctx, "nope")
	wantErr(t, "unknown id", err, storage.ErrNotFound)
}

func testRefreshRotation(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	must(t, "create", s.CreateRefreshToken(ctx, refreshToken("rt1", "h1", "fam"), accessToken("at1", "rt1")))

	now1 := t0.Add(time.Minute)
	next := refreshToken("rt2", "h2", "") // family is filled in from the old token
	must(t, "rotate", s.RotateRefreshToken(ctx, "h1", now1, next, accessToken("at2", "rt2")))

	old, err := s.GetRefreshToken(ctx, "rt1")
	must(t, "get old", err)
	if old.RotatedAt == nil || old.RevokedAt != nil {
		t.Fatalf("old token after rotation: rotated %v revoked %v, want rotated only", old.RotatedAt, old.RevokedAt)
	}
	sameTime(t, "RotatedAt", *old.RotatedAt, now1)
	if old.Usable(now1) {
		t.Error("rotated token still usable")
	}
	succ, err := s.GetRefreshTokenByHash(ctx, "h2")
	must(t, "get successor", err)
	if succ.FamilyID != "fam" || succ.ID != "rt2" || !succ.Usable(now1) {
		t.Fatalf("successor = %+v, want usable rt2 in family fam", succ)
	}
	_, err = s.GetAccessToken(ctx, "at2")
	must(t, "successor's access token", err)

	// Second hop works from the successor.
	must(t, "rotate again", s.RotateRefreshToken(ctx, "h2", t0.Add(2*time.Minute), refreshToken("rt3", "h3", "fam"), accessToken("at3", "rt3")))

	wantErr(t, "unknown hash", s.RotateRefreshToken(ctx, "nope", now1, refreshToken("rt9", "h9", ""), accessToken("at9", "rt9")), storage.ErrNotFound)
	_, err = s.GetRefreshToken(ctx, "rt9")
	wantErr(t, "rotation of unknown token must not store next", err, storage.ErrNotFound)

	err = s.RotateRefreshToken(ctx, "h3", now1, refreshToken("rt8", "h8", "another-family"), nil)
	if err == nil {
		t.Fatal("rotation into a different family succeeded")
	}
	if tok, err := s.GetRefreshToken(ctx, "rt3"); err != nil || !tok.Usable(now1) {
		t.Fatalf("failed rotation consumed the token: %+v, %v", tok, err)
	}
}

func testRefreshReuse(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	must(t, "create", s.CreateRefreshToken(ctx, refreshToken("rt1", "h1", "fam"), accessToken("at1", "rt1")))
	must(t, "create unrelated family", s.CreateRefreshToken(ctx, refreshToken("x1", "hx", "other"), accessToken("atx", "x1")))
	must(t, "rotate", s.RotateRefreshToken(ctx, "h1", t0.Add(time.Minute), refreshToken("rt2", "h2", "fam"), accessToken("at2", "rt2")))

	// The old token is presented again: a stolen token replayed.
	reuseAt := t0.Add(2 * time.Minute)
	err := s.RotateRefreshToken(ctx, "h1", reuseAt, refreshToken("rt3", "h3", "fam"), accessToken("at3", "rt3"))
	wantErr(t, "replay", err, storage.ErrRefreshTokenReused)

	for _, id := range []string{"rt1", "rt2"} {
		tok, err := s.GetRefreshToken(ctx, id)
		must(t, "get "+id, err)
		if tok.RevokedAt == nil {
			t.Fatalf("%s not revoked after reuse", id)
		}
		sameTime(t, id+".RevokedAt", *tok.RevokedAt, reuseAt)
	}
	for _, id := range []string{"at1", "at2", "at3"} {
		_, err := s.GetAccessToken(ctx, id)
		wantErr(t, "access token "+id+" after reuse", err, storage.ErrNotFound)
	}
	_, err = s.GetRefreshToken(ctx, "rt3")
	wantErr(t, "replay must not store a successor", err, storage.ErrNotFound)

	// The successor is dead too: its holder cannot continue the family.
	err = s.RotateRefreshToken(ctx, "h2", reuseAt, refreshToken("rt4", "h4", "fam"), nil)
	wantErr(t, "successor after reuse", err, storage.ErrRefreshTokenReused)

	other, err := s.GetRefreshToken(ctx, "x1")
	must(t, "unrelated family", err)
	if other.RevokedAt != nil || other.RotatedAt != nil {
		t.Error("reuse revoked an unrelated family")
	}
	_, err = s.GetAccessToken(ctx, "atx")
	must(t, "unrelated access token kept", err)
}

func testRefreshConcurrentRotation(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	must(t, "create", s.CreateRefreshToken(ctx, refreshToken("rt0", "h0", "fam"), accessToken("at0", "rt0")))

	const n = 16
	errs := concurrently(n, func(i int) error {
		id := fmt.Sprintf("next%d", i)
		return s.RotateRefreshToken(ctx, "h0", t0.Add(time.Minute), refreshToken(id, "hn"+id, ""), accessToken("at-"+id, id))
	})

	wins, reused := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, storage.ErrRefreshTokenReused):
			reused++
		default:
			t.Errorf("goroutine %d: unexpected error %v", i, err)
		}
	}
	if wins != 1 || reused != n-1 {
		t.Fatalf("concurrent rotation: %d succeeded, %d reused; want exactly 1 and %d", wins, reused, n-1)
	}
	// The losers' replays revoked the family, the winner's successor included.
	stored := 0
	for i := range n {
		id := fmt.Sprintf("next%d", i)
		tok, err := s.GetRefreshToken(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		must(t, "get "+id, err)
		stored++
		if tok.RevokedAt == nil {
			t.Errorf("winner's successor %s not revoked after concurrent replays", id)
		}
		_, err = s.GetAccessToken(ctx, "at-"+id)
		wantErr(t, "winner's access token", err, storage.ErrNotFound)
	}
	if stored != 1 {
		t.Fatalf("%d successors stored, want 1", stored)
	}
}

func testRevokeRefreshFamily(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	must(t, "create", s.CreateRefreshToken(ctx, refreshToken("rt1", "h1", "fam"), accessToken("at1", "rt1")))
	must(t, "rotate", s.RotateRefreshToken(ctx, "h1", t0, refreshToken("rt2", "h2", "fam"), accessToken("at2", "rt2")))
	must(t, "other family", s.CreateRefreshToken(ctx, refreshToken("x1", "hx", "other"), accessToken("atx", "x1")))

	at := t0.Add(time.Hour)
	must(t, "revoke", s.RevokeRefreshFamily(ctx, "fam", at))
	for _, id := range []string{"rt1", "rt2"} {
		tok, err := s.GetRefreshToken(ctx, id)
		must(t, "get "+id, err)
		if tok.RevokedAt == nil {
			t.Fatalf("%s not revoked", id)
		}
		sameTime(t, id+".RevokedAt", *tok.RevokedAt, at)
	}
	for _, id := range []string{"at1", "at2"} {
		_, err := s.GetAccessToken(ctx, id)
		wantErr(t, id+" after family revocation", err, storage.ErrNotFound)
	}
	wantErr(t, "rotate revoked", s.RotateRefreshToken(ctx, "h2", at, refreshToken("rt3", "h3", "fam"), nil), storage.ErrRefreshTokenReused)

	// Revoking again keeps the first revocation time.
	must(t, "revoke again", s.RevokeRefreshFamily(ctx, "fam", at.Add(time.Hour)))
	tok, err := s.GetRefreshToken(ctx, "rt2")
	must(t, "get", err)
	sameTime(t, "RevokedAt after second revoke", *tok.RevokedAt, at)

	must(t, "revoke unknown family", s.RevokeRefreshFamily(ctx, "nope", at))
	x, err := s.GetRefreshToken(ctx, "x1")
	must(t, "other family", err)
	if x.RevokedAt != nil {
		t.Error("other family revoked")
	}
	_, err = s.GetAccessToken(ctx, "atx")
	must(t, "other family's access token", err)
}

func testDeleteUserClientTokens(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	keys := seedUserClientTokens(t, s)
	must(t, "delete u1/c1", s.DeleteUserClientTokens(ctx, "u1", "c1"))
	for i := range keys {
		_, errRT := s.GetRefreshToken(ctx, fmt.Sprintf("rt%d", i))
		_, errAT := s.GetAccessToken(ctx, fmt.Sprintf("at%d", i))
		_, errLone := s.GetAccessToken(ctx, fmt.Sprintf("lone%d", i))
		if i == 0 {
			wantErr(t, "u1/c1 refresh token", errRT, storage.ErrNotFound)
			wantErr(t, "u1/c1 access token", errAT, storage.ErrNotFound)
			wantErr(t, "u1/c1 lone access token", errLone, storage.ErrNotFound)
		} else {
			must(t, fmt.Sprintf("%v refresh token kept", keys[i]), errRT)
			must(t, fmt.Sprintf("%v access token kept", keys[i]), errAT)
			must(t, fmt.Sprintf("%v lone access token kept", keys[i]), errLone)
		}
	}
	must(t, "delete with nothing to delete", s.DeleteUserClientTokens(ctx, "u9", "c9"))
}

// testDeleteUserTokens: every token of the user goes, for every client
// (rotated family members and lone access tokens included); other users'
// tokens stay.
func testDeleteUserTokens(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	seedUserClientTokens(t, s)
	// A rotated family: the old member and its successor both belong to u1.
	next := refreshToken("rt0-next", "h0-next", "")
	next.UserID, next.ClientID = "u1", "c1"
	nextAT := accessToken("at0-next", "")
	nextAT.UserID, nextAT.ClientID = "u1", "c1"
	must(t, "rotate", s.RotateRefreshToken(ctx, "h0", baseTime().Add(time.Minute), next, nextAT))

	must(t, "delete u1", s.DeleteUserTokens(ctx, "u1"))
	for _, id := range []string{"rt0", "rt1", "rt0-next"} {
		_, err := s.GetRefreshToken(ctx, id)
		wantErr(t, "u1 refresh token "+id, err, storage.ErrNotFound)
	}
	for _, h := range []string{"h0", "h1", "h0-next"} {
		_, err := s.GetRefreshTokenByHash(ctx, h)
		wantErr(t, "u1 refresh token by hash "+h, err, storage.ErrNotFound)
	}
	for _, id := range []string{"at0", "at1", "lone0", "lone1", "at0-next"} {
		_, err := s.GetAccessToken(ctx, id)
		wantErr(t, "u1 access token "+id, err, storage.ErrNotFound)
	}
	_, err := s.GetRefreshToken(ctx, "rt2")
	must(t, "u2 refresh token kept", err)
	for _, id := range []string{"at2", "lone2"} {
		_, err := s.GetAccessToken(ctx, id)
		must(t, "u2 access token "+id+" kept", err)
	}
	must(t, "delete with nothing to delete", s.DeleteUserTokens(ctx, "u9"))
}

type userClient struct{ user, client string }

// seedUserClientTokens gives u1@c1, u1@c2 and u2@c1 (index i) a refresh
// token rt<i> (hash h<i>, family f<i>) with its access token at<i>, and a
// lone access token lone<i>; it returns the pairs by index.
func seedUserClientTokens(t *testing.T, s storage.Storage) []userClient {
	ctx := t.Context()
	keys := []userClient{{"u1", "c1"}, {"u1", "c2"}, {"u2", "c1"}}
	for i, k := range keys {
		rt := refreshToken(fmt.Sprintf("rt%d", i), fmt.Sprintf("h%d", i), fmt.Sprintf("f%d", i))
		rt.UserID, rt.ClientID = k.user, k.client
		at := accessToken(fmt.Sprintf("at%d", i), rt.ID)
		at.UserID, at.ClientID = k.user, k.client
		must(t, "create", s.CreateRefreshToken(ctx, rt, at))
		lone := accessToken(fmt.Sprintf("lone%d", i), "")
		lone.UserID, lone.ClientID = k.user, k.client
		must(t, "create lone access token", s.CreateAccessToken(ctx, lone))
	}
	return keys
}
