package faceauth

import (
	"testing"

	"github.com/faceidp/faceidp/internal/fixtures"
)

// Both embedders on dlib's bald_guys.jpg: 24 faces of 4 actors. dlib's
// clusters at its threshold are the 4 actors, and the ONNX model agrees on
// every pair: every same-actor pair is at least DefaultONNXMinSimilarity
// and every different-actor pair below it, so the pair of embedders makes
// no mistake either.
func TestBaldGuysBothEmbedders(t *testing.T) {
	fs := describeBoth(t, fixtures.ReadFile(t, baldGuysPath))
	if len(fs) != 24 {
		t.Fatalf("%d faces in bald_guys.jpg, want 24", len(fs))
	}
	ds := make([]Descriptor, len(fs))
	for i, f := range fs {
		ds[i] = f.desc
		if f.emb == nil {
			t.Fatalf("face %d: no ONNX embedding", i)
		}
	}
	lab := clusters(ds, DefaultMatchThreshold)
	people := map[int]bool{}
	for _, l := range lab {
		people[l] = true
	}
	if len(people) != 4 {
		t.Fatalf("%d dlib clusters, want 4", len(people))
	}
	th := DefaultONNXMinSimilarity
	for i := range fs {
		for j := i + 1; j < len(fs); j++ {
			same := lab[i] == lab[j]
			sim, d := Similarity(fs[i].emb, fs[j].emb), Distance(ds[i], ds[j])
			if onnxSame := sim >= th; onnxSame != same {
				t.Errorf("faces %d and %d (same actor: %v): ONNX similarity %.3f against %.2f", i, j, same, sim, th)
			}
			if pairSame := sim >= th && d <= DefaultMatchThreshold; pairSame != same {
				t.Errorf("faces %d and %d (same actor: %v): the pair decides otherwise (dlib %.3f, ONNX %.3f)", i, j, same, d, sim)
			}
		}
	}
}
