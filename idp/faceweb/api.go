package faceweb

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/factors/face"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/idp/webapi"
	"github.com/faceidp/faceidp/models"
)

// challengeResponse is the body of a 200 from .../challenge.
type challengeResponse struct {
	ChallengeID string            `json:"challenge_id"`
	Purpose     string            `json:"purpose"`
	Actions     []faceauth.Action `json:"actions"`
	// Instructions are the actions in words, in order.
	Instructions []string        `json:"instructions"`
	ExpiresAt    time.Time       `json:"expires_at"`
	ExpiresIn    int             `json:"expires_in"`
	Limits       faceauth.Limits `json:"limits"`
}

// stepResponse is one judged step of an answer.
type stepResponse struct {
	Action faceauth.Action `json:"action"`
	Passed bool            `json:"passed"`
}

// answerResponse is the body of a 200 from .../answer. Distances and
// scores are audited, not returned: they would help an attacker tune a
// spoof.
type answerResponse struct {
	Result  string         `json:"result"` // pass | fail
	Reason  string         `json:"reason"`
	Message string         `json:"message"`
	Steps   []stepResponse `json:"steps"`
	// Next is where the browser goes next when the flow can continue.
	Next string `json:"next,omitempty"`
	// RetryAfter, on a failure after which the user must wait, is how many
	// seconds until the next attempt may be made.
	RetryAfter int `json:"retry_after,omitempty"`
}

// Instruction is what the capture page tells the user for an action.
func Instruction(a faceauth.Action) string {
	switch a {
	case faceauth.ActionBlink:
		return "Blink"
	case faceauth.ActionSmile:
		return "Smile"
	case faceauth.ActionTurnLeft:
		return "Turn your head to your left"
	case faceauth.ActionTurnRight:
		return "Turn your head to your right"
	}
	return string(a)
}

// issue creates a challenge bound to (authRequestID, sessionID) and writes it.
func (f *Factor) issue(w http.ResponseWriter, r *http.Request, userID, authRequestID, sessionID string, purpose models.FacePurpose) {
	ctx := r.Context()
	if e := f.rateLimit(ctx, userID); e != nil {
		webapi.WriteError(w, e)
		return
	}
	ch, err := f.svc.IssueChallenge(ctx, userID, authRequestID, sessionID, purpose)
	if err != nil {
		e, known := f.serviceError(err)
		if !known {
			f.log.ErrorContext(ctx, "issue face challenge", "err", err)
		}
		webapi.WriteError(w, e)
		return
	}
	resp := challengeResponse{
		ChallengeID: ch.ID, Purpose: string(ch.Purpose), Actions: ch.Actions,
		ExpiresAt: ch.ExpiresAt.UTC(), ExpiresIn: int(ch.ExpiresAt.Sub(f.flow.Now()).Round(time.Second) / time.Second),
		Limits: f.svc.Limits(),
	}
	for _, a := range ch.Actions {
		resp.Instructions = append(resp.Instructions, Instruction(a))
	}
	webapi.WriteJSON(w, http.StatusOK, resp)
}

func (f *Factor) rateLimit(ctx context.Context, userID string) *webapi.Error {
	lc, err := f.limit.Get(ctx, "face:"+userID)
	if err != nil {
		f.log.ErrorContext(ctx, "face rate limiter", "err", err)
		return nil // a limiter failure does not lock everyone out
	}
	if lc.Reached {
		wait := time.Until(time.Unix(lc.Reset, 0))
		if wait < time.Second {
			wait = time.Second
		}
		return &webapi.Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
			Desc: "Too many face checks were started. Wait a minute and try again.", RetryAfter: wait}
	}
	return nil
}

// answer reads the upload and lets the service judge it for the sign-in
// of clientID ("" on the account page). It writes the error itself and
// returns nil on any refusal.
func (f *Factor) answer(w http.ResponseWriter, r *http.Request, clientID, authRequestID, sessionID string) *face.Outcome {
	ctx := callerContext(r, clientID)
	up, e := readUpload(r, f.svc.Limits())
	if e != nil {
		webapi.WriteError(w, e)
		return nil
	}
	out, err := f.svc.Answer(ctx, up.challengeID, authRequestID, sessionID, up.frames, faceauth.Options{Mirrored: up.mirrored})
	if err != nil {
		e, known := f.serviceError(err)
		if !known {
			f.log.ErrorContext(ctx, "answer face challenge", "err", err)
		}
		webapi.WriteError(w, e)
		return nil
	}
	return out
}

// callerContext is r's context carrying who asks (client and address, as
// the provider resolved it through its trusted proxies), so the face
// service's audit events record them.
func callerContext(r *http.Request, clientID string) context.Context {
	ip := idp.RemoteIP(r.Context())
	if ip == "" {
		var err error
		if ip, _, err = net.SplitHostPort(r.RemoteAddr); err != nil {
			ip = r.RemoteAddr
		}
	}
	return face.WithCaller(r.Context(), face.Caller{ClientID: clientID, RemoteIP: ip})
}

func resultResponse(out *face.Outcome) answerResponse {
	res := out.Result
	resp := answerResponse{Result: "fail", Reason: res.Reason, Message: res.Message, Steps: []stepResponse{}}
	if res.Pass {
		resp.Result = "pass"
		if out.Purpose == models.FacePurposeEnrol {
			resp.Message = "Your face is enrolled."
		} else {
			resp.Message = "Face verified."
		}
	}
	for _, s := range res.Steps {
		resp.Steps = append(resp.Steps, stepResponse{Action: s.Action, Passed: s.Passed})
	}
	if strings.TrimSpace(resp.Message) == "" {
		resp.Message = "The face check did not pass."
	}
	return resp
}

// decisionDetails are what a failed attempt's audit records: scores, never
// images or descriptors.
func decisionDetails(out *face.Outcome) map[string]any {
	steps := make([]map[string]any, len(out.Result.Steps))
	for i, s := range out.Result.Steps {
		steps[i] = map[string]any{"action": string(s.Action), "passed": s.Passed, "score": s.Score}
	}
	return map[string]any{
		"purpose": string(out.Purpose), "distance": out.Result.Distance,
		"similarity": out.Result.Similarity, // the second embedder's; null when it took no part
		"steps":      steps, "cues": out.Result.Cues, "frames": out.Result.Frames,
	}
}

// --- login flow ---------------------------------------------------------------

// loadFlow loads the sign-in waiting for face. A sign-in at the
// enrolment step whose user has enrolled meanwhile (a streamed enrolment
// that passed, see flowComplete) takes no further challenge: the pass
// ticket alone continues it.
func (f *Factor) loadFlow(w http.ResponseWriter, r *http.Request) *idp.Flow {
	fl, err := f.flow.LoadFactor(r, r.URL.Query().Get("authRequestID"), f.AMR())
	if err == nil && fl.EnrolledMeanwhile {
		err = idp.ErrFlowWrongStep
	}
	if err != nil {
		e := flowError(err)
		if e == errInternal {
			f.log.ErrorContext(r.Context(), "load face sign-in", "err", err)
		}
		webapi.WriteError(w, e)
		return nil
	}
	return fl
}

func (f *Factor) flowChallenge(w http.ResponseWriter, r *http.Request) {
	fl := f.loadFlow(w, r)
	if fl == nil {
		return
	}
	purpose := models.FacePurposeVerify
	if fl.Request.Step == models.StepFaceEnrol {
		purpose = models.FacePurposeEnrol
	} else if err := f.flow.CheckAttempt(r.Context(), fl, f.AMR()); err != nil {
		// Do not ask for a performance that could not be judged now.
		f.writeFlowError(w, r, fl, err)
		return
	}
	f.issue(w, r, fl.User.ID, fl.Request.ID, fl.Request.BrowserBinding, purpose)
}

// beginFlowAnswer loads the sign-in's flow for an answer to its face step.
// A verification is a throttled attempt (per user, per factor): it is
// reserved before anything is read, so parallel answers cannot slip past
// the limit. Enrolment is not an authentication attempt (att is nil).
// When fl is nil the request has been answered.
func (f *Factor) beginFlowAnswer(w http.ResponseWriter, r *http.Request) (fl *idp.Flow, att *idp.FactorAttempt) {
	fl = f.loadFlow(w, r)
	if fl == nil || fl.Request.Step == models.StepFaceEnrol {
		return fl, nil
	}
	att, err := f.flow.BeginAttempt(r.Context(), fl, f.AMR())
	if err != nil {
		f.writeFlowError(w, r, fl, err)
		return nil, nil
	}
	return fl, att
}

// releaseAttempt ends an attempt that was refused before a decision (bad
// upload, no usable face, busy engine, a stream cut short): nothing to
// count.
func (f *Factor) releaseAttempt(ctx context.Context, att *idp.FactorAttempt) {
	if err := att.Release(context.WithoutCancel(ctx)); err != nil {
		f.log.ErrorContext(ctx, "release face attempt", "err", err)
	}
}

func (f *Factor) flowAnswer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fl, att := f.beginFlowAnswer(w, r)
	if fl == nil {
		return
	}
	out := f.answer(w, r, fl.Client.ID, fl.Request.ID, fl.Request.BrowserBinding)
	if out == nil {
		f.releaseAttempt(ctx, att)
		return
	}
	resp := resultResponse(out)
	if !out.Passed() {
		if e := f.recordFailure(ctx, fl, att, out, &resp); e != nil {
			webapi.WriteError(w, e)
			return
		}
		webapi.WriteJSON(w, http.StatusOK, resp)
		return
	}
	next, err := f.flow.Advance(w, r, fl, f.AMR())
	if err != nil {
		e := flowError(err)
		if e == errInternal {
			f.log.ErrorContext(ctx, "continue sign-in after face", "err", err)
		}
		webapi.WriteError(w, e)
		return
	}
	resp.Next = next
	webapi.WriteJSON(w, http.StatusOK, resp)
}

// recordFailure counts a failed verification of the sign-in fl (one-shot
// or streamed) and adds any wait to resp; a failure that disables face is
// returned as the error to send instead of resp.
func (f *Factor) recordFailure(ctx context.Context, fl *idp.Flow, att *idp.FactorAttempt, out *face.Outcome, resp *answerResponse) *webapi.Error {
	if out.Purpose != models.FacePurposeVerify {
		return nil
	}
	err := f.flow.Fail(ctx, fl, att, out.Result.Reason, decisionDetails(out))
	var te *idp.ThrottledError
	switch {
	case errors.As(err, &te) && te.Disabled:
		te.CancelURL = idp.CancelPath(fl.Request.ID)
		return flowError(te)
	case errors.As(err, &te):
		// The next attempt must wait: say so with this result.
		resp.RetryAfter = webapi.RetrySeconds(te.Wait)
		resp.Message += " " + te.Message()
	case err != nil:
		f.log.ErrorContext(ctx, "record failed face attempt", "err", err)
	}
	return nil
}

// writeFlowError writes a flow error of the sign-in fl; a throttled or
// disabled face carries the way back to the application (cancel_url).
func (f *Factor) writeFlowError(w http.ResponseWriter, r *http.Request, fl *idp.Flow, err error) {
	var te *idp.ThrottledError
	if errors.As(err, &te) {
		te.CancelURL = idp.CancelPath(fl.Request.ID)
	}
	e := flowError(err)
	if e == errInternal {
		f.log.ErrorContext(r.Context(), "face sign-in", "err", err)
	}
	webapi.WriteError(w, e)
}
