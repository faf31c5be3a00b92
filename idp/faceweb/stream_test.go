package faceweb_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/jpeg"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/internal/fixtures"
	"github.com/faceidp/faceidp/storage"
)

// The streamed answer over the WebSocket, as docs/face-api.md documents it
// for non-browser clients (the capture page speaks the same protocol).

// faceStream is a client of .../stream.
type faceStream struct {
	t    *testing.T
	conn *websocket.Conn
	ctx  context.Context
}

// dialStream opens the sign-in's stream with the browser's cookies and
// sends the start message.
func (e *env) dialStream(b *http.Client, fp facePage, challengeID string) *faceStream {
	e.t.Helper()
	u := "ws" + strings.TrimPrefix(e.abs(strings.Replace(fp.answerURL, "/answer", "/stream", 1)), "http")
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	e.t.Cleanup(cancel)
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: b})
	if err != nil {
		e.t.Fatalf("dial %s: %v", u, err)
	}
	conn.SetReadLimit(1 << 20)
	e.t.Cleanup(func() { conn.CloseNow() })
	s := &faceStream{t: e.t, conn: conn, ctx: ctx}
	s.sendJSON(map[string]any{"type": "start", "challenge_id": challengeID, "mirrored": false})
	return s
}

func (s *faceStream) sendJSON(v any) {
	s.t.Helper()
	b, _ := json.Marshal(v)
	if err := s.conn.Write(s.ctx, websocket.MessageText, b); err != nil {
		s.t.Fatalf("send %s: %v", b, err)
	}
}

// sendFrame sends frame number seq; it reports whether the server still
// listened.
func (s *faceStream) sendFrame(seq int, jpg []byte) bool {
	msg := make([]byte, 4+len(jpg))
	binary.BigEndian.PutUint32(msg, uint32(seq))
	copy(msg[4:], jpg)
	return s.conn.Write(s.ctx, websocket.MessageBinary, msg) == nil
}

// next reads the next server message.
func (s *faceStream) next() map[string]any {
	s.t.Helper()
	_, b, err := s.conn.Read(s.ctx)
	if err != nil {
		s.t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		s.t.Fatalf("bad message %q: %v", b, err)
	}
	return m
}

// until reads messages until one of type typ (or an error/result), failing
// on any other final message.
func (s *faceStream) until(typ string) map[string]any {
	s.t.Helper()
	for {
		m := s.next()
		if m["type"] == typ {
			return m
		}
		if m["type"] == "error" || m["type"] == "result" {
			s.t.Fatalf("waiting for %s, got %v", typ, m)
		}
	}
}

// TestFaceStreamSignIn: a two-step verification streamed frame by frame
// passes; the server reports the first step seen while the frames of the
// second are still to come (the page advances early); the verdict leads
// to the relying party through the pass ticket; a second stream for the
// same challenge and a second use of the ticket are refused.
func TestFaceStreamSignIn(t *testing.T) {
	e := newEnv(t, envConfig{steps: 2, faceMode: policy.FaceRequired})
	u := e.addUser("alice")
	e.enrolFromPhotos(u.ID, "p01")
	rp := e.rp(rpRedirect)
	a := rp.Start()
	b := e.newBrowser()
	fp := parseFacePage(t, e.signInPassword(b, a.URL, "alice").body)
	actions := []faceauth.Action{faceauth.ActionBlink, faceauth.ActionTurnLeft}
	e.pin(actions...)
	ch := e.challenge(b, fp)
	if ch.status != http.StatusOK {
		t.Fatalf("challenge: %d %s", ch.status, ch.raw)
	}
	blink := fixtures.ClipFramesByID(t, "p01_blink", 2)
	turn := fixtures.ClipFramesByID(t, "p01_turn_left", 2)
	frames := append(append([][]byte(nil), blink...), turn...)

	s := e.dialStream(b, fp, ch.str("challenge_id"))
	st := s.until("started")
	if st["step_timeout_ms"] != float64(faceauth.StepTimeout.Milliseconds()) || len(st["actions"].([]any)) != 2 {
		t.Fatalf("started: %v", st)
	}
	firstSeenAt := -1
	for i, f := range frames {
		if !s.sendFrame(i, f) {
			t.Fatalf("server closed at frame %d", i)
		}
		p := s.until("progress")
		if p["frame"] != float64(i) {
			t.Fatalf("progress for frame %v, want %d", p["frame"], i)
		}
		if n := p["steps_seen"].(float64); n >= 1 && firstSeenAt < 0 {
			firstSeenAt = i
		}
	}
	if firstSeenAt < 0 || firstSeenAt >= len(blink) {
		t.Fatalf("the blink was reported seen at frame %d, want before frame %d (the turn's first)", firstSeenAt, len(blink))
	}
	start := time.Now()
	s.sendJSON(map[string]any{"type": "finish"})
	res := s.until("result")
	t.Logf("verdict %v after the finish message (includes the loaded machine)", time.Since(start))
	next, _ := res["next"].(string)
	if res["result"] != "pass" || !strings.HasPrefix(next, "/login/face/complete?") {
		t.Fatalf("result %v", res)
	}

	// Single use: another stream for the same challenge is refused.
	s2 := e.dialStream(b, fp, ch.str("challenge_id"))
	if m := s2.next(); m["type"] != "error" || m["error"] != "challenge_used" {
		t.Fatalf("replayed stream: %v", m)
	}

	code := e.follow(b, next, a)
	c := rp.Redeem(t, e.ctx, code, a)
	if c.Sub != u.ID || !containsAll(c.AMR, policy.AMRPassword, policy.AMRFace, policy.AMRMFA) {
		t.Fatalf("claims %+v", c)
	}
	// The ticket is spent: the flow is past the face step.
	if p := e.get(b, next); p.status < 400 {
		t.Fatalf("second use of the pass ticket: %d %s", p.status, p.body)
	}
	evs, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: u.ID, Type: "face.verify"})
	if len(evs) != 1 || evs[0].Outcome != "success" || evs[0].ClientID != clientID {
		t.Fatalf("face.verify audit: %+v", evs)
	}
}

func containsAll(have []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

// TestFaceStreamRefusals: a stream that stalls or sends frames out of
// order is refused with its own error, the challenge stays used, and the
// attempt counts as a failed face attempt (it had shown progress); a
// cross-site page cannot open the stream.
func TestFaceStreamRefusals(t *testing.T) {
	e := newEnv(t, envConfig{steps: 1, faceMode: policy.FaceRequired})
	u := e.addUser("alice")
	e.enrolFromPhotos(u.ID, "p01")
	b := e.newBrowser()
	fp := parseFacePage(t, e.signInPassword(b, e.rp(rpRedirect).Start().URL, "alice").body)
	frames := fixtures.ClipFramesByID(t, "p01_blink", 2)

	failures := func() []string {
		evs, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{UserID: u.ID, Type: "login.face"})
		var reasons []string
		for _, ev := range evs {
			if ev.Outcome == "failure" {
				reasons = append(reasons, ev.Reason)
			}
		}
		return reasons
	}

	t.Run("stalled", func(t *testing.T) {
		ch := e.challenge(b, fp)
		s := e.dialStream(b, fp, ch.str("challenge_id"))
		s.until("started")
		for i := range 3 {
			s.sendFrame(i, frames[i])
			s.until("progress")
		}
		start := time.Now()
		m := s.next() // nothing more is sent
		if m["type"] != "error" || m["error"] != "stream_stalled" || !strings.Contains(m["error_description"].(string), "Nothing arrived for 3 seconds") {
			t.Fatalf("stalled stream: %v", m)
		}
		if waited := time.Since(start); waited < 2*time.Second {
			t.Fatalf("refused after %v, before the stall timeout", waited)
		}
		if r := failures(); len(r) != 1 || r[0] != "stream_stalled" {
			t.Fatalf("login.face failures %v, want one stream_stalled", r)
		}
		// The challenge is spent.
		if r := e.answer(b, fp, ch.str("challenge_id"), jpegs(frames)); r.str("error") != "challenge_used" {
			t.Fatalf("answer after a stalled stream: %d %s", r.status, r.raw)
		}
	})
	t.Run("out of order", func(t *testing.T) {
		ch := e.challenge(b, fp)
		s := e.dialStream(b, fp, ch.str("challenge_id"))
		s.until("started")
		s.sendFrame(0, frames[0])
		s.until("progress")
		s.sendFrame(2, frames[2])
		if m := s.next(); m["type"] != "error" || m["error"] != "stream_out_of_order" {
			t.Fatalf("reordered stream: %v", m)
		}
		if r := failures(); len(r) != 2 || !slices.Contains(r, "stream_out_of_order") {
			t.Fatalf("login.face failures %v, want stream_stalled and stream_out_of_order", r)
		}
	})
	t.Run("cross-site", func(t *testing.T) {
		ch := e.challenge(b, fp)
		u := "ws" + strings.TrimPrefix(e.abs("/login/face/stream?"+strings.SplitN(fp.answerURL, "?", 2)[1]), "http")
		_, resp, err := websocket.Dial(e.ctx, u, &websocket.DialOptions{HTTPClient: b, HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-site stream: %v %v", resp, err)
		}
		// Nothing was consumed.
		if r := e.answer(b, fp, ch.str("challenge_id"), jpegs(frames)); r.str("result") != "pass" {
			t.Fatalf("the challenge is still good after a refused cross-site upgrade: %d %s", r.status, r.raw)
		}
	})
}

// TestFaceReady: the get-ready check says what to fix on a frame without a
// face, accepts a good one, and is bounded like any upload (CSRF, type).
func TestFaceReady(t *testing.T) {
	e := newEnv(t, envConfig{steps: 1, faceMode: policy.FaceRequired})
	u := e.addUser("alice")
	e.enrolFromPhotos(u.ID, "p01")
	b := e.newBrowser()
	fp := parseFacePage(t, e.signInPassword(b, e.rp(rpRedirect).Start().URL, "alice").body)
	readyURL := strings.Replace(fp.answerURL, "/answer", "/ready", 1)
	post := func(ct string, body []byte, csrf bool) apiResp {
		req, _ := http.NewRequest(http.MethodPost, e.abs(readyURL), strings.NewReader(string(body)))
		req.Header.Set("Content-Type", ct)
		if csrf {
			req.Header.Set("X-CSRF-Token", fp.csrf)
		}
		return e.call(b, req)
	}
	if r := post("image/jpeg", blankFrame(t), true); r.status != http.StatusOK || r.body["ready"] != false || r.str("code") != "no_face" || r.str("hint") == "" {
		t.Fatalf("no face: %d %s", r.status, r.raw)
	}
	face := fixtures.ClipFramesByID(t, "p01_neutral", 2)[0]
	if r := post("image/jpeg", face, true); r.status != http.StatusOK || r.body["ready"] != true {
		t.Fatalf("a face: %d %s", r.status, r.raw)
	}
	if r := post("image/gif", face, true); r.status != http.StatusUnsupportedMediaType {
		t.Fatalf("gif: %d %s", r.status, r.raw)
	}
	if r := post("image/jpeg", face, false); r.status != http.StatusForbidden {
		t.Fatalf("without the CSRF token: %d %s", r.status, r.raw)
	}
}

// blankFrame is a uniform grey JPEG of the capture size: no face.
func blankFrame(t *testing.T) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, faceauth.CaptureWidth, faceauth.CaptureHeight))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
