package faceweb_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/factors/face"
	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/idp/faceweb"
	"github.com/faceidp/faceidp/internal/logintest"
	"github.com/faceidp/faceidp/storage"
)

// TestBrowserCooperativeCamera: headless Chromium whose camera behaves
// like a person (logintest's cooperative camera: it plays a person's clip
// for each instruction as it appears, 0.5-1.7 s after it appears). The
// person first stands out of view: the page's get-ready step says no face
// is in view and starts nothing; once the face is in view the challenge
// starts. Enrolment (one step) and then a sign-in with a random two-step
// challenge each pass on the first try; each step after the first is shown
// before its predecessor's timeout ran out (the page advanced on the
// server's word), with a countdown.
func TestBrowserCooperativeCamera(t *testing.T) {
	logintest.ChromiumPath(t)
	// The relying party listens on its own 127.0.0.1 port.
	app := logintest.NewRPServer()
	rpBase := app.Base
	e := newEnv(t, envConfig{steps: 2, faceMode: policy.FaceRequired,
		redirectURIs: []string{rpBase + "/callback"}, logoutURIs: []string{rpBase + "/signed-out"}})
	all := append([]faceauth.Action(nil), faceauth.AllActions...)
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	e.picker.def = all[:2]
	t.Logf("challenge: %v", e.picker.def)
	alice := e.addUser("alice")
	app.Start(t, e.issuer, clientID)

	ctx := logintest.NewChromium(t, "", logintest.AllowCamera)
	logintest.InstallCooperativeCamera(t, ctx)
	signIn := func(want string, faceFirst bool) stepsSeen {
		t.Helper()
		openFacePage(t, ctx, rpBase, "alice", want)
		logintest.LoadPerson(t, ctx, "p01")
		logintest.ShowFace(t, ctx, faceFirst)
		logintest.Run(t, ctx, "press start", chromedp.Click("#face-start", chromedp.ByID))
		if !faceFirst {
			// Get ready: no face in view, so the page says so and waits.
			var hint string
			logintest.Run(t, ctx, "the page asks for a face",
				chromedp.Poll(`(document.getElementById("face-step").textContent.includes("no face is in view"))`, nil, chromedp.WithPollingTimeout(30*time.Second)),
				chromedp.Text("#face-step", &hint, chromedp.ByID))
			time.Sleep(1500 * time.Millisecond)
			var stepsHidden bool
			logintest.Run(t, ctx, "no challenge yet", chromedp.Evaluate(`document.getElementById("face-steps").hidden`, &stepsHidden))
			if !stepsHidden {
				t.Fatal("the challenge's steps are shown while no face is in view")
			}
			if evs, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: alice.ID, Type: face.AuditEnrol}); len(evs) != 0 {
				t.Fatalf("a face attempt was made without a face in view: %+v", evs)
			}
			logintest.ShowFace(t, ctx, true)
		}
		seen := watchSteps(ctx)
		t.Logf("%s: the page said %q", want, seen.order)
		var where, text string
		_ = chromedp.Run(ctx, chromedp.Location(&where), chromedp.Evaluate(`document.body ? document.body.innerText.slice(0, 400) : ""`, &text))
		t.Logf("%s: now at %s: %q", want, where, text)
		out := logintest.WaitFaceOutcome(t, ctx, rpBase+"/callback")
		if !strings.HasPrefix(out.Href, rpBase+"/callback") {
			t.Fatalf("%s: not accepted on the first try: %q at %s\ncamera: %+v", want, out.Message, out.Href, logintest.ReadCameraLog(t, ctx))
		}
		return seen
	}

	signIn("enrol", false)
	logintest.Run(t, ctx, "sign out", chromedp.Click("#sign-out", chromedp.ByID), chromedp.WaitVisible("#signed-out", chromedp.ByID))
	seen := signIn("verify", true)
	first, second := seen.at[faceweb.Instruction(e.picker.def[0])], seen.at[faceweb.Instruction(e.picker.def[1])]
	if first.IsZero() || second.IsZero() || !seen.countdown {
		t.Fatalf("steps shown %v, countdown %v", seen.at, seen.countdown)
	}
	if d := second.Sub(first); d >= faceauth.StepTimeout-500*time.Millisecond {
		t.Fatalf("the second step came %v after the first: the page waited for the timeout instead of the server's word", d)
	} else {
		t.Logf("the second step came %v after the first (timeout %v)", d, faceauth.StepTimeout)
	}
	for _, typ := range []string{face.AuditEnrol, face.AuditVerify} {
		evs, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: alice.ID, Type: typ})
		if len(evs) != 1 || evs[0].Outcome != "success" {
			t.Fatalf("%s: %d attempts (%+v), want one that passed", typ, len(evs), evs)
		}
	}
}

// stepsSeen is when each instruction first appeared on the face page, and
// whether a step countdown was shown.
type stepsSeen struct {
	at        map[string]time.Time
	order     []string
	countdown bool
}

// watchSteps polls the face page until it leaves it or shows an error.
func watchSteps(ctx context.Context) stepsSeen {
	s := stepsSeen{at: map[string]time.Time{}}
	const probe = `(() => {
		const st = document.getElementById("face-step"), cd = document.getElementById("face-countdown"),
			m = document.getElementById("face-message");
		return {step: st ? st.textContent : "", countdown: !!(cd && !cd.hidden && cd.textContent.includes("s left")),
			face: !!st, error: !!(m && m.classList.contains("error"))};
	})()`
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var p struct {
			Step      string `json:"step"`
			Countdown bool   `json:"countdown"`
			Face      bool   `json:"face"`
			Error     bool   `json:"error"`
		}
		if err := chromedp.Run(ctx, chromedp.Evaluate(probe, &p)); err != nil || !p.Face || p.Error {
			return s
		}
		if _, ok := s.at[p.Step]; !ok {
			s.at[p.Step] = time.Now()
			s.order = append(s.order, p.Step)
		}
		s.countdown = s.countdown || p.Countdown
		time.Sleep(50 * time.Millisecond)
	}
	return s
}
