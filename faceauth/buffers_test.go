package faceauth

import (
	"reflect"
	"sync"
	"testing"
)

// Recycled frame buffers never leak one attempt's pixels into another:
// attempts run side by side on one engine, over and over, decide exactly
// as each did alone.
func TestRecycledBuffersLeaveResultsUnchanged(t *testing.T) {
	pinned := *testEngine(t)
	pinned.cfg.Rand = constReader(0)
	e := &pinned
	type attempt struct {
		tmpl    *Template
		actions []Action
		frames  [][]byte
	}
	attempts := []attempt{
		{enrolled(t, "p01"), []Action{ActionBlink, ActionTurnLeft}, captureFrames(t, "p01_blink", "p01_turn_left")},
		{enrolled(t, "p02"), []Action{ActionSmile, ActionTurnRight}, captureFrames(t, "p02_smile", "p02_turn_right")},
		{enrolled(t, "p01"), []Action{ActionSmile}, captureFrames(t, "p01_neutral")},
	}
	want := make([]*Result, len(attempts))
	for i, a := range attempts {
		r, err := e.Verify(t.Context(), a.tmpl, a.actions, a.frames, Options{})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = r
	}
	if !want[0].Pass || !want[1].Pass || want[2].Pass {
		t.Fatalf("alone: %s %s %s, want ok ok and a refusal", want[0].Reason, want[1].Reason, want[2].Reason)
	}
	var wg sync.WaitGroup
	for round := range 3 {
		for i, a := range attempts {
			wg.Go(func() {
				r, err := e.Verify(t.Context(), a.tmpl, a.actions, a.frames, Options{})
				if err != nil {
					t.Error(err)
					return
				}
				w := *want[i]
				r.Elapsed, w.Elapsed = 0, 0
				if !reflect.DeepEqual(*r, w) {
					t.Errorf("round %d attempt %d: %+v, alone %+v", round, i, *r, w)
				}
			})
		}
	}
	wg.Wait()
}
