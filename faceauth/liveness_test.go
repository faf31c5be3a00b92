package faceauth

import (
	"bytes"
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

// Every live clip passes when its own action is asked and its person is
// enrolled from enrol/<person> — through the public Verify, on all 30
// full-size frames.
func TestLiveClipsPassTheirOwnAction(t *testing.T) {
	e := testEngine(t)
	for _, c := range fixtures.LoadManifest(t).Clips {
		if c.Kind != "live" || c.ActionName() == "neutral" {
			continue
		}
		t.Run(c.ID, func(t *testing.T) {
			r, err := e.Verify(t.Context(), enrolled(t, c.Person), actionsOf(c), fixtures.ClipFrames(t, c, 1), Options{})
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

// Every spoof clip fails with its own reason, even when the action it
// shows is the one asked for.
func TestSpoofClipsFailWithTheirReason(t *testing.T) {
	e := testEngine(t)
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
		t.Run(c.ID, func(t *testing.T) {
			actions := actionsOf(c)
			if len(actions) == 0 {
				actions = []Action{ActionBlink}
			}
			r, err := e.Verify(t.Context(), enrolled(t, c.Person), actions, fixtures.ClipFrames(t, c, 1), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Pass || r.Reason != want[c.SpoofName()] {
				t.Fatalf("pass=%v reason=%s, want reason %s", r.Pass, r.Reason, want[c.SpoofName()])
			}
		})
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
			r := e.decide(enrolled(t, c.Person), []Action{a}, obs, Options{})
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
		r := e.decide(enrolled(t, tc.enrolled), actionsOf(c), clipObs(t, c), Options{})
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
