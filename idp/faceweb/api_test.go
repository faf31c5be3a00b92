package faceweb_test

import (
	"bytes"
	"crypto/rand"
	"image"
	"image/jpeg"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/factors/face"
	"github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/idp/accounts"
	"github.com/faceidp/faceidp/idp/faceweb"
	"github.com/faceidp/faceidp/internal/fixtures"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// Tests through the documented face API (docs/face-api.md), no browser.

// TestFaceAPISignIn: password, then face enrolment on first sign-in with a
// live blink challenge; a second sign-in (another browser) passes a face
// challenge; both ID tokens say amr = pwd, face, mfa.
func TestFaceAPISignIn(t *testing.T) {
	testSignIn(t, []faceauth.Action{faceauth.ActionBlink}, fixtures.ClipFramesByID(t, "p01_blink", 1))
}

// TestFaceAPISignInTwoSteps is the same with the default two-step
// challenge, answered with two clips of one person joined in the pinned
// order and sampled at the capture page's 5 fps.
func TestFaceAPISignInTwoSteps(t *testing.T) {
	joined := append(fixtures.ClipFramesByID(t, "p01_blink", 2), fixtures.ClipFramesByID(t, "p01_turn_left", 2)...)
	testSignIn(t, []faceauth.Action{faceauth.ActionBlink, faceauth.ActionTurnLeft}, joined)
}

func testSignIn(t *testing.T, actions []faceauth.Action, frames [][]byte) {
	e := newEnv(t, envConfig{steps: len(actions), faceMode: policy.FaceRequired})
	u := e.addUser("alice")
	rp := e.rp(rpRedirect)

	for i, want := range []string{"enrol", "verify"} {
		b := e.newBrowser()
		a := rp.Start()
		p := e.signInPassword(b, a.URL, "alice")
		if p.status != http.StatusOK {
			t.Fatalf("sign-in %d: after password got %d at %s:\n%s", i, p.status, p.url, p.body)
		}
		fp := parseFacePage(t, p.body)
		if fp.purpose != want {
			t.Fatalf("sign-in %d: face page purpose %q, want %q", i, fp.purpose, want)
		}
		e.pin(actions...)
		ch := e.challenge(b, fp)
		if ch.status != http.StatusOK {
			t.Fatalf("challenge: %d %s", ch.status, ch.raw)
		}
		if got := ch.body["actions"]; len(got.([]any)) != len(actions) || ch.str("purpose") != want || ch.body["limits"] == nil || ch.str("challenge_id") == "" {
			t.Fatalf("challenge body %s", ch.raw)
		}
		for j, ins := range ch.body["instructions"].([]any) {
			if ins != faceweb.Instruction(actions[j]) {
				t.Fatalf("instruction %d = %v", j, ins)
			}
		}
		res := e.answer(b, fp, ch.str("challenge_id"), jpegs(frames))
		if res.status != http.StatusOK || res.str("result") != "pass" || res.str("next") == "" {
			t.Fatalf("sign-in %d (%s): answer %d %s", i, want, res.status, res.raw)
		}
		code := e.follow(b, res.str("next"), a)
		c := rp.Redeem(t, e.ctx, code, a)
		if c.Sub != u.ID {
			t.Fatalf("sub %q", c.Sub)
		}
		for _, m := range []string{policy.AMRPassword, policy.AMRFace, policy.AMRMFA} {
			if !slices.Contains(c.AMR, m) {
				t.Fatalf("sign-in %d: amr %v lacks %q", i, c.AMR, m)
			}
		}
		if c.ACR != policy.ACRMultiFactor {
			t.Fatalf("acr %q", c.ACR)
		}
		if ok, _ := e.svc.Enrolled(e.ctx, u.ID); !ok {
			t.Fatal("not enrolled after the first sign-in")
		}
	}
	// The face decisions are audited with user, client, address, outcome,
	// reason and scores.
	for _, typ := range []string{face.AuditEnrol, face.AuditVerify} {
		evs, err := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: u.ID, Type: typ})
		if err != nil || len(evs) != 1 {
			t.Fatalf("%s audit events: %+v %v, want 1", typ, evs, err)
		}
		ev := evs[0]
		if ev.ClientID != clientID || ev.RemoteIP != "127.0.0.1" || ev.Outcome != "success" || ev.Reason != "ok" || ev.Details["steps"] == nil {
			t.Fatalf("%s audit event %+v: want client %q, address 127.0.0.1, success, ok, steps", typ, ev, clientID)
		}
		if _, ok := ev.Details["distance"]; !ok {
			t.Fatalf("%s audit event without distance: %+v", typ, ev.Details)
		}
	}
}

// TestFaceAPIRefusals: every bad answer is refused with its own error
// before anything is stored: no template, the challenge left unused (when
// the engine never ran), no face decision in the audit log.
func TestFaceAPIRefusals(t *testing.T) {
	e := newEnv(t, envConfig{steps: 1, faceMode: policy.FaceRequired})
	u := e.addUser("alice")
	rp := e.rp(rpRedirect)
	lim := faceauth.DefaultLimits()
	good := fixtures.ClipFramesByID(t, "p01_blink", 2)

	startFlow := func() (*http.Client, facePage) {
		b := e.newBrowser()
		p := e.signInPassword(b, rp.Start().URL, "alice")
		return b, parseFacePage(t, p.body)
	}
	b, fp := startFlow()
	issue := func(c *http.Client, fp facePage) string {
		t.Helper()
		ch := e.challenge(c, fp)
		if ch.status != http.StatusOK {
			t.Fatalf("challenge: %d %s", ch.status, ch.raw)
		}
		return ch.str("challenge_id")
	}
	nothingStored := func(challengeID string, unused bool) {
		t.Helper()
		if ok, _ := e.svc.Enrolled(e.ctx, u.ID); ok {
			t.Fatal("a refused answer stored a template")
		}
		if challengeID != "" && unused {
			ch, err := e.store.GetFaceChallenge(e.ctx, challengeID)
			if err != nil || ch.UsedAt != nil {
				t.Fatalf("challenge after refusal: %+v %v (want stored and unused)", ch, err)
			}
		}
	}
	expectErr := func(name string, r apiResp, status int, code string) {
		t.Helper()
		if r.status != status || r.str("error") != code || r.str("error_description") == "" {
			t.Fatalf("%s: got %d %s, want %d %q", name, r.status, r.raw, status, code)
		}
	}

	id := issue(b, fp)

	// Wrong content type: JSON instead of multipart.
	req, _ := http.NewRequest(http.MethodPost, e.abs(fp.answerURL), strings.NewReader(`{"challenge_id":"`+id+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", fp.csrf)
	expectErr("json body", e.call(b, req), http.StatusUnsupportedMediaType, "unsupported_media_type")
	nothingStored(id, true)

	// A frame that is not JPEG or PNG, declared or by content.
	gif := append(jpegs(good[:9]), frame{"image/gif", []byte("GIF89a....")})
	expectErr("gif frame", e.answer(b, fp, id, gif), http.StatusUnsupportedMediaType, "unsupported_frame_type")
	fake := append(jpegs(good[:9]), frame{"image/jpeg", []byte("<html>not a jpeg</html>")})
	expectErr("fake jpeg", e.answer(b, fp, id, fake), http.StatusUnsupportedMediaType, "unsupported_frame_type")
	nothingStored(id, true)

	// Too many frames.
	many := make([][]byte, lim.MaxFrames+1)
	for i := range many {
		many[i] = good[i%len(good)]
	}
	expectErr("too many frames", e.answer(b, fp, id, jpegs(many)), http.StatusBadRequest, "too_many_frames")
	nothingStored(id, true)
	// The same checks apply when the CSRF token comes as a form field (the
	// CSRF middleware has parsed the form by then).
	expectErr("too many frames, token in form", e.answerCSRF(b, fp, id, jpegs(many), true), http.StatusBadRequest, "too_many_frames")
	expectErr("gif frame, token in form", e.answerCSRF(b, fp, id, gif, true), http.StatusUnsupportedMediaType, "unsupported_frame_type")
	nothingStored(id, true)

	// Too few frames.
	expectErr("too few frames", e.answer(b, fp, id, jpegs(good[:2])), http.StatusBadRequest, "too_few_frames")

	// An oversized frame.
	big := append(bytes.Clone(good[0]), make([]byte, lim.MaxFrameBytes)...)
	expectErr("oversized frame", e.answer(b, fp, id, append(jpegs(good[:9]), frame{"image/jpeg", big})), http.StatusRequestEntityTooLarge, "frame_too_large")
	nothingStored(id, true)

	// Unknown challenge.
	expectErr("unknown challenge", e.answer(b, fp, "no-such-challenge", jpegs(good)), http.StatusNotFound, "unknown_challenge")

	// A challenge from another session: browser 2 (same user, its own
	// flow) answers browser 1's challenge.
	b2, fp2 := startFlow()
	expectErr("other session", e.answer(b2, fp2, id, jpegs(good)), http.StatusForbidden, "wrong_session")
	nothingStored(id, true)
	// And browser 2 cannot use browser 1's flow at all (with its own
	// CSRF token; browser 1's token is refused by the CSRF check first).
	stolen := fp
	stolen.csrf = fp2.csrf
	expectErr("other browser", e.answer(b2, stolen, id, jpegs(good)), http.StatusForbidden, "flow_other_browser")
	nothingStored(id, true)

	// Expired: the injected clock passes the TTL.
	e.clock.Advance(face.DefaultTTL + 1)
	expectErr("expired", e.answer(b, fp, id, jpegs(good)), http.StatusGone, "challenge_expired")
	nothingStored(id, true)

	// No CSRF token: refused by the CSRF middleware.
	noCSRF := fp
	noCSRF.csrf = ""
	if r := e.answer(b, noCSRF, issue(b, fp), jpegs(good)); r.status != http.StatusForbidden {
		t.Fatalf("answer without CSRF token: %d %s", r.status, r.raw)
	}

	// No decision reached the engine so far.
	if evs, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: u.ID, Type: face.AuditEnrol}); len(evs) != 0 {
		t.Fatalf("refusals left face decisions in the audit log: %+v", evs)
	}

	// The engine refuses frames without a face (a plain grey picture): 422,
	// nothing stored.
	noFace := grayJPEG(t, lim.FrameWidth, lim.FrameHeight)
	blank := make([][]byte, lim.MinFrames)
	for i := range blank {
		blank[i] = noFace
	}
	id = issue(b, fp)
	expectErr("no face", e.answer(b, fp, id, jpegs(blank)), http.StatusUnprocessableEntity, faceauth.CodeNoFace)
	nothingStored(id, false)

	// Replay: a static photo is judged (fail), the same challenge again is
	// refused as used.
	id = issue(b, fp)
	photo := fixtures.ClipFramesByID(t, "spoof_static_photo_p02", 2)
	r := e.answerCSRF(b, fp, id, jpegs(photo), true)
	if r.status != http.StatusOK || r.str("result") != "fail" || r.str("message") == "" || r.str("next") != "" {
		t.Fatalf("static photo: %d %s", r.status, r.raw)
	}
	expectErr("replay", e.answer(b, fp, id, jpegs(good)), http.StatusConflict, "challenge_used")
	nothingStored(id, false)

	// Rate limit on challenges (default 10 a minute per user).
	var last apiResp
	for i := 0; i < 12 && last.status != http.StatusTooManyRequests; i++ {
		last = e.challenge(b, fp)
	}
	expectErr("rate limit", last, http.StatusTooManyRequests, "rate_limited")
	if last.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
}

// grayJPEG is a w x h mid-grey picture: no face in it.
func grayJPEG(t testing.TB, w, h int) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(110 + i%37)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestFaceAPIThrottleAndDisable: the face counter is per user and per
// factor. After 5 consecutive failed verifications (4 stored, one real)
// the answer says how long to wait and the next challenge is refused with
// 429 face_throttled and retry_after; the 50th failure disables face
// (403 face_disabled, with the fallback and the way back), and the page
// says so too; an administrator's enable-face turns it back on.
func TestFaceAPIThrottleAndDisable(t *testing.T) {
	e := newEnv(t, envConfig{steps: 1, faceMode: policy.FaceRequired})
	u := e.addUser("alice")
	e.enrolFromPhotos(u.ID, "p01")
	b := e.newBrowser()
	pg := e.signInPassword(b, e.rp(rpRedirect).Start().URL, "alice")
	fp := parseFacePage(t, pg.body)
	if fp.purpose != "verify" || !strings.Contains(pg.body, "/login/cancel?authRequestID=") {
		t.Fatalf("face page: purpose %q, and it must offer the way back:\n%s", fp.purpose, pg.body)
	}
	seed := func(failures int) {
		t.Helper()
		last := e.clock.Now().Add(-2 * time.Hour)
		if _, err := e.store.UpdateThrottle(e.ctx, "user:"+u.ID, "face", func(c *models.FactorThrottle) error {
			c.UserID, c.Failures, c.LastFailureAt = u.ID, failures, &last
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	photo := jpegs(fixtures.ClipFramesByID(t, "spoof_static_photo_p02", 2))
	seed(throttle.DefaultFaceAfter - 1)
	ch := e.challenge(b, fp)
	if ch.status != http.StatusOK {
		t.Fatalf("challenge: %d %s", ch.status, ch.raw)
	}
	r := e.answer(b, fp, ch.str("challenge_id"), photo)
	if r.status != http.StatusOK || r.str("result") != "fail" || r.body["retry_after"] != float64(30) || !strings.Contains(r.str("message"), "Try again in 30 seconds.") {
		t.Fatalf("5th failure: %d %s, want a fail that says to wait 30 s", r.status, r.raw)
	}
	r = e.challenge(b, fp)
	if r.status != http.StatusTooManyRequests || r.str("error") != "face_throttled" || r.header.Get("Retry-After") != "30" || r.body["retry_after"] != float64(30) {
		t.Fatalf("challenge right after the 5th failure: %d Retry-After=%q %s", r.status, r.header.Get("Retry-After"), r.raw)
	}
	e.clock.Advance(30 * time.Second)
	if r := e.challenge(b, fp); r.status != http.StatusOK {
		t.Fatalf("challenge after the wait: %d %s", r.status, r.raw)
	}

	seed(throttle.DefaultFaceDisableAfter - 1)
	ch = e.challenge(b, fp)
	r = e.answer(b, fp, ch.str("challenge_id"), photo)
	if r.status != http.StatusForbidden || r.str("error") != "face_disabled" || !strings.Contains(r.str("error_description"), "administrator") ||
		!strings.HasPrefix(r.str("cancel_url"), "/login/cancel?authRequestID=") {
		t.Fatalf("50th failure: %d %s, want 403 face_disabled with the fallback and cancel_url", r.status, r.raw)
	}
	if r := e.challenge(b, fp); r.status != http.StatusForbidden || r.str("error") != "face_disabled" {
		t.Fatalf("challenge while disabled: %d %s", r.status, r.raw)
	}
	// Two days and a correct password later, face is still off: the
	// sign-in stops at a page that says so, with the way back.
	e.clock.Advance(48 * time.Hour)
	b = e.newBrowser()
	if p := e.signInPassword(b, e.rp(rpRedirect).Start().URL, "alice"); p.status != http.StatusForbidden || !strings.Contains(p.body, "Face sign-in is turned off") ||
		!strings.Contains(p.body, `action="/login/cancel"`) || !strings.Contains(p.body, "Return to Demo app") {
		t.Fatalf("face page while disabled: %d\n%s", p.status, p.body)
	}
	for _, typ := range []string{"throttle.face"} {
		evs, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: u.ID, Type: typ})
		outcomes := map[string]int{}
		for _, ev := range evs {
			outcomes[ev.Outcome]++
		}
		if outcomes["engaged"] == 0 || outcomes["disabled"] != 1 || outcomes["refused"] == 0 {
			t.Errorf("%s audit outcomes %v, want engaged, disabled and refused", typ, outcomes)
		}
	}
	hasher, _ := password.New(password.Params{}, rand.Reader)
	if cleared, err := accounts.New(e.store, hasher, nil, e.clock.Now, rand.Reader).EnableFace(e.ctx, "alice"); err != nil || !cleared {
		t.Fatalf("enable-face: %v %v", cleared, err)
	}
	fp = parseFacePage(t, e.signInPassword(b, e.rp(rpRedirect).Start().URL, "alice").body)
	if r := e.challenge(b, fp); r.status != http.StatusOK {
		t.Fatalf("challenge after enable-face: %d %s", r.status, r.raw)
	}
}

// With Redis configured, the per-user challenge limit (10 a minute) counts
// challenges asked of every instance together: a second instance behind
// the load balancer does not double what one user may ask for.
func TestChallengeLimitSharedAcrossInstancesViaRedis(t *testing.T) {
	redisURL := os.Getenv("FACEIDP_TEST_REDIS_URL")
	if redisURL == "" {
		redisURL = "redis://127.0.0.1:6379/0"
	}
	e := newEnv(t, envConfig{steps: 1, faceMode: policy.FaceRequired, redisURL: redisURL})
	e.addUser("alice")
	b := e.newBrowser()
	fp := parseFacePage(t, e.signInPassword(b, e.rp(rpRedirect).Start().URL, "alice").body)
	onB := fp
	onB.challengeURL = e.startInstance() + fp.challengeURL

	var statuses []int
	for i := 0; i < faceweb.DefaultChallengesPerMinute; i++ {
		at := fp
		if i%2 == 1 {
			at = onB
		}
		statuses = append(statuses, e.challenge(b, at).status)
	}
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Fatalf("challenge %d of %d (alternating instances): %d, want 200 (under the limit)", i+1, len(statuses), s)
		}
	}
	if r := e.challenge(b, onB); r.status != http.StatusTooManyRequests || r.str("error") != "rate_limited" {
		t.Fatalf("challenge %d over two instances: %d %s, want 429 rate_limited", len(statuses)+1, r.status, r.raw)
	}
}
