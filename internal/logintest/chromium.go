package logintest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/faceidp/faceidp/internal/fixtures"
)

// DefaultChromium is Debian's Chromium (apt-get install -y chromium);
// FACEIDP_CHROMIUM overrides it. Tests never download a browser.
const DefaultChromium = "/usr/bin/chromium"

// ChromiumPath returns the browser to run, failing the test with the
// command that installs it when it is missing.
func ChromiumPath(t testing.TB) string {
	t.Helper()
	p := os.Getenv("FACEIDP_CHROMIUM")
	if p == "" {
		p = DefaultChromium
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("Chromium not found at %s (install it with `apt-get install -y chromium`, or set FACEIDP_CHROMIUM): %v", p, err)
	}
	return p
}

// Camera says whether the fake camera permission is granted.
type Camera bool

const (
	AllowCamera Camera = true
	DenyCamera  Camera = false
)

// NewChromium starts a headless Chromium with a fresh profile and a fake
// camera showing y4m ("" for none); its console and exceptions go to the
// test log. The browser is closed when the test ends.
func NewChromium(t testing.TB, y4m string, camera Camera) context.Context {
	t.Helper()
	permission := chromedp.Flag("use-fake-ui-for-media-stream", true) // allow
	if camera == DenyCamera {
		permission = chromedp.Flag("deny-permission-prompts", true)
	}
	// A profile directory removed after the browser has closed, with a few
	// tries: Chromium's helpers may still be writing to it for a moment
	// (t.TempDir's cleanup fails the test on that race).
	profile, err := os.MkdirTemp("", "faceidp-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 20 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	opts := []chromedp.ExecAllocatorOption{
		permission,
		chromedp.ExecPath(ChromiumPath(t)),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1000, 900),
	}
	if y4m != "" {
		opts = append(opts, chromedp.Flag("use-fake-device-for-media-stream", true), chromedp.Flag("use-file-for-fake-video-capture", y4m))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value))
			}
			t.Logf("browser console %s: %s", ev.Type, strings.Join(parts, " "))
		case *runtime.EventExceptionThrown:
			t.Logf("browser exception: %s", ev.ExceptionDetails.Error())
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// Run runs browser actions, failing the test with where the browser is.
func Run(t testing.TB, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var loc string
		_ = chromedp.Run(ctx, chromedp.Location(&loc))
		t.Fatalf("%s: %v (browser at %s)", what, err, loc)
	}
}

// MakeY4M turns a fixture clip (../shared/liveness/CLIP) into a .y4m for
// Chromium's fake camera, with ffmpeg.
func MakeY4M(t testing.TB, clip string) string {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg not found (install it with `apt-get install -y ffmpeg`): %v", err)
	}
	out := filepath.Join(t.TempDir(), clip+".y4m")
	cmd := exec.Command(ffmpeg, "-loglevel", "error", "-framerate", "10",
		"-i", filepath.Join(fixtures.SharedDir(t), "liveness", clip, "frame_%03d.jpg"), "-pix_fmt", "yuv420p", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make %s: %v\n%s", out, err, b)
	}
	return out
}

// FaceOutcome is what the face capture page shows once a capture is over.
type FaceOutcome struct {
	Href       string `json:"href"`
	Message    string `json:"message"`
	Error      bool   `json:"error"`
	RetryShown bool   `json:"retry"`
}

// WaitFaceOutcome polls until the browser left the face page for a URL
// starting with done, or the page shows an error.
func WaitFaceOutcome(t testing.TB, ctx context.Context, done string) FaceOutcome {
	t.Helper()
	const probe = `(() => {
		const m = document.getElementById("face-message");
		const r = document.getElementById("face-retry");
		return {href: location.href, message: m ? m.textContent : "",
			error: !!(m && m.classList.contains("error")), retry: !!(r && !r.hidden)};
	})()`
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		var o FaceOutcome
		if err := chromedp.Run(ctx, chromedp.Evaluate(probe, &o)); err != nil {
			// Navigating: the page is being replaced.
			time.Sleep(200 * time.Millisecond)
			continue
		}
		if strings.HasPrefix(o.Href, done) || o.Error {
			return o
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatal("the face step did not finish within 3 minutes")
	return FaceOutcome{}
}
