package face_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/factors/face"
	"github.com/faceidp/faceidp/internal/facetest"
	"github.com/faceidp/faceidp/internal/fixtures"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// A template enrolled with dlib alone keeps working when the second
// embedder is switched on, and gains its samples in place at the next
// passed verification: the stored record then holds both, still sealed for
// its user, and the verification after that is decided by both embedders.
func TestDlibOnlyTemplateIsUpgradedInPlace(t *testing.T) {
	ctx := context.Background()
	dlibOnly, err := facetest.Engine(t).EnrolFromImages(ctx, fixtures.EnrolPhotos(t, "p01"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dlibOnly.Embeddings) != 0 {
		t.Fatal("the dlib-only engine made ONNX samples")
	}
	e := newEnv(t, 2, facetest.EngineONNX(t))
	addUser(t, e.store, "u1")
	keyID, sealed, err := faceauth.SealTemplate(e.kr, "u1", dlibOnly)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.SaveFaceTemplate(ctx, &models.FaceTemplate{UserID: "u1", KeyID: keyID, Sealed: sealed, Samples: dlibOnly.Samples()}); err != nil {
		t.Fatal(err)
	}

	verify := func() *face.Outcome {
		t.Helper()
		e.picker.Push(faceauth.ActionBlink, faceauth.ActionTurnLeft)
		ch, err := e.svc.IssueChallenge(ctx, "u1", "ar1", "s1", models.FacePurposeVerify)
		if err != nil {
			t.Fatal(err)
		}
		frames := append(fixtures.ClipFramesByID(t, "p01_blink", 2), fixtures.ClipFramesByID(t, "p01_turn_left", 2)...)
		out, err := e.svc.Answer(ctx, ch.ID, "ar1", "s1", frames, faceauth.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	// First verification: dlib alone decides (the template has no ONNX
	// samples), and the template is upgraded.
	out := verify()
	if !out.Passed() || out.Result.Similarity != nil {
		t.Fatalf("first verification: %+v", out.Result)
	}
	rec, err := e.store.GetFaceTemplate(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(rec.Sealed, sealed) {
		t.Fatal("the template was not upgraded")
	}
	up, err := faceauth.OpenTemplate(e.kr, "u1", rec.KeyID, rec.Sealed)
	if err != nil {
		t.Fatal(err)
	}
	if len(up.Embeddings) == 0 || len(up.Descriptors) != len(dlibOnly.Descriptors) || up.Descriptors[0] != dlibOnly.Descriptors[0] {
		t.Fatalf("upgraded template: %d descriptors (was %d), %d embeddings", len(up.Descriptors), len(dlibOnly.Descriptors), len(up.Embeddings))
	}
	if _, err := faceauth.OpenTemplate(e.kr, "u2", rec.KeyID, rec.Sealed); err == nil {
		t.Fatal("the upgraded template opens for another user")
	}
	plain, err := up.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(rec.Sealed, plain[len(plain)-64:]) {
		t.Fatal("the sealed record holds plaintext embedding bytes")
	}

	// Second verification: both embedders decide; nothing more to upgrade.
	out = verify()
	if !out.Passed() || out.Result.Similarity == nil || out.Result.Upgraded() != nil {
		t.Fatalf("second verification: %+v (similarity %v)", out.Result, out.Result.Similarity)
	}
	again, _ := e.store.GetFaceTemplate(ctx, "u1")
	if !bytes.Equal(again.Sealed, rec.Sealed) {
		t.Error("an upgraded template was rewritten")
	}

	evs, err := e.store.ListAudit(ctx, storage.AuditFilter{UserID: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	var upgrades, withSimilarity int
	for _, ev := range evs {
		switch ev.Type {
		case face.AuditUpgrade:
			upgrades++
		case face.AuditVerify:
			if s, ok := ev.Details["similarity"].(float64); ok && s > 0 {
				withSimilarity++
			}
		}
	}
	if upgrades != 1 || withSimilarity != 1 {
		t.Errorf("audit: %d upgrade events, %d verify events with a similarity; want 1 and 1", upgrades, withSimilarity)
	}
}
