package faceauth

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"sync"
	"testing"

	"github.com/faceidp/faceidp/internal/fixtures"
)

var (
	obsMu    sync.Mutex
	obsCache = map[string][]frameObs{}
)

// clipObs caches a clip's analysed frames (every 2nd frame: 5 fps, the
// capture page's rate) so several decisions can be checked on them.
func clipObs(t *testing.T, c fixtures.Clip) []frameObs {
	obsMu.Lock()
	defer obsMu.Unlock()
	if o, ok := obsCache[c.ID]; ok {
		return o
	}
	o := analyseClip(t, c, 2)
	obsCache[c.ID] = o
	return o
}

// decideOn judges analysed frames (every one described, as clipObs
// analyses them) as Verify would.
func decideOn(e *Engine, tmpl *Template, actions []Action, obs []frameObs) *Result {
	return e.decide(tmpl, obs, judgeLiveness(obs, actions, Options{}))
}

// Every live clip passes when its own action is asked and its person is
// enrolled from enrol/<person> — through the public Verify, on all 30
// full-size frames (10 fps) and on every 2nd (the capture page's 5 fps),
// whichever frames the engine picks to describe.
func TestLiveClipsPassTheirOwnAction(t *testing.T) {
	for _, c := range fixtures.LoadManifest(t).Clips {
		if c.Kind != "live" || c.ActionName() == "neutral" {
			continue
		}
		for _, step := range []int{1, 2} {
			forEachPlan(t, fmt.Sprintf("%s/%dfps", c.ID, 10/step), func(t *testing.T, e *Engine) {
				r, err := e.Verify(t.Context(), enrolled(t, c.Person), actionsOf(c), fixtures.ClipFrames(t, c, step), Options{})
				if err != nil {
					t.Fatal(err)
				}
				if !r.Pass {
					t.Fatalf("rejected: %s (%s), distance %.3f, steps %+v", r.Reason, r.Message, r.Distance, r.Steps)
				}
				if len(r.Steps) != 1 || !r.Steps[0].Passed || r.Steps[0].Score < 1 {
					t.Errorf("steps = %+v", r.Steps)
				}
			})
		}
	}
}

// Every spoof clip fails with its own reason, even when the action it
// shows is the one asked for, whichever frames the engine describes.
func TestSpoofClipsFailWithTheirReason(t *testing.T) {
	want := map[string]string{
		"static_photo":  ReasonStaticPhoto,
		"photo_shake":   ReasonRigidMotion,
		"screen_replay": ReasonScreenReplay,
		"identity_swap": ReasonIdentityChanged,
	}
	for _, c := range fixtures.LoadManifest(t).Clips {
		if c.Kind != "spoof" {
			continue
		}
		for _, step := range []int{1, 2} {
			forEachPlan(t, fmt.Sprintf("%s/%dfps", c.ID, 10/step), func(t *testing.T, e *Engine) {
				actions := actionsOf(c)
				if len(actions) == 0 {
					actions = []Action{ActionBlink}
				}
				r, err := e.Verify(t.Context(), enrolled(t, c.Person), actions, fixtures.ClipFrames(t, c, step), Options{})
				if err != nil {
					t.Fatal(err)
				}
				if r.Pass || r.Reason != want[c.SpoofName()] {
					t.Fatalf("pass=%v reason=%s, want reason %s", r.Pass, r.Reason, want[c.SpoofName()])
				}
			})
		}
	}
}

// A live clip fails when any other action is asked; neutral clips pass
// no action at all.
func TestLiveClipsFailOtherActions(t *testing.T) {
	e := testEngine(t)
	for _, c := range fixtures.LoadManifest(t).Clips {
		if c.Kind != "live" {
			continue
		}
		obs := clipObs(t, c)
		for _, a := range AllActions {
			if string(a) == c.ActionName() {
				continue
			}
			r := decideOn(e, enrolled(t, c.Person), []Action{a}, obs)
			if r.Pass {
				t.Errorf("%s passed as %s (steps %+v)", c.ID, a, r.Steps)
			}
		}
	}
}

// Two clips of one person joined in the order asked pass; the reverse
// order fails as wrong_order.
func TestChallengeOrder(t *testing.T) {
	e := testEngine(t)
	frames := append(fixtures.ClipFrames(t, fixtures.ClipByID(t, "p01_blink"), 2), fixtures.ClipFrames(t, fixtures.ClipByID(t, "p01_turn_left"), 2)...)
	tmpl := enrolled(t, "p01")
	r, err := e.Verify(t.Context(), tmpl, []Action{ActionBlink, ActionTurnLeft}, frames, Options{})
	if err != nil || !r.Pass {
		t.Fatalf("in order: %+v, %v", r, err)
	}
	r, err = e.Verify(t.Context(), tmpl, []Action{ActionTurnLeft, ActionBlink}, frames, Options{})
	if err != nil || r.Pass || r.Reason != ReasonWrongOrder {
		t.Fatalf("reversed: %+v, %v; want wrong_order", r, err)
	}
}

// A live clip fails against another person's template.
func TestDifferentPersonDoesNotMatch(t *testing.T) {
	e := testEngine(t)
	for _, tc := range []struct{ clip, enrolled string }{
		{"p02_blink", "p07"}, {"p05_smile", "p08"}, {"p04_turn_left", "p05"}, {"p01_turn_left", "p05"},
	} {
		c := fixtures.ClipByID(t, tc.clip)
		r := decideOn(e, enrolled(t, tc.enrolled), actionsOf(c), clipObs(t, c))
		if r.Pass || r.Reason != ReasonNoMatch {
			t.Errorf("%s vs %s: pass=%v reason=%s distance=%.3f, want no_match", tc.clip, tc.enrolled, r.Pass, r.Reason, r.Distance)
		}
	}
}

// Mirrored frames (a selfie preview) are corrected: the subject's own left
// stays left.
func TestMirroredFrames(t *testing.T) {
	e := testEngine(t)
	c := fixtures.ClipByID(t, "p08_turn_left")
	var mirrored [][]byte
	for _, b := range fixtures.ClipFrames(t, c, 2) {
		mirrored = append(mirrored, mirrorJPEG(t, b))
	}
	tmpl := enrolled(t, "p08")
	r, err := e.Verify(t.Context(), tmpl, []Action{ActionTurnLeft}, mirrored, Options{Mirrored: true})
	if err != nil || !r.Pass {
		t.Fatalf("mirrored turn_left with Mirrored: %+v, %v", r, err)
	}
	r, err = e.Verify(t.Context(), tmpl, []Action{ActionTurnLeft}, mirrored, Options{})
	if err != nil || r.Pass {
		t.Fatalf("mirrored turn_left without Mirrored passed: %+v, %v", r, err)
	}
}

func mirrorJPEG(t *testing.T, b []byte) []byte {
	src, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	rgba := toRGBA(src)
	w := rgba.Rect.Dx()
	out := image.NewRGBA(rgba.Rect)
	for y := 0; y < rgba.Rect.Dy(); y++ {
		for x := 0; x < w; x++ {
			copy(out.Pix[y*out.Stride+x*4:y*out.Stride+x*4+4], rgba.Pix[y*rgba.Stride+(w-1-x)*4:])
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, out, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// People blink on their own while the baseline is taken: a blink challenge
// whose first frames happen to show closed eyes still sees the later blink
// (a looping camera feed or a nervous user does exactly this).
func TestBlinkSeenWhenBaselineFramesAreMidBlink(t *testing.T) {
	e := testEngine(t)
	c := fixtures.ClipByID(t, "p01_blink")
	all := fixtures.ClipFrames(t, c, 1)
	closed := c.ActionFrames[0][0] + (c.ActionFrames[0][1]-c.ActionFrames[0][0])/2
	frames := append([][]byte{all[closed-1], all[closed], all[closed+1]}, fixtures.ClipFrames(t, c, 2)...)
	r, err := e.Verify(t.Context(), enrolled(t, "p01"), []Action{ActionBlink}, frames, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Pass {
		t.Fatalf("rejected: %s (%s), steps %+v", r.Reason, r.Message, r.Steps)
	}
}

// Another person's face put in for the one frame that shows the action (a
// still of the enrolled person, then someone else's closed eyes) is an
// identity change even when the engine's plan left that frame out of its
// first descriptor pass: the frame where an action peaks is always
// matched.
func TestFaceSwappedInAtTheActionPeakIsCaught(t *testing.T) {
	still := fixtures.ClipFrames(t, fixtures.ClipByID(t, "p04_neutral"), 2)
	blink := fixtures.ClipByID(t, "p05_blink")
	closed := (blink.ActionFrames[0][0] + blink.ActionFrames[0][1]) / 2
	const at = 8
	frames := append([][]byte(nil), still...)
	frames[at] = fixtures.ClipFrames(t, blink, 1)[closed]
	forEachPlan(t, "swap", func(t *testing.T, e *Engine) {
		r, err := e.Verify(t.Context(), enrolled(t, "p04"), []Action{ActionBlink}, frames, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Pass || r.Reason != ReasonIdentityChanged {
			t.Fatalf("pass=%v reason=%s steps=%+v, want identity_changed", r.Pass, r.Reason, r.Steps)
		}
	})
}

// The template match uses the described frames where the face is at rest,
// and every described frame when fewer than minRestFrames are.
func TestMatchFramesAtRest(t *testing.T) {
	obs := make([]frameObs, 8)
	for i := range obs {
		obs[i] = frameObs{index: i, described: i%2 == 0}
	}
	live := liveness{activity: []float64{0.1, 0.1, 0.2, 1.5, 1.8, 0.2, 0.3, 0.1}}
	got := func(l liveness) []int {
		var idx []int
		for _, o := range matchFrames(describedFrames(obs), l) {
			idx = append(idx, o.index)
		}
		return idx
	}
	if idx := got(live); fmt.Sprint(idx) != "[0 2 6]" {
		t.Errorf("at rest: frames %v, want [0 2 6] (4 is mid-action)", idx)
	}
	live.activity[6] = 1.2
	if idx := got(live); fmt.Sprint(idx) != "[0 2 4 6]" {
		t.Errorf("two at rest: frames %v, want every described frame", idx)
	}
}
