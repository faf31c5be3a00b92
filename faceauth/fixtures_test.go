package faceauth

import (
	"fmt"
	"sync"
	"testing"

	"github.com/faceidp/faceidp/internal/fixtures"
)

// Test fixtures (clips, enrolment photos, the model directory) are found
// and read by internal/fixtures; this file adds what needs the engine.

// modelsDir is the model directory, checked to be complete.
func modelsDir(t testing.TB) string {
	t.Helper()
	dir := fixtures.ModelsDir(t)
	if err := CheckModelDir(dir); err != nil {
		t.Fatalf("face models (set FACEIDP_MODELS_DIR): %v", err)
	}
	return dir
}

var (
	engineOnce sync.Once
	engineVal  *Engine
	engineErr  error
)

// testEngine is one engine shared by the tests of this binary (loading the
// recognizers takes about a second each).
func testEngine(t testing.TB) *Engine {
	t.Helper()
	dir := modelsDir(t)
	engineOnce.Do(func() { engineVal, engineErr = NewEngine(EngineConfig{ModelDir: dir, QueueLength: 64}) })
	if engineErr != nil {
		t.Fatal(engineErr)
	}
	return engineVal
}

var (
	templatesMu sync.Mutex
	templates   = map[string]*Template{}
)

// enrolled returns person's template from enrol/<person>, cached.
func enrolled(t testing.TB, person string) *Template {
	t.Helper()
	templatesMu.Lock()
	defer templatesMu.Unlock()
	if tm, ok := templates[person]; ok {
		return tm
	}
	tm, err := testEngine(t).EnrolFromImages(t.Context(), fixtures.EnrolPhotos(t, person))
	if err != nil {
		t.Fatalf("enrol %s: %v", person, err)
	}
	templates[person] = tm
	return tm
}

// constReader is a random source that only ever yields b.
type constReader byte

func (c constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

// forEachPlan runs f as a subtest once per descriptor plan Verify can pick
// (see descriptorPlan), on the shared engine with its random source pinned.
func forEachPlan(t *testing.T, name string, f func(t *testing.T, e *Engine)) {
	for phase := range describeEvery {
		pinned := *testEngine(t)
		pinned.cfg.Rand = constReader(phase)
		t.Run(fmt.Sprintf("%s/plan%d", name, phase), func(t *testing.T) { f(t, &pinned) })
	}
}
