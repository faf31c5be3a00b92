package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func recoverySet(user, set string, n int, created time.Time) []models.RecoveryCode {
	out := make([]models.RecoveryCode, n)
	for i := range out {
		out[i] = models.RecoveryCode{UserID: user, CodeHash: fmt.Sprintf("%s-%s-%02d", user, set, i), KeyID: "k1", SetID: set, CreatedAt: created}
	}
	return out
}

func testRecoveryCodes(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	must(t, "store set a", s.ReplaceRecoveryCodes(ctx, "u1", recoverySet("u1", "a", 10, t0)))
	must(t, "store other user's set", s.ReplaceRecoveryCodes(ctx, "u2", recoverySet("u2", "x", 10, t0)))
	codes, err := s.ListRecoveryCodes(ctx, "u1")
	must(t, "list", err)
	if len(codes) != 10 {
		t.Fatalf("%d codes listed, want 10", len(codes))
	}
	sameRecord(t, "code", &codes[0], &recoverySet("u1", "a", 1, t0)[0])

	must(t, "consume", s.ConsumeRecoveryCode(ctx, "u1", "u1-a-03", t0.Add(time.Minute)))
	wantErr(t, "consume twice", s.ConsumeRecoveryCode(ctx, "u1", "u1-a-03", t0.Add(2*time.Minute)), storage.ErrAlreadyUsed)
	wantErr(t, "consume unknown", s.ConsumeRecoveryCode(ctx, "u1", "u1-a-99", t0), storage.ErrNotFound)
	wantErr(t, "consume another user's code", s.ConsumeRecoveryCode(ctx, "u1", "u2-x-01", t0), storage.ErrNotFound)
	codes, _ = s.ListRecoveryCodes(ctx, "u1")
	var used []string
	for _, c := range codes {
		if c.UsedAt != nil {
			used = append(used, c.CodeHash)
			sameTime(t, "UsedAt", *c.UsedAt, t0.Add(time.Minute))
		}
	}
	if !slices.Equal(used, []string{"u1-a-03"}) {
		t.Fatalf("used codes %v, want u1-a-03", used)
	}

	// Regenerating replaces the whole set: old codes, used or not, are gone.
	must(t, "replace with set b", s.ReplaceRecoveryCodes(ctx, "u1", recoverySet("u1", "b", 10, t0.Add(time.Hour))))
	wantErr(t, "old code after regeneration", s.ConsumeRecoveryCode(ctx, "u1", "u1-a-04", t0.Add(time.Hour)), storage.ErrNotFound)
	codes, _ = s.ListRecoveryCodes(ctx, "u1")
	for _, c := range codes {
		if c.SetID != "b" || c.UsedAt != nil {
			t.Fatalf("after regeneration: %+v", c)
		}
	}
	if len(codes) != 10 {
		t.Fatalf("%d codes after regeneration, want 10", len(codes))
	}
	// A set that fails to store (a duplicate hash) leaves the old one.
	bad := recoverySet("u1", "c", 2, t0)
	bad[1].CodeHash = bad[0].CodeHash
	if err := s.ReplaceRecoveryCodes(ctx, "u1", bad); err == nil {
		t.Fatal("set with a duplicate code stored")
	}
	if codes, _ = s.ListRecoveryCodes(ctx, "u1"); len(codes) != 10 || codes[0].SetID != "b" {
		t.Fatalf("failed replacement changed the set: %d codes", len(codes))
	}
	if err := s.ReplaceRecoveryCodes(ctx, "u1", recoverySet("u2", "d", 1, t0)); err == nil {
		t.Fatal("stored another user's code under u1")
	}

	n, err := s.DeleteRecoveryCodes(ctx, "u1")
	must(t, "delete", err)
	if n != 10 {
		t.Fatalf("deleted %d codes, want 10", n)
	}
	if codes, _ = s.ListRecoveryCodes(ctx, "u2"); len(codes) != 10 {
		t.Fatalf("deleting u1's codes touched u2's: %d left", len(codes))
	}
}

func testRecoveryCodeConcurrentConsume(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, "store", s.ReplaceRecoveryCodes(ctx, "u1", recoverySet("u1", "a", 10, baseTime())))
	errs := concurrently(8, func(int) error {
		return s.ConsumeRecoveryCode(ctx, "u1", "u1-a-05", baseTime())
	})
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, storage.ErrAlreadyUsed):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("one code consumed %d times concurrently, want 1", wins)
	}
}

func bypass(id, user string, created time.Time, ttl time.Duration) *models.FaceBypass {
	return &models.FaceBypass{ID: id, UserID: user, GrantedBy: "cli:root", Reason: "broken camera", CreatedAt: created, ExpiresAt: created.Add(ttl)}
}

func testFaceBypass(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	_, err := s.GetActiveFaceBypass(ctx, "u1", t0)
	wantErr(t, "none granted", err, storage.ErrNotFound)
	must(t, "grant b1", s.GrantFaceBypass(ctx, bypass("b1", "u1", t0, 24*time.Hour), t0))
	must(t, "grant for u2", s.GrantFaceBypass(ctx, bypass("b9", "u2", t0, 24*time.Hour), t0))
	got, err := s.GetActiveFaceBypass(ctx, "u1", t0.Add(time.Hour))
	must(t, "get active", err)
	sameRecord(t, "bypass", got, bypass("b1", "u1", t0, 24*time.Hour))

	// A second grant replaces the first.
	must(t, "grant b2", s.GrantFaceBypass(ctx, bypass("b2", "u1", t0.Add(time.Hour), time.Hour), t0.Add(time.Hour)))
	got, err = s.GetActiveFaceBypass(ctx, "u1", t0.Add(time.Hour))
	must(t, "get active after regrant", err)
	if got.ID != "b2" {
		t.Fatalf("active bypass %s, want b2", got.ID)
	}
	// Expired at ExpiresAt.
	_, err = s.ConsumeFaceBypass(ctx, "u1", t0.Add(2*time.Hour))
	wantErr(t, "consume at expiry", err, storage.ErrNotFound)
	_, err = s.GetActiveFaceBypass(ctx, "u1", t0.Add(2*time.Hour))
	wantErr(t, "get at expiry", err, storage.ErrNotFound)

	used, err := s.ConsumeFaceBypass(ctx, "u1", t0.Add(90*time.Minute))
	must(t, "consume", err)
	if used.ID != "b2" || used.UsedAt == nil {
		t.Fatalf("consumed %+v", used)
	}
	sameTime(t, "UsedAt", *used.UsedAt, t0.Add(90*time.Minute))
	_, err = s.ConsumeFaceBypass(ctx, "u1", t0.Add(91*time.Minute))
	wantErr(t, "consume twice", err, storage.ErrNotFound)
	// The replaced b1 did not come back.
	_, err = s.GetActiveFaceBypass(ctx, "u1", t0.Add(91*time.Minute))
	wantErr(t, "replaced bypass", err, storage.ErrNotFound)

	n, err := s.RevokeFaceBypasses(ctx, "u2", t0.Add(time.Minute))
	must(t, "revoke", err)
	if n != 1 {
		t.Fatalf("revoked %d, want 1", n)
	}
	_, err = s.ConsumeFaceBypass(ctx, "u2", t0.Add(2*time.Minute))
	wantErr(t, "consume revoked", err, storage.ErrNotFound)
	if n, _ = s.RevokeFaceBypasses(ctx, "u2", t0.Add(3*time.Minute)); n != 0 {
		t.Fatalf("second revoke counted %d", n)
	}
}

func testFaceBypassConcurrentConsume(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, "grant", s.GrantFaceBypass(ctx, bypass("b1", "u1", baseTime(), time.Hour), baseTime()))
	errs := concurrently(8, func(int) error {
		_, err := s.ConsumeFaceBypass(ctx, "u1", baseTime().Add(time.Minute))
		return err
	})
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, storage.ErrNotFound):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("bypass consumed %d times concurrently, want 1", wins)
	}
}
