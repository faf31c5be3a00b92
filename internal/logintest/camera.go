package logintest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/faceidp/faceidp/internal/fixtures"
)

// The cooperative camera: a fake webcam that behaves like a person. A
// .y4m file cannot react to the page, so this one is a canvas the test
// feeds: the test's own script (injected through the DevTools protocol
// before any page script runs, so nothing in the product knows of it)
// replaces navigator.mediaDevices.getUserMedia with the canvas's
// captureStream. The canvas shows nothing (no face) until the test says
// so, then a person's neutral clip on a loop; each time the capture page
// shows an instruction, after a human-like delay (0.5-1.7 s) it plays
// that person's clip of the action once, then goes back to neutral.

// cameraScript is the injected fake camera. window.__testCam is the test's
// handle: load(name, dataURLs), face(on), and log (what it did, when).
const cameraScript = `(() => {
  const canvas = document.createElement("canvas");
  canvas.width = 640; canvas.height = 480;
  const ctx = canvas.getContext("2d");
  const WORDS = {"Blink": "blink", "Smile": "smile",
    "Turn your head to your left": "turn_left", "Turn your head to your right": "turn_right"};
  const cam = window.__testCam = {clips: {}, on: false, playing: null, pos: 0, idle: 0, lastStep: "", log: []};
  cam.load = async (name, urls) => {
    cam.clips[name] = await Promise.all(urls.map(u => new Promise((res, rej) => {
      const i = new Image(); i.onload = () => res(i); i.onerror = rej; i.src = u; })));
    return cam.clips[name].length;
  };
  cam.face = (on) => { cam.on = on; cam.log.push({t: performance.now(), what: on ? "face" : "no face"}); };
  function draw() {
    ctx.fillStyle = "#808080";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (!cam.on) { return; }
    if (cam.playing) {
      const clip = cam.clips[cam.playing];
      ctx.drawImage(clip[cam.pos++], 0, 0, canvas.width, canvas.height);
      if (cam.pos >= clip.length) { cam.log.push({t: performance.now(), what: "done " + cam.playing}); cam.playing = null; }
      return;
    }
    const n = cam.clips.neutral;
    if (n && n.length) { ctx.drawImage(n[cam.idle++ % n.length], 0, 0, canvas.width, canvas.height); }
  }
  setInterval(draw, 100); // the fixtures' 10 fps
  setInterval(() => {
    const el = document.getElementById("face-step");
    const text = el ? el.textContent : "";
    if (text === cam.lastStep) { return; }
    cam.lastStep = text;
    cam.log.push({t: performance.now(), what: "page: " + text});
    const action = WORDS[text];
    if (!action || !cam.clips[action]) { return; }
    const delay = 500 + Math.random() * 1200;
    setTimeout(() => {
      cam.log.push({t: performance.now(), what: "play " + action + " after " + Math.round(delay) + " ms"});
      cam.playing = action; cam.pos = 0;
    }, delay);
  }, 50);
  const fake = async () => canvas.captureStream(10);
  if (navigator.mediaDevices) { navigator.mediaDevices.getUserMedia = fake; }
})();`

// InstallCooperativeCamera injects the cooperative camera into every page
// the browser opens from now on. Start the browser with NewChromium(t, "",
// AllowCamera).
func InstallCooperativeCamera(t testing.TB, ctx context.Context) {
	t.Helper()
	Run(t, ctx, "install the cooperative camera", chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(cameraScript).Do(ctx)
		return err
	}))
}

// LoadPerson loads person's clips (neutral and every action the fixtures
// have for them) into the cooperative camera of the current page.
func LoadPerson(t testing.TB, ctx context.Context, person string) {
	t.Helper()
	for _, action := range []string{"neutral", "blink", "smile", "turn_left", "turn_right"} {
		frames := fixtures.ClipFramesByID(t, person+"_"+action, 1)
		urls := make([]string, len(frames))
		for i, f := range frames {
			urls[i] = "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(f)
		}
		var n int
		Run(t, ctx, "load the "+action+" clip", chromedp.Evaluate(fmt.Sprintf("window.__testCam.load(%q, %s)", action, jsonStrings(urls)), &n,
			func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
		if n != len(frames) {
			t.Fatalf("cooperative camera loaded %d of %d frames of %s", n, len(frames), action)
		}
	}
}

// ShowFace puts the person in front of the cooperative camera (on) or
// takes them away.
func ShowFace(t testing.TB, ctx context.Context, on bool) {
	t.Helper()
	Run(t, ctx, "show the face", chromedp.Evaluate(fmt.Sprintf("window.__testCam.face(%v)", on), nil))
}

// CameraLog is what the cooperative camera saw the page say and did.
type CameraLog []struct {
	T    float64 `json:"t"`
	What string  `json:"what"`
}

// ReadCameraLog returns the cooperative camera's log of the current page.
func ReadCameraLog(t testing.TB, ctx context.Context) CameraLog {
	t.Helper()
	var l CameraLog
	Run(t, ctx, "read the camera log", chromedp.Evaluate("window.__testCam ? window.__testCam.log : []", &l))
	return l
}

func jsonStrings(v []string) string {
	b, _ := json.Marshal(v)
	return string(b)
}
