package faceauth

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"reflect"
	"testing"
	"time"

	"github.com/faceidp/faceidp/internal/fixtures"
)

// streamAll pushes frames one by one and finishes; it returns the result
// and, per frame, how many steps the stream reported seen.
func streamAll(t *testing.T, e *Engine, tmpl *Template, actions []Action, frames [][]byte) (*Result, *Template, []int) {
	t.Helper()
	s, err := e.BeginStream(t.Context(), tmpl, actions, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var seen []int
	for _, f := range frames {
		p, err := s.Push(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, p.StepsSeen)
		if p.Refusal != nil {
			break
		}
	}
	r, tm, err := s.Finish(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return r, tm, seen
}

// A streamed challenge reaches the one-shot Verify's decision on the same
// frames, pass and fail alike (identity, liveness and spoof checks are
// the same code), whichever frames the plan describes.
func TestStreamDecidesAsVerify(t *testing.T) {
	twoSteps := append(fixtures.ClipFramesByID(t, "p01_blink", 2), fixtures.ClipFramesByID(t, "p01_turn_left", 2)...)
	cases := []struct {
		name    string
		person  string
		actions []Action
		frames  [][]byte
		pass    bool
	}{
		{"two steps", "p01", []Action{ActionBlink, ActionTurnLeft}, twoSteps, true},
		{"wrong person", "p02", []Action{ActionBlink, ActionTurnLeft}, twoSteps, false},
		{"action missing", "p01", []Action{ActionSmile}, fixtures.ClipFramesByID(t, "p01_blink", 2), false},
		{"static photo", "p02", []Action{ActionBlink}, fixtures.ClipFramesByID(t, "spoof_static_photo_p02", 2), false},
		{"identity swap", "p04", []Action{ActionBlink}, fixtures.ClipFramesByID(t, "spoof_identity_swap_p04_to_p05_blink", 2), false},
	}
	for _, c := range cases {
		forEachPlan(t, c.name, func(t *testing.T, e *Engine) {
			tmpl := enrolled(t, c.person)
			want, err := e.Verify(t.Context(), tmpl, c.actions, c.frames, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, _, _ := streamAll(t, e, tmpl, c.actions, c.frames)
			if got.Pass != c.pass || got.Pass != want.Pass || got.Reason != want.Reason || got.Frames != want.Frames {
				t.Fatalf("stream: pass %v reason %s (%d frames); Verify: pass %v reason %s (%d frames); want pass %v",
					got.Pass, got.Reason, got.Frames, want.Pass, want.Reason, want.Frames, c.pass)
			}
			if !reflect.DeepEqual(got.Steps, want.Steps) {
				t.Fatalf("steps: stream %+v, Verify %+v", got.Steps, want.Steps)
			}
		})
	}
}

// The stream says a step is seen as soon as the frames show it, before
// the challenge's frames run out: the page can move on early.
func TestStreamSeesStepsEarly(t *testing.T) {
	blink := fixtures.ClipFramesByID(t, "p01_blink", 2)
	turn := fixtures.ClipFramesByID(t, "p01_turn_left", 2)
	frames := append(append([][]byte(nil), blink...), turn...)
	r, _, seen := streamAll(t, testEngine(t), enrolled(t, "p01"), []Action{ActionBlink, ActionTurnLeft}, frames)
	if !r.Pass {
		t.Fatalf("refused: %s", r.Reason)
	}
	first := -1
	for i, n := range seen {
		if n >= 1 && first < 0 {
			first = i
		}
		if i > 0 && n < seen[i-1] {
			t.Fatalf("steps seen went down: %v", seen)
		}
	}
	if first < 0 || first >= len(blink) {
		t.Fatalf("the blink was reported at frame %d (%v), want within the blink clip's %d frames", first, seen, len(blink))
	}
	if seen[len(seen)-1] != 2 {
		t.Fatalf("steps seen at the end: %v, want 2", seen)
	}
}

// A frame without a face is reported at once, and finishing refuses the
// challenge with no_face, as Verify does.
func TestStreamRefusesAFrameWithoutAFace(t *testing.T) {
	e := testEngine(t)
	frames := fixtures.ClipFramesByID(t, "p01_blink", 2)
	frames = append(frames[:5:5], blankJPEG(t, CaptureWidth, CaptureHeight))
	r, _, seen := streamAll(t, e, enrolled(t, "p01"), []Action{ActionBlink}, frames)
	if r.Pass || r.Reason != CodeNoFace || len(seen) != 6 {
		t.Fatalf("got %s after %d frames, want no_face after 6", r.Reason, len(seen))
	}
}

// Limits: a stream takes at most StreamMaxFrames frames; bad images are
// InputErrors; a finished or closed stream takes nothing more; each open
// stream holds an engine admission until closed.
func TestStreamLimits(t *testing.T) {
	e := testEngine(t)
	tmpl := enrolled(t, "p01")
	s, err := e.BeginStream(t.Context(), tmpl, []Action{ActionBlink}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ie *InputError
	if _, err := s.Push(t.Context(), []byte("GIF89a....")); !errors.As(err, &ie) || ie.Code != CodeUnsupportedFormat {
		t.Fatalf("gif frame: %v", err)
	}
	s.Close()
	if _, err := s.Push(t.Context(), blankJPEG(t, CaptureWidth, CaptureHeight)); !errors.Is(err, ErrStreamClosed) {
		t.Fatalf("push after close: %v", err)
	}
	if n := StreamMaxFrames(DefaultLimits(), 2); n != CaptureFPS*(2+2*int(StepTimeout/time.Second)) {
		t.Fatalf("StreamMaxFrames = %d", n)
	}
	s, err = e.BeginStream(t.Context(), tmpl, []Action{ActionBlink}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.max = 2
	f := fixtures.ClipFramesByID(t, "p01_blink", 2)
	for i := range 2 {
		if _, err := s.Push(t.Context(), f[i]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Push(t.Context(), f[2]); !errors.As(err, &ie) || ie.Code != CodeTooManyFrames {
		t.Fatalf("frame over the limit: %v", err)
	}
	r, _, err := s.Finish(t.Context())
	if err != nil || r.Pass || r.Reason != CodeTooFewFrames {
		t.Fatalf("finish with 2 frames: %+v %v", r, err)
	}
}

// A streamed enrolment passes and builds a template that verifies the
// same person.
func TestStreamEnrols(t *testing.T) {
	e := testEngine(t)
	r, tm, _ := streamAll(t, e, nil, []Action{ActionBlink}, fixtures.ClipFramesByID(t, "p01_blink", 2))
	if !r.Pass || tm == nil {
		t.Fatalf("streamed enrolment: %+v", r)
	}
	v, err := e.Verify(t.Context(), tm, []Action{ActionTurnLeft}, fixtures.ClipFramesByID(t, "p01_turn_left", 2), Options{})
	if err != nil || !v.Pass {
		t.Fatalf("verify against the streamed template: %+v %v", v, err)
	}
}

// The get-ready check refuses a frame without a face and accepts a good
// frontal one, saying what to fix.
func TestCheckReady(t *testing.T) {
	e := testEngine(t)
	r, err := e.CheckReady(t.Context(), blankJPEG(t, CaptureWidth, CaptureHeight))
	if err != nil || r.Ready || r.Code != CodeNoFace || r.Hint == "" {
		t.Fatalf("blank frame: %+v %v", r, err)
	}
	r, err = e.CheckReady(t.Context(), fixtures.ClipFramesByID(t, "p01_neutral", 2)[0])
	if err != nil || !r.Ready {
		t.Fatalf("neutral face: %+v %v", r, err)
	}
}

// blankJPEG is a uniform grey w x h JPEG: no face.
func blankJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
