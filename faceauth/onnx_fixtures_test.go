package faceauth

import (
	"bytes"
	"image/jpeg"
	"sync"
	"testing"

	face "github.com/Kagami/go-face"

	"github.com/faceidp/faceidp/internal/fixtures"
)

// onnxTestConfig is the second embedder's configuration for the tests:
// fr_feature.onnx and ONNX Runtime's library in the model directory, where
// scripts/test puts them (`faceidp models assemble`).
func onnxTestConfig(t testing.TB) ONNXConfig {
	t.Helper()
	model, runtime := DefaultONNXPaths(modelsDir(t))
	c := ONNXConfig{Model: model, RuntimeLibrary: runtime}
	if err := CheckONNXFiles(c); err != nil {
		t.Fatalf("the second embedder's files (scripts/test installs them): %v", err)
	}
	return c
}

var (
	onnxEngineOnce sync.Once
	onnxEngineVal  *Engine
	onnxEngineErr  error
)

// testEngineONNX is one engine with both embedders (face.embedders:
// dlib+onnx), shared by the tests of this binary.
func testEngineONNX(t testing.TB) *Engine {
	t.Helper()
	dir := modelsDir(t)
	oc := onnxTestConfig(t)
	onnxEngineOnce.Do(func() {
		onnxEngineVal, onnxEngineErr = NewEngine(EngineConfig{ModelDir: dir, QueueLength: 64, ONNX: &oc})
	})
	if onnxEngineErr != nil {
		t.Fatal(onnxEngineErr)
	}
	return onnxEngineVal
}

var (
	onnxTemplatesMu sync.Mutex
	onnxTemplates   = map[string]*Template{}
)

// enrolledBoth returns person's template from enrol/<person> with both
// embedders' samples, cached.
func enrolledBoth(t testing.TB, person string) *Template {
	t.Helper()
	onnxTemplatesMu.Lock()
	defer onnxTemplatesMu.Unlock()
	if tm, ok := onnxTemplates[person]; ok {
		return tm
	}
	tm, err := testEngineONNX(t).EnrolFromImages(t.Context(), fixtures.EnrolPhotos(t, person))
	if err != nil {
		t.Fatalf("enrol %s: %v", person, err)
	}
	if len(tm.Embeddings) == 0 {
		t.Fatalf("enrol %s with both embedders: no ONNX samples", person)
	}
	onnxTemplates[person] = tm
	return tm
}

// faceBoth is one face of a still image seen by both embedders.
type faceBoth struct {
	desc Descriptor
	emb  Embedding
	pts  []point
}

// describeBoth runs go-face and the second embedder on every face of a
// JPEG at its full size.
func describeBoth(t testing.TB, jpg []byte) []faceBoth {
	t.Helper()
	e := testEngineONNX(t)
	img, err := jpeg.Decode(bytes.NewReader(jpg))
	if err != nil {
		t.Fatal(err)
	}
	rgba := toRGBA(img)
	var out []faceBoth
	err = e.withWorker(t.Context(), func(w *worker) error {
		faces, err := w.rec.Recognize(jpg)
		if err != nil {
			return err
		}
		for _, f := range faces {
			emb, err := w.embedFace(rgba, []face.Face{f})
			if err != nil {
				return err
			}
			out = append(out, faceBoth{desc: Descriptor(f.Descriptor), emb: emb, pts: pointsOf(f.Shapes)})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
