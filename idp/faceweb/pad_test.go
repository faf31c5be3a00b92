package faceweb_test

import (
	"bytes"
	"image"
	"image/jpeg"
	"net/http"
	"strings"
	"testing"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/factors/face"
	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/internal/fixtures"
	"github.com/faceidp/faceidp/internal/spoofgen"
	"github.com/faceidp/faceidp/storage"
)

// variantByName is one of spoofgen's variant families by name.
func variantByName(t *testing.T, name string) spoofgen.Variant {
	t.Helper()
	for _, v := range spoofgen.Families() {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no spoofgen variant %q", name)
	return spoofgen.Variant{}
}

// downscaleJPEG is frame as a client capturing at w x h sends it.
func downscaleJPEG(t *testing.T, b []byte, w, h int) []byte {
	t.Helper()
	src, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	sb := src.Bounds()
	for y := range h {
		for x := range w {
			dst.Set(x, y, src.At(sb.Min.X+x*sb.Dx()/w, sb.Min.Y+y*sb.Dy()/h))
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestFaceAPIScreenReplaysRefused: through the documented API, as the page
// sends frames (640x480, 5 fps), screen replays of the enrolled user's own
// live blink are refused as screen_replay — the shared fixture replay, a
// generated replay on a screen the cues were not tuned on, and the
// close-up phone that fills the camera's view with no bezel — and the
// audit event names the cue that decided. The same live clip at 320x240
// gets the low_resolution refusal (never a judgement without the cues),
// and at 640x480 it passes.
func TestFaceAPIScreenReplaysRefused(t *testing.T) {
	e := newEnv(t, envConfig{steps: 1, faceMode: policy.FaceRequired})
	u := e.addUser("alice")
	e.enrolFromPhotos(u.ID, "p01")
	rp := e.rp(rpRedirect)
	live := fixtures.ClipFramesByID(t, "p01_blink", 2)

	attempt := func(frames [][]byte) apiResp {
		t.Helper()
		b := e.newBrowser()
		p := e.signInPassword(b, rp.Start().URL, "alice")
		fp := parseFacePage(t, p.body)
		if fp.purpose != "verify" {
			t.Fatalf("face page purpose %q, want verify", fp.purpose)
		}
		e.pin(faceauth.ActionBlink)
		ch := e.challenge(b, fp)
		if ch.status != http.StatusOK {
			t.Fatalf("challenge: %d %s", ch.status, ch.raw)
		}
		return e.answer(b, fp, ch.str("challenge_id"), jpegs(frames))
	}

	replays := map[string][][]byte{"fixture spoof_screen_replay_p01_blink": fixtures.ClipFramesByID(t, "spoof_screen_replay_p01_blink", 2)}
	for _, name := range []string{"laptop", "closeup-lcd"} {
		frames, err := spoofgen.Clip(live, variantByName(t, name), 12)
		if err != nil {
			t.Fatal(err)
		}
		replays["generated "+name] = frames
	}
	for name, frames := range replays {
		r := attempt(frames)
		if r.status != http.StatusOK || r.str("result") != "fail" || r.str("reason") != faceauth.ReasonScreenReplay || r.str("next") != "" {
			t.Errorf("%s: %d %s, want a fail with reason %s", name, r.status, r.raw, faceauth.ReasonScreenReplay)
		}
	}
	evs, err := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: u.ID, Type: face.AuditVerify})
	if err != nil {
		t.Fatal(err)
	}
	var screen int
	for _, ev := range evs {
		if ev.Reason != faceauth.ReasonScreenReplay {
			continue
		}
		screen++
		cues, _ := ev.Details["cues"].([]any)
		var decided []string
		for _, c := range cues {
			if m, _ := c.(map[string]any); m["decided"] == true {
				decided = append(decided, m["name"].(string))
			}
		}
		if len(decided) == 0 {
			t.Errorf("screen_replay audit event names no deciding cue: %+v", ev.Details)
		}
	}
	if screen != len(replays) {
		t.Errorf("%d screen_replay audit events, want %d", screen, len(replays))
	}

	// A client still capturing at 320x240: a clear refusal, not a decision.
	small := make([][]byte, len(live))
	for i, f := range live {
		small[i] = downscaleJPEG(t, f, 320, 240)
	}
	r := attempt(small)
	if r.status != http.StatusUnprocessableEntity || r.str("error") != faceauth.CodeLowResolution || !strings.Contains(r.str("error_description"), "640x480") {
		t.Fatalf("320x240 upload: %d %s, want 422 %s naming 640x480", r.status, r.raw, faceauth.CodeLowResolution)
	}

	// The owner, live, at the capture size: passes.
	if r := attempt(live); r.status != http.StatusOK || r.str("result") != "pass" {
		t.Fatalf("live p01_blink: %d %s", r.status, r.raw)
	}
}
