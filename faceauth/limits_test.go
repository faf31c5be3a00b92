package faceauth

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faceidp/faceidp/internal/fixtures"
)

func verifyCode(t *testing.T, frames [][]byte) string {
	t.Helper()
	r, err := testEngine(t).Verify(t.Context(), sampleTemplate(), []Action{ActionBlink}, frames, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Pass {
		t.Fatal("passed")
	}
	return r.Reason
}

func repeatFrame(b []byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

func TestInputLimits(t *testing.T) {
	frame := fixtures.ReadFile(t, filepath.Join(fixtures.SharedDir(t), "liveness", "p01_blink", "frame_000.jpg"))
	var gifBuf bytes.Buffer
	if err := gif.Encode(&gifBuf, image.NewPaletted(image.Rect(0, 0, 8, 8), []color.Color{color.Black, color.White}), nil); err != nil {
		t.Fatal(err)
	}
	// A PNG whose pixel count exceeds the limit (small in bytes).
	var bigPNG bytes.Buffer
	if err := png.Encode(&bigPNG, image.NewGray(image.Rect(0, 0, 1400, 1000))); err != nil {
		t.Fatal(err)
	}
	lim := DefaultLimits()
	cases := map[string]struct {
		frames [][]byte
		code   string
	}{
		"gif":             {append(repeatFrame(frame, 9), gifBuf.Bytes()), CodeUnsupportedFormat},
		"text named jpg":  {append(repeatFrame(frame, 9), []byte("hello, this is not an image")), CodeUnsupportedFormat},
		"damaged jpeg":    {append(repeatFrame(frame, 9), frame[:200]), CodeUnsupportedFormat},
		"truncated jpeg":  {append(repeatFrame(frame, 9), frame[:len(frame)/2]), CodeUnsupportedFormat},
		"too many bytes":  {append(repeatFrame(frame, 9), append(append([]byte(nil), frame...), make([]byte, lim.MaxFrameBytes)...)), CodeFrameTooLarge},
		"too many pixels": {append(repeatFrame(frame, 9), bigPNG.Bytes()), CodeFrameTooLarge},
		"too many frames": {repeatFrame(frame, lim.MaxFrames+1), CodeTooManyFrames},
		"too few frames":  {repeatFrame(frame, lim.MinFrames-1), CodeTooFewFrames},
		"320x240 frame":   {append(repeatFrame(frame, 9), smallJPEG(t, frame, 320)), CodeLowResolution},
	}
	for name, tc := range cases {
		if got := verifyCode(t, tc.frames); got != tc.code {
			t.Errorf("%s: reason %s, want %s", name, got, tc.code)
		}
	}
}

func TestEnrolFromImagesRefusals(t *testing.T) {
	e := testEngine(t)
	for file, code := range map[string]string{"pristin.jpg": CodeSeveralFaces, "eunseo.jpg": CodeNoFace} {
		_, err := e.EnrolFromImages(t.Context(), [][]byte{fixtures.ReadFile(t, filepath.Join(fixtures.SharedDir(t), "faces", file))})
		var ie *InputError
		if !errors.As(err, &ie) || ie.Code != code {
			t.Errorf("%s: %v, want %s", file, err, code)
		}
	}
}

func TestPNGFramesAtCaptureSize(t *testing.T) {
	e := testEngine(t)
	c := fixtures.ClipByID(t, "p06_smile")
	var frames [][]byte
	for _, b := range fixtures.ClipFrames(t, c, 2) {
		img, _, err := image.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, downscale(toRGBA(img), CaptureWidth)); err != nil {
			t.Fatal(err)
		}
		frames = append(frames, buf.Bytes())
	}
	r, err := e.Verify(t.Context(), enrolled(t, "p06"), []Action{ActionSmile}, frames, Options{})
	if err != nil || !r.Pass {
		t.Fatalf("640x480 PNG smile: %+v, %v", r, err)
	}
}

// A full queue refuses at once with ErrBusy.
func TestBusyWhenQueueFull(t *testing.T) {
	e, err := NewEngine(EngineConfig{ModelDir: modelsDir(t), Recognizers: 1, QueueLength: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	frames := fixtures.ClipFrames(t, fixtures.ClipByID(t, "p01_blink"), 3)
	// Two attempts hold the recognizer and the one queue place.
	l1, err := e.pool.enter()
	if err != nil {
		t.Fatal(err)
	}
	l2, err := e.pool.enter()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Verify(t.Context(), sampleTemplate(), []Action{ActionBlink}, frames, Options{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("Verify with a full queue = %v, want ErrBusy", err)
	}
	l1()
	l2()
	if _, err := e.Verify(t.Context(), sampleTemplate(), []Action{ActionBlink}, frames, Options{}); err != nil {
		t.Fatalf("Verify after the queue drained: %v", err)
	}
}

// Greyscale and colour JPEGs at capture size are both analysed (go-face's
// own loader reads only colour JPEGs; the engine must not hand it others).
func TestJPEGFramesAtCaptureSizeColourAndGrey(t *testing.T) {
	e := testEngine(t)
	c := fixtures.ClipByID(t, "p06_smile")
	for _, grey := range []bool{false, true} {
		var frames [][]byte
		for _, b := range fixtures.ClipFrames(t, c, 2) {
			img, _, err := image.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			var small image.Image = downscale(toRGBA(img), CaptureWidth)
			if grey {
				g := image.NewGray(small.Bounds())
				draw.Draw(g, g.Rect, small, image.Point{}, draw.Src)
				small = g
			}
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, small, &jpeg.Options{Quality: 85}); err != nil {
				t.Fatal(err)
			}
			frames = append(frames, buf.Bytes())
		}
		r, err := e.Verify(t.Context(), enrolled(t, "p06"), []Action{ActionSmile}, frames, Options{})
		if err != nil || !r.Pass {
			t.Fatalf("640x480 JPEG smile (grey=%v): %+v, %v", grey, r, err)
		}
	}
}

// smallJPEG is frame downscaled to a long side of side pixels, as a client
// still capturing at the old 320x240 size sends it.
func smallJPEG(t *testing.T, frame []byte, side int) []byte {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(frame))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, downscale(toRGBA(img), side), &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A client still sending 320x240 frames (the capture size before the
// screen-replay cues moved to native resolution) gets a clear refusal, on
// a live clip and on a screen replay alike: never a judgement made without
// the cues, and never a pass.
func TestLowResolutionCaptureIsRefused(t *testing.T) {
	for _, id := range []string{"p01_blink", "spoof_screen_replay_p01_blink"} {
		var frames [][]byte
		for _, f := range fixtures.ClipFramesByID(t, id, 2) {
			frames = append(frames, smallJPEG(t, f, 320))
		}
		r, err := testEngine(t).Verify(t.Context(), enrolled(t, "p01"), []Action{ActionBlink}, frames, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Pass || r.Reason != CodeLowResolution || !strings.Contains(r.Message, "640x480") {
			t.Errorf("%s at 320x240: pass=%v reason=%s message=%q, want %s naming 640x480", id, r.Pass, r.Reason, r.Message, CodeLowResolution)
		}
	}
}
