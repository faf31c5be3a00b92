package faceauth

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
)

// Test fixtures live outside the repository (../shared, or
// FACEIDP_SHARED_DIR); the model directory is FACEIDP_MODELS_DIR or the
// repository's .build/models.

func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("cannot find the repository root (go.mod) above the test directory")
		}
		dir = parent
	}
}

func sharedDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("FACEIDP_SHARED_DIR")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), "..", "shared")
	}
	if _, err := os.Stat(filepath.Join(dir, "liveness", "manifest.json")); err != nil {
		t.Fatalf("test data not found in %s (set FACEIDP_SHARED_DIR to the shared fixtures directory): %v", dir, err)
	}
	return dir
}

func modelsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("FACEIDP_MODELS_DIR")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), ".build", "models")
	}
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

type clip struct {
	ID           string   `json:"id"`
	Kind         string   `json:"kind"`
	Action       *string  `json:"action"`
	SpoofType    *string  `json:"spoof_type"`
	Person       string   `json:"person"`
	PersonB      string   `json:"person_b"`
	Frames       string   `json:"frames"`
	FrameCount   int      `json:"frame_count"`
	ActionFrames [][2]int `json:"action_frames"`
	SwapFrame    int      `json:"swap_frame"`
}

func (c clip) action() string {
	if c.Action == nil {
		return ""
	}
	return *c.Action
}

func (c clip) spoof() string {
	if c.SpoofType == nil {
		return ""
	}
	return *c.SpoofType
}

type manifest struct {
	Clips []clip `json:"clips"`
}

func loadManifest(t testing.TB) manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedDir(t), "liveness", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// clipFrames reads a clip's frames, keeping every step-th frame.
func clipFrames(t testing.TB, c clip, step int) [][]byte {
	t.Helper()
	var out [][]byte
	for i := 0; i < c.FrameCount; i += step {
		b, err := os.ReadFile(filepath.Join(sharedDir(t), "liveness", fmt.Sprintf(c.Frames, i)))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// enrolImages reads enrol/<person>/*.jpg.
func enrolImages(t testing.TB, person string) [][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(sharedDir(t), "liveness", "enrol", person, "*.jpg"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no enrolment photos for %s: %v", person, err)
	}
	sort.Strings(files)
	var out [][]byte
	for _, f := range files {
		out = append(out, readFile(t, f))
	}
	return out
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
	tm, err := testEngine(t).EnrolFromImages(t.Context(), enrolImages(t, person))
	if err != nil {
		t.Fatalf("enrol %s: %v", person, err)
	}
	templates[person] = tm
	return tm
}
