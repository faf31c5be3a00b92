package faceauth

import (
	"testing"

	"github.com/faceidp/faceidp/internal/fixtures"
)

// Both embedders on dlib's bald_guys.jpg: 24 faces of 4 actors. dlib's
// clusters at its threshold are the 4 actors; the ONNX model ranks every
// same-actor pair above every different-actor pair; and the pair of
// embedders at their default thresholds decides every pair right.
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
	lowSame, highDiff := 1.0, -1.0
	for i := range fs {
		for j := i + 1; j < len(fs); j++ {
			same := lab[i] == lab[j]
			sim, d := Similarity(fs[i].emb, fs[j].emb), Distance(ds[i], ds[j])
			if same {
				lowSame = min(lowSame, sim)
			} else {
				highDiff = max(highDiff, sim)
			}
			if pairSame := sim >= DefaultONNXMinSimilarity && d <= DefaultMatchThreshold; pairSame != same {
				t.Errorf("faces %d and %d (same actor: %v): the pair decides otherwise (dlib %.3f, ONNX %.3f)", i, j, same, d, sim)
			}
		}
	}
	if lowSame <= highDiff {
		t.Errorf("ONNX: lowest same-actor similarity %.3f, highest different-actor %.3f; want them apart", lowSame, highDiff)
	}
	if lowSame < DefaultONNXMinSimilarity {
		t.Errorf("ONNX: a same-actor pair at %.3f, under the threshold %.2f", lowSame, DefaultONNXMinSimilarity)
	}
}

// Another person's live clip that dlib alone accepts is refused by the
// pair. In the fixtures dlib (at 0.6) takes 78 of the 87 held-out
// different-person clip/template pairs for the same person (see
// TestCalibrateEmbedders); these two are among the clearest: the clip
// performs its action live, dlib's distance is under its threshold, and the
// ONNX model sees someone else.
func TestLookAlikeAcceptedByDlibIsRefusedByThePair(t *testing.T) {
	for _, tc := range []struct {
		clips    []string
		actions  []Action
		enrolled string
	}{
		{[]string{"p06_blink", "p06_smile"}, []Action{ActionBlink, ActionSmile}, "p07"},
		{[]string{"p04_blink", "p04_turn_left"}, []Action{ActionBlink, ActionTurnLeft}, "p01"},
	} {
		var frames [][]byte
		for _, id := range tc.clips {
			frames = append(frames, fixtures.ClipFramesByID(t, id, 2)...)
		}
		forEachPlan(t, tc.clips[0]+"_as_"+tc.enrolled, func(t *testing.T, dlibOnly *Engine) {
			r, err := dlibOnly.Verify(t.Context(), enrolled(t, tc.enrolled), tc.actions, frames, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !r.Pass || r.Similarity != nil {
				t.Fatalf("dlib alone: pass=%v reason=%s distance %.3f; the case needs dlib to accept", r.Pass, r.Reason, r.Distance)
			}
			pair := *testEngineONNX(t)
			pair.cfg.Rand = dlibOnly.cfg.Rand
			r, err = pair.Verify(t.Context(), enrolledBoth(t, tc.enrolled), tc.actions, frames, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Pass || r.Reason != ReasonNoMatch || r.Similarity == nil || *r.Similarity >= DefaultONNXMinSimilarity {
				t.Fatalf("the pair: pass=%v reason=%s distance %.3f similarity %v, want no_match", r.Pass, r.Reason, r.Distance, r.Similarity)
			}
			if r.Distance > DefaultMatchThreshold {
				t.Errorf("dlib's distance in the pair's verdict %.3f, want the same acceptance as alone", r.Distance)
			}
		})
	}
}

// The same person still passes with both embedders, whichever frames are
// described, including p01, enrolled from other photos than her clips.
func TestLiveClipsPassWithBothEmbedders(t *testing.T) {
	for _, c := range fixtures.LoadManifest(t).Clips {
		if c.Kind != "live" || c.ActionName() == "neutral" {
			continue
		}
		pair := *testEngineONNX(t)
		for phase := range describeEvery {
			pair.cfg.Rand = constReader(phase)
			r, err := pair.Verify(t.Context(), enrolledBoth(t, c.Person), actionsOf(c), fixtures.ClipFrames(t, c, 2), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !r.Pass || r.Similarity == nil {
				t.Errorf("%s plan %d: pass=%v reason=%s distance %.3f similarity %v", c.ID, phase, r.Pass, r.Reason, r.Distance, r.Similarity)
			}
		}
	}
}

// Identity swaps are caught by the ONNX embedding alone too: consecutive
// described frames of one person stay far above MinSwapSimilarity, a cut
// to another person falls far below it.
func TestIdentitySwapSeenByTheONNXEmbedding(t *testing.T) {
	e := testEngineONNX(t)
	for _, c := range fixtures.LoadManifest(t).Clips {
		if c.Kind == "spoof" && c.SpoofName() != "identity_swap" {
			continue
		}
		lim := e.cfg.Limits
		lim.MaxFrames = 1000
		obs, err := e.analyseFrames(t.Context(), fixtures.ClipFrames(t, c, 2), lim, challengeSide, nil)
		if err != nil {
			t.Fatal(err)
		}
		for phase := range describeEvery {
			var described []frameObs
			for i := phase; i < len(obs); i += describeEvery {
				described = append(described, obs[i])
			}
			swapped := c.SpoofName() == "identity_swap"
			if got := e.embeddingJump(described); got != swapped {
				t.Errorf("%s plan %d: ONNX identity jump %v (lowest similarity %.3f), want %v", c.ID, phase, got, minConsecutiveSimilarity(described), swapped)
			}
		}
	}
}
