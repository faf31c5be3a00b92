package faceauth

import (
	"testing"

	face "github.com/Kagami/go-face"

	"github.com/faceidp/faceidp/internal/fixtures"
)

// The landmarker runs what go-face runs, minus the descriptor: on the same
// JPEG it finds the same faces, boxes and 68 landmarks, so frames analysed
// by either are judged alike.
func TestLandmarkerAgreesWithGoFace(t *testing.T) {
	e := testEngine(t)
	var frames [][]byte
	for _, id := range []string{"p01_turn_left", "spoof_screen_replay_p05_turn_left"} {
		frames = append(frames, fixtures.ClipFrames(t, fixtures.ClipByID(t, id), 3)...)
	}
	frames = append(frames, fixtures.ReadFile(t, baldGuysPath))
	for i, jpg := range frames {
		var want, got []face.Face
		var n int
		err := e.withWorker(t.Context(), func(w *worker) (err error) {
			if want, err = w.rec.Recognize(jpg); err != nil {
				return err
			}
			n, got, err = w.lm.detect(jpg)
			return err
		})
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if n != len(want) || len(got) != min(n, maxLandmarkFaces) {
			t.Fatalf("frame %d: landmarker found %d faces (%d described), go-face %d", i, n, len(got), len(want))
		}
		for k := range got {
			if got[k].Rectangle != want[k].Rectangle {
				t.Errorf("frame %d face %d: box %v, go-face %v", i, k, got[k].Rectangle, want[k].Rectangle)
			}
			if len(got[k].Shapes) != 68 {
				t.Fatalf("frame %d face %d: %d landmarks", i, k, len(got[k].Shapes))
			}
			for p := range got[k].Shapes {
				if got[k].Shapes[p] != want[k].Shapes[p] {
					t.Errorf("frame %d face %d point %d: %v, go-face %v", i, k, p, got[k].Shapes[p], want[k].Shapes[p])
					break
				}
			}
		}
	}
}
