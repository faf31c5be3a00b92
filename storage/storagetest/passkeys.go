package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func passkey(id, user string, credID string, created time.Time) *models.Passkey {
	return &models.Passkey{
		ID: id, UserID: user, CredentialID: []byte(credID), PublicKey: []byte("cose-key-" + id),
		AttestationType: "none", AttestationFormat: "none", AAGUID: "00000000-0000-0000-0000-000000000000",
		Transports: []string{"internal", "hybrid"}, Attachment: "platform",
		UserVerified: true, BackupEligible: true, BackupState: true, SignCount: 0,
		Name: "Phone " + id, CreatedAt: created,
	}
}

func testPasskeyCRUD(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	p1 := passkey("pk1", "u1", "\x00cred-1\xff", t0)
	p1.SignCount = 7
	must(t, "create pk1", s.CreatePasskey(ctx, p1))
	must(t, "create pk2", s.CreatePasskey(ctx, passkey("pk2", "u1", "cred-2", t0.Add(time.Minute))))
	must(t, "create pk3 (other user)", s.CreatePasskey(ctx, passkey("pk3", "u2", "cred-3", t0.Add(-time.Minute))))

	got, err := s.GetPasskeyByCredentialID(ctx, []byte("\x00cred-1\xff"))
	must(t, "get by credential id", err)
	want := passkey("pk1", "u1", "\x00cred-1\xff", t0)
	want.SignCount = 7
	sameRecord(t, "passkey", got, want)
	_, err = s.GetPasskeyByCredentialID(ctx, []byte("\x00cred-1"))
	wantErr(t, "get by a prefix of a credential id", err, storage.ErrNotFound)
	_, err = s.GetPasskeyByCredentialID(ctx, nil)
	wantErr(t, "get by empty credential id", err, storage.ErrNotFound)

	dup := passkey("pk4", "u2", "cred-2", t0)
	wantErr(t, "duplicate credential id (another user)", s.CreatePasskey(ctx, dup), storage.ErrAlreadyExists)

	list, err := s.ListPasskeys(ctx, "u1")
	must(t, "list", err)
	if len(list) != 2 || list[0].ID != "pk1" || list[1].ID != "pk2" {
		t.Fatalf("ListPasskeys(u1) = %v, want pk1 pk2 (oldest first)", passkeyIDs(list))
	}
	if list, _ := s.ListPasskeys(ctx, "nobody"); len(list) != 0 {
		t.Fatalf("ListPasskeys(nobody) = %v", passkeyIDs(list))
	}

	wantErr(t, "rename another user's passkey", s.RenamePasskey(ctx, "u2", "pk1", "mine now"), storage.ErrNotFound)
	must(t, "rename", s.RenamePasskey(ctx, "u1", "pk1", "YubiKey"))
	must(t, "rename to the same name", s.RenamePasskey(ctx, "u1", "pk1", "YubiKey"))
	got, err = s.GetPasskeyByCredentialID(ctx, []byte("\x00cred-1\xff"))
	must(t, "get renamed", err)
	if got.Name != "YubiKey" {
		t.Fatalf("name after rename = %q", got.Name)
	}

	wantErr(t, "delete another user's passkey", s.DeletePasskey(ctx, "u2", "pk1"), storage.ErrNotFound)
	must(t, "delete", s.DeletePasskey(ctx, "u1", "pk1"))
	_, err = s.GetPasskeyByCredentialID(ctx, []byte("\x00cred-1\xff"))
	wantErr(t, "get deleted", err, storage.ErrNotFound)
	wantErr(t, "delete twice", s.DeletePasskey(ctx, "u1", "pk1"), storage.ErrNotFound)
	// The credential id is free again once its passkey is removed.
	must(t, "re-register a removed credential", s.CreatePasskey(ctx, passkey("pk5", "u1", "\x00cred-1\xff", t0)))
}

func passkeyIDs(ps []models.Passkey) []string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return ids
}

// testPasskeyCounterCAS: a use is recorded only when the sign counter
// increases (or an authenticator without a counter stays at zero).
func testPasskeyCounterCAS(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	p := passkey("pk1", "u1", "cred-1", t0)
	p.SignCount, p.BackupState, p.UserVerified = 5, false, false
	must(t, "create", s.CreatePasskey(ctx, p))

	use := func(count uint32, at time.Duration) error {
		return s.RecordPasskeyUse(ctx, "pk1", models.PasskeyUse{SignCount: count, BackupState: true, UserVerified: true, UsedAt: t0.Add(at)})
	}
	must(t, "counter 5 -> 6", use(6, time.Minute))
	got, err := s.GetPasskeyByCredentialID(ctx, []byte("cred-1"))
	must(t, "get", err)
	if got.SignCount != 6 || !got.BackupState || !got.UserVerified || got.LastUsedAt == nil {
		t.Fatalf("after use: %+v", got)
	}
	sameTime(t, "LastUsedAt", *got.LastUsedAt, t0.Add(time.Minute))

	wantErr(t, "same counter again", use(6, 2*time.Minute), storage.ErrStale)
	wantErr(t, "counter backwards", use(3, 2*time.Minute), storage.ErrStale)
	wantErr(t, "counter back to zero", use(0, 2*time.Minute), storage.ErrStale)
	got, _ = s.GetPasskeyByCredentialID(ctx, []byte("cred-1"))
	if got.SignCount != 6 {
		t.Fatalf("refused use changed the counter to %d", got.SignCount)
	}
	sameTime(t, "LastUsedAt after refused uses", *got.LastUsedAt, t0.Add(time.Minute))
	must(t, "counter jumps forward", use(1<<32-1, 3*time.Minute))
	got, _ = s.GetPasskeyByCredentialID(ctx, []byte("cred-1"))
	if got.SignCount != 1<<32-1 {
		t.Fatalf("counter %d, want the largest uint32", got.SignCount)
	}

	// An authenticator without a counter reports 0 every time.
	must(t, "create counterless", s.CreatePasskey(ctx, passkey("pk2", "u1", "cred-2", t0)))
	for i := range 3 {
		must(t, fmt.Sprintf("counterless use %d", i), s.RecordPasskeyUse(ctx, "pk2", models.PasskeyUse{UsedAt: t0}))
	}
	must(t, "counter starts", s.RecordPasskeyUse(ctx, "pk2", models.PasskeyUse{SignCount: 1, UsedAt: t0}))
	wantErr(t, "zero after a counter started", s.RecordPasskeyUse(ctx, "pk2", models.PasskeyUse{UsedAt: t0}), storage.ErrStale)

	wantErr(t, "unknown passkey", s.RecordPasskeyUse(ctx, "nope", models.PasskeyUse{SignCount: 9, UsedAt: t0}), storage.ErrNotFound)
}

// testPasskeyConcurrentCounter: instances accepting assertions with the
// same counter at once (a cloned authenticator): exactly one is recorded.
func testPasskeyConcurrentCounter(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	p := passkey("pk1", "u1", "cred-1", baseTime())
	p.SignCount = 10
	must(t, "create", s.CreatePasskey(ctx, p))
	errs := concurrently(8, func(int) error {
		return s.RecordPasskeyUse(ctx, "pk1", models.PasskeyUse{SignCount: 11, UsedAt: baseTime()})
	})
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, storage.ErrStale):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent uses with counter 11 recorded, want exactly 1", wins)
	}
}

func webAuthnSession(id string, created time.Time) *models.WebAuthnSession {
	return &models.WebAuthnSession{
		ID: id, Purpose: models.WebAuthnLoginUser, AuthRequestID: "ar1", BrowserBinding: "bind-hash",
		UserID: "u1", Data: []byte(`{"challenge":"abc"}`), CreatedAt: created, ExpiresAt: created.Add(5 * time.Minute),
	}
}

func testWebAuthnSessionConsume(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	must(t, "create", s.CreateWebAuthnSession(ctx, webAuthnSession("w1", t0)))
	wantErr(t, "duplicate id", s.CreateWebAuthnSession(ctx, webAuthnSession("w1", t0)), storage.ErrAlreadyExists)
	got, err := s.GetWebAuthnSession(ctx, "w1")
	must(t, "get", err)
	sameRecord(t, "webauthn session", got, webAuthnSession("w1", t0))

	used, err := s.ConsumeWebAuthnSession(ctx, "w1", t0.Add(time.Second))
	must(t, "consume", err)
	if used.UsedAt == nil {
		t.Fatal("consumed session has no UsedAt")
	}
	sameTime(t, "UsedAt", *used.UsedAt, t0.Add(time.Second))
	want := webAuthnSession("w1", t0)
	want.UsedAt = ptr(t0.Add(time.Second))
	sameRecord(t, "consumed session", used, want)

	_, err = s.ConsumeWebAuthnSession(ctx, "w1", t0.Add(2*time.Second))
	wantErr(t, "consume twice", err, storage.ErrChallengeUsed)
	_, err = s.ConsumeWebAuthnSession(ctx, "nope", t0)
	wantErr(t, "consume unknown", err, storage.ErrNotFound)

	must(t, "create w2", s.CreateWebAuthnSession(ctx, webAuthnSession("w2", t0)))
	errs := concurrently(8, func(int) error {
		_, err := s.ConsumeWebAuthnSession(ctx, "w2", t0)
		return err
	})
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, storage.ErrChallengeUsed):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("ceremony consumed %d times concurrently, want 1", wins)
	}
}

func testClientPolicy(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	c := webClient()
	c.Policy = models.ClientPolicy{FirstFactors: []string{"passkey"}, FaceMode: "required", FaceEnrolment: "never", PasskeySkipsFace: ptr(true)}
	must(t, "create", s.CreateClient(ctx, c))
	got, err := s.GetClient(ctx, "web")
	must(t, "get", err)
	sameRecord(t, "client with policy", got, c)

	must(t, "clear policy", s.UpdateClientPolicy(ctx, "web", models.ClientPolicy{}))
	got, err = s.GetClient(ctx, "web")
	must(t, "get cleared", err)
	if got.Policy.FirstFactors != nil || got.Policy.FaceMode != "" || got.Policy.FaceEnrolment != "" || got.Policy.PasskeySkipsFace != nil {
		t.Fatalf("policy after clearing: %+v", got.Policy)
	}
	sameRecord(t, "client keeps everything else", got, webClient(), "Policy", "UpdatedAt")

	p := models.ClientPolicy{FirstFactors: []string{"password", "passkey"}, FaceMode: "off", PasskeySkipsFace: ptr(false)}
	must(t, "set policy", s.UpdateClientPolicy(ctx, "web", p))
	got, _ = s.GetClient(ctx, "web")
	sameRecord(t, "policy", &got.Policy, &p)
	wantErr(t, "unknown client", s.UpdateClientPolicy(ctx, "nope", p), storage.ErrNotFound)
}
