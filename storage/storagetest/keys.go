package storagetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func signingKey(id string, created time.Time) *models.SigningKey {
	return &models.SigningKey{ID: id, Algorithm: "RS256", SealedPrivateKey: []byte("sealed:" + id + "\x00\xff"), CreatedAt: created}
}

func testSigningKeyRotation(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	keys, err := s.ListSigningKeys(ctx)
	must(t, "list empty", err)
	if len(keys) != 0 {
		t.Fatalf("empty store has %d keys", len(keys))
	}
	must(t, "create k1", s.CreateSigningKey(ctx, signingKey("k1", t0)))
	wantErr(t, "duplicate", s.CreateSigningKey(ctx, signingKey("k1", t0)), storage.ErrAlreadyExists)

	t1, remove1 := t0.Add(24*time.Hour), t0.Add(48*time.Hour)
	must(t, "rotate to k2", s.RotateSigningKeys(ctx, []*models.SigningKey{signingKey("k2", t1)}, t1, remove1))
	t2, remove2 := t0.Add(72*time.Hour), t0.Add(96*time.Hour)
	must(t, "rotate to k3", s.RotateSigningKeys(ctx, []*models.SigningKey{signingKey("k3", t2)}, t2, remove2))

	keys, err = s.ListSigningKeys(ctx)
	must(t, "list", err)
	if len(keys) != 3 || keys[0].ID != "k3" || keys[1].ID != "k2" || keys[2].ID != "k1" {
		t.Fatalf("ListSigningKeys order = %v, want k3 k2 k1", keyIDs(keys))
	}
	k3, k2, k1 := keys[0], keys[1], keys[2]
	if k3.RetiredAt != nil || k3.RemoveAfter != nil {
		t.Errorf("newest key retired: %v %v", k3.RetiredAt, k3.RemoveAfter)
	}
	want2 := signingKey("k2", t1)
	want2.RetiredAt, want2.RemoveAfter = &t2, &remove2
	sameRecord(t, "k2", &k2, want2)
	want1 := signingKey("k1", t0)
	want1.RetiredAt, want1.RemoveAfter = &t1, &remove1 // untouched by the second rotation
	sameRecord(t, "k1", &k1, want1)

	// A failed rotation (duplicate id) retires nothing.
	wantErr(t, "rotate to existing id", s.RotateSigningKeys(ctx, []*models.SigningKey{signingKey("k2", t2)}, t2.Add(time.Hour), remove2.Add(time.Hour)), storage.ErrAlreadyExists)
	keys, err = s.ListSigningKeys(ctx)
	must(t, "list after failed rotation", err)
	if keys[0].ID != "k3" || keys[0].RetiredAt != nil {
		t.Fatalf("failed rotation retired the current key: %+v", keys[0])
	}
	// A rotation whose second successor fails stores neither successor.
	wantErr(t, "rotate with a bad second key", s.RotateSigningKeys(ctx, []*models.SigningKey{signingKey("k4", t2), signingKey("k1", t2)}, t2.Add(time.Hour), remove2.Add(time.Hour)), storage.ErrAlreadyExists)
	keys, err = s.ListSigningKeys(ctx)
	must(t, "list after half-failed rotation", err)
	if len(keys) != 3 || keys[0].ID != "k3" || keys[0].RetiredAt != nil {
		t.Fatalf("half-failed rotation changed the keys: %v, newest retired=%v", keyIDs(keys), keys[0].RetiredAt)
	}
	if err := s.RotateSigningKeys(ctx, nil, t2, remove2); err == nil {
		t.Fatal("rotating to no successor keys succeeded; it must fail and retire nothing")
	}

	must(t, "reseal", s.ResealSigningKey(ctx, "k1", []byte("resealed")))
	keys, err = s.ListSigningKeys(ctx)
	must(t, "list after reseal", err)
	if !bytes.Equal(keys[2].SealedPrivateKey, []byte("resealed")) || !bytes.Equal(keys[1].SealedPrivateKey, signingKey("k2", t0).SealedPrivateKey) {
		t.Errorf("reseal wrote the wrong key: k1=%q k2=%q", keys[2].SealedPrivateKey, keys[1].SealedPrivateKey)
	}
	wantErr(t, "reseal unknown", s.ResealSigningKey(ctx, "nope", []byte("x")), storage.ErrNotFound)
}

// testSigningKeyRotationPair rotates an RS256 and an ES256 key together:
// both successors are stored and every older key, of either algorithm, is
// retired in the same call.
func testSigningKeyRotationPair(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	ec := func(id string, at time.Time) *models.SigningKey {
		k := signingKey(id, at)
		k.Algorithm = "ES256"
		return k
	}
	must(t, "create rs1", s.CreateSigningKey(ctx, signingKey("rs1", t0)))
	must(t, "create es1", s.CreateSigningKey(ctx, ec("es1", t0)))
	t1, remove := t0.Add(time.Hour), t0.Add(3*time.Hour)
	must(t, "rotate pair", s.RotateSigningKeys(ctx, []*models.SigningKey{signingKey("rs2", t1), ec("es2", t1)}, t1, remove))
	keys, err := s.ListSigningKeys(ctx)
	must(t, "list", err)
	if len(keys) != 4 {
		t.Fatalf("keys after rotating a pair: %v", keyIDs(keys))
	}
	for _, k := range keys {
		switch k.ID {
		case "rs2", "es2":
			if k.RetiredAt != nil || k.RemoveAfter != nil {
				t.Errorf("successor %s retired", k.ID)
			}
		default:
			if k.RetiredAt == nil || k.RemoveAfter == nil {
				t.Errorf("old key %s not retired", k.ID)
				continue
			}
			sameTime(t, k.ID+".RetiredAt", *k.RetiredAt, t1)
			sameTime(t, k.ID+".RemoveAfter", *k.RemoveAfter, remove)
		}
	}
}

func keyIDs(ks []models.SigningKey) []string {
	var ids []string
	for _, k := range ks {
		ids = append(ids, k.ID)
	}
	return ids
}

func faceTemplate(user, keyID string, blob string) *models.FaceTemplate {
	return &models.FaceTemplate{UserID: user, KeyID: keyID, Sealed: []byte(blob), Samples: 5, CreatedAt: baseTime(), UpdatedAt: baseTime()}
}

func testFaceTemplates(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	_, err := s.GetFaceTemplate(ctx, "u1")
	wantErr(t, "get before save", err, storage.ErrNotFound)
	must(t, "save", s.SaveFaceTemplate(ctx, faceTemplate("u1", "key-a", "blob-1\x00")))
	must(t, "save u2", s.SaveFaceTemplate(ctx, faceTemplate("u2", "key-a", "blob-u2")))
	got, err := s.GetFaceTemplate(ctx, "u1")
	must(t, "get", err)
	sameRecord(t, "template", got, faceTemplate("u1", "key-a", "blob-1\x00"))

	// Re-enrolment replaces the template.
	re := faceTemplate("u1", "key-b", "blob-2")
	re.Samples = 7
	must(t, "replace", s.SaveFaceTemplate(ctx, re))
	got, err = s.GetFaceTemplate(ctx, "u1")
	must(t, "get replaced", err)
	if got.KeyID != "key-b" || string(got.Sealed) != "blob-2" || got.Samples != 7 {
		t.Fatalf("replaced template = %s %q %d", got.KeyID, got.Sealed, got.Samples)
	}

	keys, err := s.ListFaceTemplateKeys(ctx)
	must(t, "list keys", err)
	if len(keys) != 2 || keys["u1"] != "key-b" || keys["u2"] != "key-a" {
		t.Fatalf("ListFaceTemplateKeys = %v", keys)
	}

	must(t, "delete", s.DeleteFaceTemplate(ctx, "u2"))
	_, err = s.GetFaceTemplate(ctx, "u2")
	wantErr(t, "get deleted", err, storage.ErrNotFound)
	wantErr(t, "delete again", s.DeleteFaceTemplate(ctx, "u2"), storage.ErrNotFound)
}

func testFaceTemplateResealCAS(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, "save", s.SaveFaceTemplate(ctx, faceTemplate("u1", "key-a", "under-a")))
	must(t, "reseal a->b", s.ResealFaceTemplate(ctx, "u1", "key-a", []byte("under-a"), "key-b", []byte("under-b")))
	got, err := s.GetFaceTemplate(ctx, "u1")
	must(t, "get", err)
	if got.KeyID != "key-b" || string(got.Sealed) != "under-b" || got.Samples != 5 {
		t.Fatalf("after reseal: %s %q samples %d", got.KeyID, got.Sealed, got.Samples)
	}

	// A rotation job working from a stale read loses to whatever happened since.
	wantErr(t, "stale reseal", s.ResealFaceTemplate(ctx, "u1", "key-a", []byte("under-a"), "key-c", []byte("under-c")), storage.ErrStale)
	got, err = s.GetFaceTemplate(ctx, "u1")
	must(t, "get after stale", err)
	if got.KeyID != "key-b" || string(got.Sealed) != "under-b" {
		t.Fatalf("stale reseal changed the template: %s %q", got.KeyID, got.Sealed)
	}
	// A re-enrolment sealed under the same key is not the template that was
	// read: an upgrade or rotation working from the old read must not
	// overwrite it.
	must(t, "re-enrol under b", s.SaveFaceTemplate(ctx, faceTemplate("u1", "key-b", "re-enrolled-under-b")))
	wantErr(t, "reseal over a same-key re-enrolment", s.ResealFaceTemplate(ctx, "u1", "key-b", []byte("under-b"), "key-c", []byte("upgraded")), storage.ErrStale)
	got, err = s.GetFaceTemplate(ctx, "u1")
	must(t, "get after same-key re-enrolment", err)
	if string(got.Sealed) != "re-enrolled-under-b" {
		t.Fatalf("reseal overwrote a re-enrolment under the same key: %q", got.Sealed)
	}
	must(t, "restore", s.SaveFaceTemplate(ctx, faceTemplate("u1", "key-b", "under-b")))
	wantErr(t, "reseal unknown user", s.ResealFaceTemplate(ctx, "nobody", "key-a", []byte("under-a"), "key-b", []byte("x")), storage.ErrNotFound)

	// Concurrent resealers from the same read: exactly one wins.
	errs := concurrently(6, func(i int) error {
		return s.ResealFaceTemplate(ctx, "u1", "key-b", []byte("under-b"), "key-c", []byte{byte('0' + i)})
	})
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, storage.ErrStale):
			t.Errorf("resealer %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent reseals succeeded, want 1", wins)
	}
}

func challenge(id string, created time.Time) *models.FaceChallenge {
	return &models.FaceChallenge{
		ID: id, AuthRequestID: "ar1", SessionID: "", UserID: "u1", Purpose: models.FacePurposeVerify,
		Actions: []string{"turn_left", "blink", "smile"}, CreatedAt: created, ExpiresAt: created.Add(2 * time.Minute),
	}
}

func testFaceChallengeConsume(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	must(t, "create", s.CreateFaceChallenge(ctx, challenge("c1", t0)))
	wantErr(t, "duplicate", s.CreateFaceChallenge(ctx, challenge("c1", t0)), storage.ErrAlreadyExists)
	got, err := s.GetFaceChallenge(ctx, "c1")
	must(t, "get", err)
	sameRecord(t, "challenge", got, challenge("c1", t0))

	usedAt := t0.Add(30 * time.Second)
	c, err := s.ConsumeFaceChallenge(ctx, "c1", usedAt)
	must(t, "consume", err)
	want := challenge("c1", t0)
	want.UsedAt = &usedAt
	sameRecord(t, "consumed challenge", c, want)

	_, err = s.ConsumeFaceChallenge(ctx, "c1", usedAt.Add(time.Second))
	wantErr(t, "consume twice", err, storage.ErrChallengeUsed)
	got, err = s.GetFaceChallenge(ctx, "c1")
	must(t, "get after second consume", err)
	sameTime(t, "UsedAt keeps the first use", *got.UsedAt, usedAt)

	_, err = s.ConsumeFaceChallenge(ctx, "nope", usedAt)
	wantErr(t, "consume unknown", err, storage.ErrNotFound)
	_, err = s.GetFaceChallenge(ctx, "nope")
	wantErr(t, "get unknown", err, storage.ErrNotFound)
}

func testFaceChallengeConcurrentConsume(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	must(t, "create", s.CreateFaceChallenge(ctx, challenge("c1", t0)))
	errs := concurrently(8, func(int) error {
		_, err := s.ConsumeFaceChallenge(ctx, "c1", t0.Add(time.Second))
		return err
	})
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, storage.ErrChallengeUsed):
			t.Errorf("consumer %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("challenge consumed %d times concurrently, want exactly once", wins)
	}
}
