// Package facetest holds test plumbing that needs the face engine (and so
// cgo/dlib): one real engine per test binary for the packages above
// faceauth. faceauth's own tests keep theirs in-package.
package facetest

import (
	"sync"
	"testing"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/internal/fixtures"
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
