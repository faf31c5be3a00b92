package faceweb_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"testing"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/factors/face"
	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/internal/fixtures"
	"github.com/faceidp/faceidp/storage"
)

// TestFaceAPIEngineBusy: an engine with one recognizer and one queue place
// is saturated by concurrent real answers (several users signing in at
// once); those it cannot take get 503 engine_busy with Retry-After and an
// error the capture page shows, and nothing is stored for them.
func TestFaceAPIEngineBusy(t *testing.T) {
	eng, err := faceauth.NewEngine(faceauth.EngineConfig{ModelDir: fixtures.ModelsDir(t), Recognizers: 1, QueueLength: 1})
	if err != nil {
		t.Fatalf("face engine (set FACEIDP_MODELS_DIR): %v", err)
	}
	t.Cleanup(func() { eng.Close() })
	e := newEnv(t, envConfig{steps: 1, faceMode: policy.FaceRequired, engine: eng})
	rp := e.rp(rpRedirect)
	// A static photo: the engine analyses every frame, then fails it.
	photo := jpegs(fixtures.ClipFramesByID(t, "spoof_static_photo_p02", 1))

	const n = 6 // at most 2 (recognizer + queue place) are admitted at once
	type attempt struct {
		user, id string
		b        *http.Client
		fp       facePage
		res      apiResp
	}
	attempts := make([]*attempt, n)
	for i := range attempts {
		a := &attempt{user: fmt.Sprintf("user%d", i), b: e.newBrowser()}
		e.addUser(a.user)
		a.fp = parseFacePage(t, e.signInPassword(a.b, rp.Start().URL, a.user).body)
		ch := e.challenge(a.b, a.fp)
		if ch.status != http.StatusOK {
			t.Fatalf("challenge %d: %d %s", i, ch.status, ch.raw)
		}
		a.id = ch.str("challenge_id")
		attempts[i] = a
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, a := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			a.res = e.answer(a.b, a.fp, a.id, photo)
		}()
	}
	close(start)
	wg.Wait()

	busy, judged := 0, 0
	for i, a := range attempts {
		switch a.res.status {
		case http.StatusOK:
			judged++
			if a.res.str("result") != "fail" {
				t.Fatalf("attempt %d: a static photo %s", i, a.res.raw)
			}
		case http.StatusServiceUnavailable:
			busy++
			if a.res.str("error") != "engine_busy" || !strings.Contains(a.res.str("error_description"), "busy") {
				t.Fatalf("attempt %d: 503 body %s", i, a.res.raw)
			}
			if ra := a.res.header.Get("Retry-After"); ra != "2" {
				t.Fatalf("attempt %d: Retry-After %q, want the default 2 seconds", i, ra)
			}
			if ok, _ := e.svc.Enrolled(e.ctx, a.user); ok {
				t.Fatalf("attempt %d: a busy refusal stored a template", i)
			}
			evs, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: a.user, Type: face.AuditEnrol})
			if len(evs) != 1 || evs[0].Outcome != "failure" || evs[0].Reason != "busy" {
				t.Fatalf("attempt %d: audit %+v, want one failure with reason busy", i, evs)
			}
		default:
			t.Fatalf("attempt %d: %d %s", i, a.res.status, a.res.raw)
		}
	}
	t.Logf("%d concurrent answers: %d judged, %d busy", n, judged, busy)
	if busy == 0 || judged == 0 {
		t.Fatalf("%d concurrent answers: %d judged, %d busy; want both", n, judged, busy)
	}

	// A busy refusal does not burn the attempt: the 503 names a fresh
	// challenge (same actions) that the same frames answer once the engine
	// has room, while the answered challenge stays single-use.
	for i, a := range attempts {
		if a.res.status != http.StatusServiceUnavailable {
			continue
		}
		fresh := a.res.str("challenge_id")
		if fresh == "" || fresh == a.id {
			t.Fatalf("attempt %d: 503 without a fresh challenge: %s", i, a.res.raw)
		}
		if acts, _ := a.res.body["actions"].([]any); len(acts) != 1 || acts[0] != string(faceauth.ActionBlink) || a.res.str("expires_at") == "" {
			t.Fatalf("attempt %d: replacement challenge %s, want the same actions and an expiry", i, a.res.raw)
		}
		// Being busy buys no time: the replacement keeps the expiry.
		old, err1 := e.store.GetFaceChallenge(e.ctx, a.id)
		repl, err2 := e.store.GetFaceChallenge(e.ctx, fresh)
		if err1 != nil || err2 != nil || !repl.ExpiresAt.Equal(old.ExpiresAt) || repl.UsedAt != nil || repl.UserID != a.user {
			t.Fatalf("attempt %d: replacement %+v (%v) of %+v (%v)", i, repl, err2, old, err1)
		}
		if r := e.answer(a.b, a.fp, a.id, photo); r.status != http.StatusConflict || r.str("error") != "challenge_used" {
			t.Fatalf("attempt %d: replay of the busy challenge: %d %s, want 409 challenge_used", i, r.status, r.raw)
		}
		if r := e.answer(a.b, a.fp, fresh, photo); r.status != http.StatusOK || r.str("result") != "fail" {
			t.Fatalf("attempt %d: retry with the fresh challenge: %d %s, want a decision", i, r.status, r.raw)
		}
		if r := e.answer(a.b, a.fp, fresh, photo); r.status != http.StatusConflict {
			t.Fatalf("attempt %d: replay of the fresh challenge: %d %s, want 409", i, r.status, r.raw)
		}
	}
}

// TestFaceAPIRequestTooLarge: a body over the upload cap is cut off while
// it is read: 413 request_too_large, the challenge left unused, nothing
// stored, no face decision.
func TestFaceAPIRequestTooLarge(t *testing.T) {
	e := newEnv(t, envConfig{steps: 1, faceMode: policy.FaceRequired})
	u := e.addUser("alice")
	b := e.newBrowser()
	fp := parseFacePage(t, e.signInPassword(b, e.rp(rpRedirect).Start().URL, "alice").body)
	ch := e.challenge(b, fp)
	if ch.status != http.StatusOK {
		t.Fatalf("challenge: %d %s", ch.status, ch.raw)
	}
	id := ch.str("challenge_id")
	lim := faceauth.DefaultLimits()
	limit := int64(lim.MaxFrames)*lim.MaxFrameBytes + 64<<10 // docs/face-api.md

	// Every part is within its own limits; the padding before the first
	// part (a multipart preamble) takes the body over the cap.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	line := strings.Repeat("x", 1022) + "\r\n"
	for int64(buf.Len()) <= limit {
		buf.WriteString(line)
	}
	_ = mw.WriteField("challenge_id", id)
	for i, f := range fixtures.ClipFramesByID(t, "p01_blink", 1) {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="frames"; filename="frame_%03d"`, i))
		h.Set("Content-Type", "image/jpeg")
		w, _ := mw.CreatePart(h)
		_, _ = w.Write(f)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, e.abs(fp.answerURL), &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-CSRF-Token", fp.csrf)
	r := e.call(b, req)
	if r.status != http.StatusRequestEntityTooLarge || r.str("error") != "request_too_large" || !strings.Contains(r.str("error_description"), fmt.Sprint(limit)) {
		t.Fatalf("oversized body: %d %s, want 413 request_too_large naming the limit %d", r.status, r.raw, limit)
	}
	if rec, err := e.store.GetFaceChallenge(e.ctx, id); err != nil || rec.UsedAt != nil {
		t.Fatalf("challenge after the refusal: %+v %v, want stored and unused", rec, err)
	}
	if ok, _ := e.svc.Enrolled(e.ctx, u.ID); ok {
		t.Fatal("an oversized body stored a template")
	}
	if evs, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: u.ID, Type: face.AuditEnrol}); len(evs) != 0 {
		t.Fatalf("an oversized body reached the engine: %+v", evs)
	}
	// The challenge still works with a proper upload.
	if r := e.answer(b, fp, id, jpegs(fixtures.ClipFramesByID(t, "p01_blink", 1))); r.status != http.StatusOK || r.str("result") != "pass" {
		t.Fatalf("answer after the refusal: %d %s", r.status, r.raw)
	}
}
