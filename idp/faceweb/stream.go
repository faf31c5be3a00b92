package faceweb

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/factors/face"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/idp/webapi"
	"github.com/faceidp/faceidp/models"
)

// The streamed answer (docs/face-api.md, "Streaming a challenge"): a
// WebSocket on .../stream. WebSocket rather than a chunked POST because
// the page must hear "step seen" while it is still sending frames: a
// browser's fetch can stream a request body only half-duplex (and only over
// HTTP/2), while a WebSocket is full duplex on HTTP/1.1 as well, in every
// browser and in every language's client library.
//
// The client sends, in order:
//  1. a text message {"type":"start","challenge_id":"…","mirrored":false};
//  2. binary messages, one frame each: a 4-byte big-endian sequence number
//     (0, 1, 2, … with no gap) followed by the JPEG or PNG bytes;
//  3. a text message {"type":"finish"}.
//
// The server answers "started", then a "progress" message per frame
// (steps_seen: how many steps the server has seen done so far; the page
// moves to the next instruction on it), and ends with one "result" (the
// one-shot answer's body) or one "error" (the API's error body), then
// closes. Nothing the client sends marks a step seen.
//
// Cross-site use is refused by the WebSocket Origin check (the upgrade is
// a GET, which the CSRF middleware lets through), and the challenge ID the
// start message names comes only from a CSRF-protected POST whose answer
// another site cannot read; the challenge is bound to this sign-in.

// Stream timing.
const (
	// startTimeout is how long the server waits for the start message.
	startTimeout = 10 * time.Second
	// stallTimeout is the longest silence allowed between two frames (the
	// page sends one every 200 ms); longer is a stalled stream.
	stallTimeout = 3 * time.Second
	// streamControlBytes bounds a text message.
	streamControlBytes = 1 << 10
)

// streamMsg is a text message of the stream protocol, either way.
type streamMsg struct {
	Type        string `json:"type"`
	ChallengeID string `json:"challenge_id,omitempty"`
	Mirrored    bool   `json:"mirrored,omitempty"`
}

// streamStarted is the server's answer to the start message.
type streamStarted struct {
	Type          string            `json:"type"` // "started"
	ChallengeID   string            `json:"challenge_id"`
	Actions       []faceauth.Action `json:"actions"`
	Instructions  []string          `json:"instructions"`
	MinFrames     int               `json:"min_frames"`
	MaxFrames     int               `json:"max_frames"`
	StepTimeoutMS int64             `json:"step_timeout_ms"`
	StallMS       int64             `json:"stall_timeout_ms"`
	FPS           int               `json:"fps"`
	FrameWidth    int               `json:"frame_width"`
	FrameHeight   int               `json:"frame_height"`
}

// streamProgress is sent after each frame.
type streamProgress struct {
	Type      string `json:"type"` // "progress"
	Frame     int    `json:"frame"`
	StepsSeen int    `json:"steps_seen"`
}

// streamHooks are what the login flow and the account page do around a
// streamed answer: begin counts an attempt (nil: nothing to count),
// decided handles a decision and returns the response (or an error to
// send), aborted records a stream ended without a decision.
type streamHooks struct {
	clientID, authRequestID, sessionID string
	decided                            func(ctx context.Context, out *face.Outcome) (any, *webapi.Error)
	// refused is called when the stream ends without a decision after
	// frames were analysed (reason: an abort reason or the refusal's
	// code); counted says whether any frame had been analysed.
	refused func(ctx context.Context, reason string, counted bool)
}

// serveStream runs one streamed answer on an accepted connection.
func (f *Factor) serveStream(w http.ResponseWriter, r *http.Request, h streamHooks) {
	conn, err := websocket.Accept(w, r, nil) // Origin must match Host
	if err != nil {
		return // Accept wrote the error
	}
	defer conn.CloseNow()
	ctx := callerContext(r, h.clientID)
	lim := f.svc.Limits()
	conn.SetReadLimit(max(lim.MaxFrameBytes+4, streamControlBytes))
	s := &streamConn{conn: conn, f: f, in: make(chan inMsg, 1), stop: make(chan struct{})}
	defer close(s.stop)
	go s.readLoop(ctx)

	var start streamMsg
	if e := s.readControl(ctx, startTimeout, &start); e != nil || start.Type != "start" || start.ChallengeID == "" {
		if e == nil {
			e = errBadRequest(face.AbortInvalid, `The first message must be {"type":"start","challenge_id":…}.`)
		}
		s.fail(ctx, e)
		return
	}
	ans, err := f.svc.BeginStream(ctx, start.ChallengeID, h.authRequestID, h.sessionID, faceauth.Options{Mirrored: start.Mirrored})
	if err != nil {
		e, known := f.serviceError(err)
		if !known {
			f.log.ErrorContext(ctx, "begin face stream", "err", err)
		}
		h.refused(ctx, e.Code, false)
		s.fail(ctx, e)
		return
	}
	defer ans.Close()
	ch := ans.Challenge()
	started := streamStarted{Type: "started", ChallengeID: ch.ID, Actions: ch.Actions, MaxFrames: ans.MaxFrames(), MinFrames: lim.MinFrames,
		StepTimeoutMS: faceauth.StepTimeout.Milliseconds(), StallMS: stallTimeout.Milliseconds(),
		FPS: lim.FPS, FrameWidth: lim.FrameWidth, FrameHeight: lim.FrameHeight}
	for _, a := range ch.Actions {
		started.Instructions = append(started.Instructions, Instruction(a))
	}
	if s.send(ctx, started) != nil {
		ans.Abort(ctx, face.AbortClosed)
		h.refused(ctx, face.AbortClosed, false)
		return
	}

	frames := 0
	abort := func(e *webapi.Error) {
		ans.Abort(ctx, e.Code)
		h.refused(ctx, e.Code, frames > 0)
		s.fail(ctx, e)
	}
	for {
		if !f.flow.Now().Before(ch.ExpiresAt) {
			abort(&webapi.Error{Status: http.StatusGone, Code: face.AbortExpired, Desc: "The time for this face challenge ran out. Start the face check again."})
			return
		}
		typ, data, e := s.read(ctx, stallTimeout)
		if e != nil {
			abort(e)
			return
		}
		if typ == websocket.MessageText {
			var m streamMsg
			if json.Unmarshal(data, &m) != nil || m.Type != "finish" {
				abort(errBadRequest(face.AbortInvalid, `Only {"type":"finish"} may follow the frames.`))
				return
			}
			break
		}
		if len(data) < 4 {
			abort(errBadRequest(face.AbortInvalid, "A frame message is a 4-byte sequence number and an image."))
			return
		}
		if seq := binary.BigEndian.Uint32(data); seq != uint32(frames) {
			abort(errBadRequest(face.AbortOutOfOrder, fmt.Sprintf("Frame %d arrived where frame %d was due; frames must be sent in order, once each.", seq, frames)))
			return
		}
		p, err := ans.Push(ctx, data[4:])
		if err != nil {
			e, known := f.serviceError(err)
			if !known {
				f.log.ErrorContext(ctx, "face stream frame", "err", err)
			}
			if errors.Is(err, faceauth.ErrStreamClosed) {
				e = errBadRequest(face.AbortInvalid, "The stream is over.")
			}
			abort(e)
			return
		}
		frames++
		if p.Refusal != nil {
			break // this frame cannot pass: decide now, which refuses it
		}
		if s.send(ctx, streamProgress{Type: "progress", Frame: p.Frame, StepsSeen: p.StepsSeen}) != nil {
			abort(errBadRequest(face.AbortClosed, "The connection closed before the end of the challenge."))
			return
		}
	}
	out, err := ans.Finish(ctx)
	if err != nil {
		e, known := f.serviceError(err)
		if !known {
			f.log.ErrorContext(ctx, "finish face stream", "err", err)
		}
		h.refused(ctx, e.Code, frames > 0)
		s.fail(ctx, e)
		return
	}
	resp, e := h.decided(ctx, out)
	if e != nil {
		s.fail(ctx, e)
		return
	}
	_ = s.send(ctx, resp)
	conn.Close(websocket.StatusNormalClosure, "")
}

// readStreamError names why a read failed: an oversized message or a
// closed connection.
func readStreamError(err error) *webapi.Error {
	if strings.Contains(err.Error(), "read limited at") || websocket.CloseStatus(err) == websocket.StatusMessageTooBig {
		return &webapi.Error{Status: http.StatusRequestEntityTooLarge, Code: face.AbortTooLarge, Desc: "A message is larger than a frame may be."}
	}
	return errBadRequest(face.AbortClosed, "The connection closed before the end of the challenge.")
}

// streamConn reads and writes the protocol's messages. Reads run in their
// own goroutine (readLoop) so that a stall is noticed by a timer while the
// connection stays open to say so: a read whose context ends would close
// the connection first.
type streamConn struct {
	conn *websocket.Conn
	f    *Factor
	in   chan inMsg
	stop chan struct{}
}

// inMsg is one message read, or the read's error.
type inMsg struct {
	typ  websocket.MessageType
	data []byte
	err  error
}

// readLoop reads messages until an error or until the handler returns.
func (s *streamConn) readLoop(ctx context.Context) {
	for {
		typ, data, err := s.conn.Read(ctx)
		select {
		case s.in <- inMsg{typ, data, err}:
		case <-s.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// read returns the next message, or the error that ends the stream: a
// stall of timeout, or the read's own.
func (s *streamConn) read(ctx context.Context, timeout time.Duration) (websocket.MessageType, []byte, *webapi.Error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case m := <-s.in:
		if m.err != nil {
			return 0, nil, readStreamError(m.err)
		}
		return m.typ, m.data, nil
	case <-t.C:
		return 0, nil, &webapi.Error{Status: http.StatusRequestTimeout, Code: face.AbortStalled,
			Desc: fmt.Sprintf("Nothing arrived for %d seconds; the face check stopped. Check your connection and try again.", int(timeout/time.Second))}
	case <-ctx.Done():
		return 0, nil, errBadRequest(face.AbortClosed, "The connection closed before the end of the challenge.")
	}
}

func (s *streamConn) send(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, stallTimeout)
	defer cancel()
	return s.conn.Write(wctx, websocket.MessageText, b)
}

// readControl reads one text message into v within timeout.
func (s *streamConn) readControl(ctx context.Context, timeout time.Duration, v any) *webapi.Error {
	typ, data, e := s.read(ctx, timeout)
	if e != nil {
		return e
	}
	if typ != websocket.MessageText || len(data) > streamControlBytes || json.Unmarshal(data, v) != nil {
		return errBadRequest(face.AbortInvalid, "Expected a JSON text message.")
	}
	return nil
}

// fail sends the API error body as an "error" message and closes.
func (s *streamConn) fail(ctx context.Context, e *webapi.Error) {
	body := e.Body()
	body["type"], body["status"] = "error", e.Status
	if e.RetryAfter > 0 {
		body["retry_after"] = webapi.RetrySeconds(e.RetryAfter)
	}
	_ = s.send(ctx, body)
	code := websocket.StatusPolicyViolation
	if e.Status >= 500 {
		code = websocket.StatusTryAgainLater
	}
	s.conn.Close(code, truncate(e.Code, 100))
}

// --- login flow and account page ------------------------------------------------

// flowStream is the streamed answer of a sign-in's face step: a
// verification is a throttled attempt like the one-shot answer.
func (f *Factor) flowStream(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fl, att := f.beginFlowAnswer(w, r)
	if fl == nil {
		return
	}
	counted := false
	defer func() {
		if !counted {
			f.releaseAttempt(ctx, att)
		}
	}()
	f.serveStream(w, r, streamHooks{
		clientID: fl.Client.ID, authRequestID: fl.Request.ID, sessionID: fl.Request.BrowserBinding,
		decided: func(ctx context.Context, out *face.Outcome) (any, *webapi.Error) {
			resp := resultResponse(out)
			if !out.Passed() {
				counted = true
				if e := f.recordFailure(ctx, fl, att, out, &resp); e != nil {
					return nil, e
				}
				return typedResult(&resp), nil
			}
			// The stream cannot set the session cookie: the page continues
			// the sign-in at .../complete with a ticket for this pass.
			ticket, err := f.svc.PassTicket(out, fl.Request.ID, fl.Request.BrowserBinding)
			if err != nil {
				f.log.ErrorContext(ctx, "face pass ticket", "err", err)
				return nil, errInternal
			}
			resp.Next = completePath + "?authRequestID=" + url.QueryEscape(fl.Request.ID) + "&ticket=" + url.QueryEscape(ticket)
			return typedResult(&resp), nil
		},
		refused: func(ctx context.Context, reason string, framesSeen bool) {
			// Once frames were judged the page has seen progress: ending the
			// stream then, by any route, is a failed attempt, or a stream
			// could learn which movements pass and be dropped for free.
			if !framesSeen || att == nil {
				return
			}
			counted = true
			if err := f.flow.Fail(context.WithoutCancel(ctx), fl, att, reason, map[string]any{"streamed": true}); err != nil {
				var te *idp.ThrottledError
				if !errors.As(err, &te) {
					f.log.ErrorContext(ctx, "record failed face attempt", "err", err)
				}
			}
		},
	})
}

// completePath continues a sign-in after a streamed pass.
const completePath = "/login/face/complete"

// flowComplete continues the sign-in with a streamed pass's ticket. The
// ticket is bound to this sign-in and browser; once used, the flow has
// moved past the face step and the ticket is refused.
func (f *Factor) flowComplete(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	fl, err := f.flow.LoadFactor(r, id, f.AMR())
	if err != nil {
		f.flow.RenderError(w, r, err)
		return
	}
	userID, purpose, err := f.svc.RedeemTicket(r.URL.Query().Get("ticket"), fl.Request.ID, fl.Request.BrowserBinding)
	want := models.FacePurposeVerify
	if fl.Request.Step == models.StepFaceEnrol {
		want = models.FacePurposeEnrol
	}
	if err != nil || fl.User == nil || userID != fl.User.ID || purpose != want {
		f.flow.Audit(r.Context(), fl, "login.face", "failure", "pass ticket refused", nil)
		f.flow.RenderError(w, r, &idp.FlowError{Status: http.StatusBadRequest, Message: "This face check result is not valid for this sign-in. Go back and try again."})
		return
	}
	next, err := f.flow.Advance(w, r, fl, f.AMR())
	if err != nil {
		f.flow.RenderError(w, r, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// typedResult is a result body with "type":"result".
func typedResult(resp *answerResponse) any {
	return struct {
		Type string `json:"type"`
		*answerResponse
	}{"result", resp}
}

func (f *Factor) accountStream(w http.ResponseWriter, r *http.Request) {
	sess, u, e := f.accountUser(r)
	if e != nil {
		webapi.WriteError(w, e)
		return
	}
	f.serveStream(w, r, streamHooks{
		sessionID: sess.ID,
		decided: func(ctx context.Context, out *face.Outcome) (any, *webapi.Error) {
			resp := f.accountDecided(r, u, out)
			return typedResult(&resp), nil
		},
		refused: func(context.Context, string, bool) {},
	})
}
