package faceweb

import (
	"bytes"
	"io"
	"net/http"
	"strings"

	"github.com/faceidp/faceidp/idp/webapi"
	"github.com/faceidp/faceidp/models"
)

// The get-ready check (POST .../ready): before a challenge starts, the
// capture page sends single frames as the request body (Content-Type
// image/jpeg or image/png) and the server says whether the picture is good
// enough to begin and what to fix. Bounded like every face upload: CSRF,
// the body size limit of one frame, a per-user rate (ReadyChecksPerMinute)
// and one engine admission per frame.

// DefaultReadyChecksPerMinute allows the page's two checks a second for a
// minute of getting ready.
const DefaultReadyChecksPerMinute = 120

// readyResponse is the body of a 200 from .../ready.
type readyResponse struct {
	Ready bool   `json:"ready"`
	Code  string `json:"code,omitempty"`
	Hint  string `json:"hint"`
}

// readFrameBody reads one frame sent as a request body.
func readFrameBody(r *http.Request, maxBytes int64) ([]byte, *webapi.Error) {
	ct, magic, ok := frameType(r.Header.Get("Content-Type"))
	if !ok {
		return nil, &webapi.Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_frame_type",
			Desc: "Send one frame as the body, with Content-Type image/jpeg or image/png."}
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
	if err != nil {
		return nil, readError(err)
	}
	if int64(len(b)) > maxBytes {
		return nil, &webapi.Error{Status: http.StatusRequestEntityTooLarge, Code: "frame_too_large",
			Desc: "The frame is too large."}
	}
	if !bytes.HasPrefix(b, magic) {
		return nil, &webapi.Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_frame_type",
			Desc: "The frame is not a " + strings.TrimPrefix(ct, "image/") + " image."}
	}
	return b, nil
}

// ready judges one get-ready frame for userID.
func (f *Factor) ready(w http.ResponseWriter, r *http.Request, userID, clientID string) {
	ctx := callerContext(r, clientID)
	lc, err := f.readyLimit.Get(ctx, "face-ready:"+userID)
	if err != nil {
		f.log.ErrorContext(ctx, "face ready rate limiter", "err", err)
	} else if lc.Reached {
		webapi.WriteError(w, &webapi.Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
			Desc: "Too many pictures were checked. Wait a minute and try again.", RetryAfter: f.opts.RetryAfter})
		return
	}
	frame, e := readFrameBody(r, f.svc.Limits().MaxFrameBytes)
	if e != nil {
		webapi.WriteError(w, e)
		return
	}
	rd, err := f.svc.CheckReady(ctx, frame)
	if err != nil {
		e, known := f.serviceError(err)
		if !known {
			f.log.ErrorContext(ctx, "face ready check", "err", err)
		}
		webapi.WriteError(w, e)
		return
	}
	webapi.WriteJSON(w, http.StatusOK, readyResponse{Ready: rd.Ready, Code: rd.Code, Hint: rd.Hint})
}

func (f *Factor) flowReady(w http.ResponseWriter, r *http.Request) {
	fl := f.loadFlow(w, r)
	if fl == nil {
		return
	}
	if fl.Request.Step != models.StepFaceEnrol {
		// Face throttled or disabled: say so before the person gets ready.
		if err := f.flow.CheckAttempt(r.Context(), fl, f.AMR()); err != nil {
			f.writeFlowError(w, r, fl, err)
			return
		}
	}
	f.ready(w, r, fl.User.ID, fl.Client.ID)
}

func (f *Factor) accountReady(w http.ResponseWriter, r *http.Request) {
	_, u, e := f.accountUser(r)
	if e != nil {
		webapi.WriteError(w, e)
		return
	}
	f.ready(w, r, u.ID, "")
}
