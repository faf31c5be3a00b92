package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/faceidp/faceidp/internal/teststore"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// Rotations committed together (group commit on SQLite) keep their own
// outcomes: a rotation that fails, or whose caller gave up, takes nothing
// of the others with it, and every success is stored.
func TestConcurrentRotationsKeepTheirOwnOutcomes(t *testing.T) {
	s := teststore.SQLite(t)
	ctx := t.Context()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tok := func(id, fam string) *models.RefreshToken {
		return &models.RefreshToken{ID: id, TokenHash: "h-" + id, FamilyID: fam, ClientID: "c", UserID: "u",
			Scopes: []string{"openid"}, ExpiresAt: now.Add(time.Hour)}
	}
	const chains, steps = 6, 25
	for c := range chains {
		if err := s.CreateRefreshToken(ctx, tok(fmt.Sprintf("c%d-0", c), fmt.Sprintf("f%d", c)), nil); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, chains*steps*3)
	for c := range chains {
		fam := fmt.Sprintf("f%d", c)
		wg.Go(func() {
			for i := range steps {
				old, next := fmt.Sprintf("c%d-%d", c, i), fmt.Sprintf("c%d-%d", c, i+1)
				at := &models.AccessToken{ID: "at-" + next, ClientID: "c", UserID: "u", ExpiresAt: now.Add(time.Hour)}
				if err := s.RotateRefreshToken(ctx, "h-"+old, now, tok(next, fam), at); err != nil {
					errs <- fmt.Errorf("chain %d step %d: %w", c, i, err)
				}
			}
		})
		// Beside each chain: a rotation naming the wrong family (an
		// error, nothing stored) and one whose caller has given up.
		wg.Go(func() {
			for i := range steps {
				bad := tok(fmt.Sprintf("bad%d-%d", c, i), "no-such-family")
				if err := s.RotateRefreshToken(ctx, fmt.Sprintf("h-c%d-0", c), now, bad, nil); err == nil {
					errs <- fmt.Errorf("rotation into the wrong family succeeded")
				}
				cctx, cancel := context.WithCancel(ctx)
				cancel()
				gone := tok(fmt.Sprintf("gone%d-%d", c, i), fam)
				_ = s.RotateRefreshToken(cctx, fmt.Sprintf("h-c%d-%d", c, steps), now, gone, nil)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for c := range chains {
		last, err := s.GetRefreshTokenByHash(ctx, fmt.Sprintf("h-c%d-%d", c, steps))
		if err != nil {
			t.Fatalf("chain %d: last token: %v", c, err)
		}
		if last.RotatedAt != nil || last.RevokedAt != nil {
			t.Errorf("chain %d: last token rotated %v revoked %v", c, last.RotatedAt, last.RevokedAt)
		}
		for i := 1; i <= steps; i++ {
			if _, err := s.GetAccessToken(ctx, fmt.Sprintf("at-c%d-%d", c, i)); err != nil {
				t.Errorf("chain %d: access token %d: %v", c, i, err)
			}
		}
		for i := range steps {
			if _, err := s.GetRefreshToken(ctx, fmt.Sprintf("bad%d-%d", c, i)); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("chain %d: failed rotation %d stored its token (%v)", c, i, err)
			}
		}
	}
}
