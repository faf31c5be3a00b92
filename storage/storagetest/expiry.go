package storagetest

import (
	"errors"
	"testing"
	"time"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func testDeleteExpired(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	now := t0.Add(time.Hour)
	past, future := now.Add(-time.Second), now.Add(time.Second)

	arOld, arNew := authRequest("ar-old"), authRequest("ar-new")
	arOld.ExpiresAt, arNew.ExpiresAt = past, future
	must(t, "ar-old", s.CreateAuthRequest(ctx, arOld))
	must(t, "ar-new", s.CreateAuthRequest(ctx, arNew))

	atOld, atNew := accessToken("at-old", ""), accessToken("at-new", "")
	atOld.ExpiresAt, atNew.ExpiresAt = past, future
	must(t, "at-old", s.CreateAccessToken(ctx, atOld))
	must(t, "at-new", s.CreateAccessToken(ctx, atNew))

	rtOld, rtNew := refreshToken("rt-old", "h-old", "f-old"), refreshToken("rt-new", "h-new", "f-new")
	rtOld.ExpiresAt, rtNew.ExpiresAt = past, future
	must(t, "rt-old", s.CreateRefreshToken(ctx, rtOld, nil))
	must(t, "rt-new", s.CreateRefreshToken(ctx, rtNew, nil))
	// A revoked but unexpired family member stays, so its replay is still
	// recognised as reuse.
	must(t, "revoke f-new", s.RevokeRefreshFamily(ctx, "f-new", t0))

	sOld, sNew := session("s-old", "u1", t0), session("s-new", "u1", t0)
	sOld.ExpiresAt, sNew.ExpiresAt = now, future // ExpiresAt == now is expired
	must(t, "s-old", s.CreateSession(ctx, sOld))
	must(t, "s-new", s.CreateSession(ctx, sNew))

	cOld, cNew := challenge("c-old", t0), challenge("c-new", t0)
	cOld.ExpiresAt, cNew.ExpiresAt = past, future
	must(t, "c-old", s.CreateFaceChallenge(ctx, cOld))
	must(t, "c-new", s.CreateFaceChallenge(ctx, cNew))

	wOld, wNew := webAuthnSession("w-old", t0), webAuthnSession("w-new", t0)
	wOld.ExpiresAt, wNew.ExpiresAt = past, future
	must(t, "w-old", s.CreateWebAuthnSession(ctx, wOld))
	must(t, "w-new", s.CreateWebAuthnSession(ctx, wNew))

	bOld, bNew := bypass("b-old", "u1", t0, time.Hour-time.Second), bypass("b-new", "u2", t0, time.Hour+time.Second)
	must(t, "b-old", s.GrantFaceBypass(ctx, bOld, t0))
	must(t, "b-new", s.GrantFaceBypass(ctx, bNew, t0))
	must(t, "passkey", s.CreatePasskey(ctx, passkey("pk", "u1", "cred", t0)))
	must(t, "recovery codes", s.ReplaceRecoveryCodes(ctx, "u1", recoverySet("u1", "a", 2, t0)))

	must(t, "k-gone", s.CreateSigningKey(ctx, signingKey("k-gone", t0)))
	must(t, "k-retired", s.RotateSigningKeys(ctx, []*models.SigningKey{signingKey("k-retired", t0.Add(time.Minute))}, t0.Add(time.Minute), past))
	must(t, "k-current", s.RotateSigningKeys(ctx, []*models.SigningKey{signingKey("k-current", t0.Add(2*time.Minute))}, t0.Add(2*time.Minute), future))
	// k-gone: RemoveAfter past (set by the first rotation); k-retired:
	// RemoveAfter future; k-current: not retired.

	for _, th := range []struct {
		subject string
		expires *time.Time
	}{{"ip:old", &past}, {"ip:new", &future}, {"user:u1", nil}} {
		_, err := s.UpdateThrottle(ctx, th.subject, "pwd", func(c *models.FactorThrottle) error {
			c.Failures, c.ExpiresAt = 1, th.expires
			return nil
		})
		must(t, "throttle "+th.subject, err)
	}

	must(t, "user", s.CreateUser(ctx, &models.User{ID: "u1", Username: "u1", Email: "u1@example.com"}))
	must(t, "consent", s.SaveConsent(ctx, &models.Consent{UserID: "u1", ClientID: "web"}))
	must(t, "template", s.SaveFaceTemplate(ctx, faceTemplate("u1", "k", "blob")))
	must(t, "audit", s.AppendAudit(ctx, &models.AuditEvent{Time: t0, Type: "login.password"}))

	n, err := s.DeleteExpired(ctx, now)
	must(t, "delete expired", err)
	if n != 9 {
		t.Errorf("DeleteExpired removed %d rows, want 9", n)
	}

	gone := map[string]error{}
	kept := map[string]error{}
	record := func(m map[string]error, name string, err error) { m[name] = err }
	_, err = s.GetAuthRequest(ctx, "ar-old")
	record(gone, "ar-old", err)
	_, err = s.GetAuthRequest(ctx, "ar-new")
	record(kept, "ar-new", err)
	_, err = s.GetAccessToken(ctx, "at-old")
	record(gone, "at-old", err)
	_, err = s.GetAccessToken(ctx, "at-new")
	record(kept, "at-new", err)
	_, err = s.GetRefreshToken(ctx, "rt-old")
	record(gone, "rt-old", err)
	_, err = s.GetRefreshToken(ctx, "rt-new")
	record(kept, "rt-new (revoked, unexpired)", err)
	_, err = s.GetSession(ctx, "s-old")
	record(gone, "s-old", err)
	_, err = s.GetSession(ctx, "s-new")
	record(kept, "s-new", err)
	_, err = s.GetFaceChallenge(ctx, "c-old")
	record(gone, "c-old", err)
	_, err = s.GetFaceChallenge(ctx, "c-new")
	record(kept, "c-new", err)
	_, err = s.GetWebAuthnSession(ctx, "w-old")
	record(gone, "w-old", err)
	_, err = s.GetWebAuthnSession(ctx, "w-new")
	record(kept, "w-new", err)
	_, err = s.GetActiveFaceBypass(ctx, "u2", now)
	record(kept, "b-new", err)
	_, err = s.GetPasskeyByCredentialID(ctx, []byte("cred"))
	record(kept, "passkey", err)
	if codes, err := s.ListRecoveryCodes(ctx, "u1"); err != nil || len(codes) != 2 {
		t.Errorf("recovery codes after DeleteExpired: %d, %v", len(codes), err)
	}
	_, err = s.GetThrottle(ctx, "ip:old", "pwd")
	record(gone, "throttle ip:old", err)
	_, err = s.GetThrottle(ctx, "ip:new", "pwd")
	record(kept, "throttle ip:new", err)
	_, err = s.GetThrottle(ctx, "user:u1", "pwd")
	record(kept, "throttle without expiry", err)
	_, err = s.GetUser(ctx, "u1")
	record(kept, "user", err)
	_, err = s.GetConsent(ctx, "u1", "web")
	record(kept, "consent", err)
	_, err = s.GetFaceTemplate(ctx, "u1")
	record(kept, "face template", err)
	for name, err := range gone {
		if !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s: want deleted, got %v", name, err)
		}
	}
	for name, err := range kept {
		if err != nil {
			t.Errorf("%s: want kept, got %v", name, err)
		}
	}
	keys, err := s.ListSigningKeys(ctx)
	must(t, "list keys", err)
	if ids := keyIDs(keys); len(ids) != 2 || ids[0] != "k-current" || ids[1] != "k-retired" {
		t.Errorf("signing keys after DeleteExpired = %v, want k-current k-retired", ids)
	}
	evs, err := s.ListAudit(ctx, storage.AuditFilter{})
	must(t, "audit", err)
	if len(evs) != 1 {
		t.Errorf("DeleteExpired touched the audit log: %d events", len(evs))
	}
	err = s.RotateRefreshToken(ctx, "h-new", now, refreshToken("rt-x", "h-x", "f-new"), nil)
	wantErr(t, "replay of a kept revoked token", err, storage.ErrRefreshTokenReused)

	n, err = s.DeleteExpired(ctx, now)
	must(t, "second delete expired", err)
	if n != 0 {
		t.Errorf("second DeleteExpired removed %d rows, want 0", n)
	}
}
