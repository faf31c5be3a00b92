package faceauth

import "slices"

// stepTracker follows a challenge's steps over its frames in order, as
// the capture goes: after each frame it judges the frames so far as the
// final decision judges them all, and reports the peak frames of the steps
// newly seen done, so that their descriptors can be taken before the last
// frame. It is guidance only: the verdict is judged afresh on every frame
// (completeAnalysis), which describes any peak still missing.
type stepTracker struct {
	actions  []Action
	mirrored bool
	sig      []signals
	seen     int
}

func newStepTracker(actions []Action, opt Options) *stepTracker {
	return &stepTracker{actions: actions, mirrored: opt.Mirrored}
}

// add takes frame idx's landmarks and returns the peak frames of the
// steps it shows newly done (none until the baseline frames are in). The
// frames must come in order from the first; once one is missing (a frame
// without a usable face, which the decision refuses anyway), the tracker
// reports nothing more.
func (t *stepTracker) add(idx int, pts []point) (peaks []int) {
	if idx != len(t.sig) {
		return nil
	}
	t.sig = append(t.sig, signalsOf(pts, t.mirrored))
	lp := DefaultLivenessParams()
	if len(t.sig) < lp.BaselineFrames+1 {
		return nil
	}
	steps, _ := judgeSteps(t.sig, baseline(t.sig, lp.BaselineFrames), t.actions, lp)
	seen := 0
	for _, st := range steps {
		if !st.Passed {
			break
		}
		seen++
	}
	for _, st := range steps[min(t.seen, seen):seen] {
		if !slices.Contains(peaks, st.PeakFrame) {
			peaks = append(peaks, st.PeakFrame)
		}
	}
	t.seen = max(t.seen, seen)
	return peaks
}

// stepsSeen is how many steps, from the first, the frames so far show
// done; it never goes down.
func (t *stepTracker) stepsSeen() int { return t.seen }
