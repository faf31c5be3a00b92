// Package facetest holds test plumbing that needs the face engine (and so
// cgo/dlib): one real engine per test binary for the packages above
// faceauth. faceauth's own tests keep theirs in-package.
package facetest

import (
	"context"
	"sync"
	"testing"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/internal/fixtures"
	"github.com/faceidp/faceidp/keyring"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

var (
	engineOnce sync.Once
	engineVal  *faceauth.Engine
	engineErr  error
)

// Engine is one engine shared by the tests of this binary, loaded from
// fixtures.ModelsDir (loading the recognizers takes about a second each).
func Engine(t testing.TB) *faceauth.Engine {
	t.Helper()
	dir := fixtures.ModelsDir(t)
	engineOnce.Do(func() {
		engineVal, engineErr = faceauth.NewEngine(faceauth.EngineConfig{ModelDir: dir, QueueLength: 16})
	})
	if engineErr != nil {
		t.Fatalf("face engine (set FACEIDP_MODELS_DIR): %v", engineErr)
	}
	return engineVal
}

var (
	onnxOnce sync.Once
	onnxVal  *faceauth.Engine
	onnxErr  error
)

// EngineONNX is one engine with both embedders (face.embedders:
// dlib+onnx), with fr_feature.onnx and ONNX Runtime's library from the
// model directory (scripts/test installs them there).
func EngineONNX(t testing.TB) *faceauth.Engine {
	t.Helper()
	dir := fixtures.ModelsDir(t)
	model, runtime := faceauth.DefaultONNXPaths(dir)
	oc := faceauth.ONNXConfig{Model: model, RuntimeLibrary: runtime}
	if err := faceauth.CheckONNXFiles(oc); err != nil {
		t.Fatalf("the second embedder's files (scripts/test installs them): %v", err)
	}
	onnxOnce.Do(func() {
		onnxVal, onnxErr = faceauth.NewEngine(faceauth.EngineConfig{ModelDir: dir, QueueLength: 16, ONNX: &oc})
	})
	if onnxErr != nil {
		t.Fatalf("face engine with the ONNX embedder: %v", onnxErr)
	}
	return onnxVal
}

// BlinkPicker pins every challenge to one blink (face.Deps.Picker, a
// test-only seam) for browser tests whose fake camera loops one clip.
type BlinkPicker struct{}

func (BlinkPicker) Pick(int) ([]faceauth.Action, error) {
	return []faceauth.Action{faceauth.ActionBlink}, nil
}

// EnrolFromPhotos stores for userID a template the engine builds from
// person's enrolment photos (no live challenge), sealed with kr, for tests
// about verification only.
func EnrolFromPhotos(t testing.TB, store storage.Storage, kr *keyring.Keyring, userID, person string) {
	t.Helper()
	tmpl, err := Engine(t).EnrolFromImages(context.Background(), fixtures.EnrolPhotos(t, person))
	if err != nil {
		t.Fatalf("enrol %s from photos: %v", person, err)
	}
	keyID, sealed, err := faceauth.SealTemplate(kr, userID, tmpl)
	if err != nil {
		t.Fatalf("seal %s's template: %v", person, err)
	}
	if err := store.SaveFaceTemplate(context.Background(), &models.FaceTemplate{UserID: userID, KeyID: keyID, Sealed: sealed, Samples: tmpl.Samples()}); err != nil {
		t.Fatalf("save %s's template: %v", person, err)
	}
}
