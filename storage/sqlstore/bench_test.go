package sqlstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/faceidp/faceidp/internal/pgtest"
	"github.com/faceidp/faceidp/internal/teststore"
	"github.com/faceidp/faceidp/models"
)

// BenchmarkRotateRefreshToken measures one refresh exchange (conditional
// UPDATE + two INSERTs in a transaction), the hottest write path.
func BenchmarkRotateRefreshToken(b *testing.B) {
	for _, backend := range []struct {
		name string
		url  func(testing.TB) string
	}{{"sqlite", teststore.SQLiteURL}, {"postgres", pgtest.SchemaURL}} {
		b.Run(backend.name, func(b *testing.B) {
			s := teststore.Open(b, backend.url(b))
			ctx := b.Context()
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			tok := func(i int) *models.RefreshToken {
				return &models.RefreshToken{ID: fmt.Sprintf("r%d", i), TokenHash: fmt.Sprintf("h%d", i), FamilyID: "f",
					ClientID: "c", UserID: "u", ExpiresAt: now.Add(time.Hour)}
			}
			if err := s.CreateRefreshToken(ctx, tok(0), nil); err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				at := &models.AccessToken{ID: fmt.Sprintf("a%d", i+1), ClientID: "c", UserID: "u", ExpiresAt: now.Add(time.Hour)}
				if err := s.RotateRefreshToken(ctx, fmt.Sprintf("h%d", i), now, tok(i+1), at); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
