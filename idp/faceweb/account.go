package faceweb

import (
	"errors"
	"net/http"

	"github.com/faceidp/faceidp/factors/face"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/idp/webapi"
	"github.com/faceidp/faceidp/models"
)

// The account page (/login/face/account) lets a signed-in user re-enrol or
// delete their face template after entering their password again.

const accountPath = "/login/face/account"

func (f *Factor) accountPage(w http.ResponseWriter, r *http.Request) {
	msg := ""
	switch r.URL.Query().Get("done") {
	case "enrolled":
		msg = "Your face is enrolled. It will be asked for when you sign in."
		// After a streamed re-enrolment this is the first response that
		// can clear the re-authentication; forgetting it is harmless.
		f.account.ForgetReauthentication(w, r)
	case "deleted":
		msg = "Your face template was deleted."
	}
	f.renderAccount(w, r, msg, "")
}

// renderAccount shows the account page (always 200: flow.Render decides the
// status; the error text is what the user sees).
func (f *Factor) renderAccount(w http.ResponseWriter, r *http.Request, notice, errMsg string) {
	sess, u := f.account.SignedIn(r)
	if sess == nil {
		f.flow.RenderError(w, r, &idp.FlowError{Status: http.StatusUnauthorized, Message: "Sign in first: this page manages the face sign-in of a signed-in account."})
		return
	}
	enrolled, err := f.svc.Enrolled(r.Context(), u.ID)
	if err != nil {
		f.log.ErrorContext(r.Context(), "face enrolment status", "err", err)
		f.flow.RenderError(w, r, idp.ErrUnavailable)
		return
	}
	data := map[string]any{"Username": u.Username, "Enrolled": enrolled, "Notice": notice, "Error": errMsg}
	f.flow.Render(w, r, "face_account", data)
}

func (f *Factor) accountSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sess, u := f.account.SignedIn(r)
	if sess == nil {
		f.renderAccount(w, r, "", "")
		return
	}
	if err := r.ParseForm(); err != nil {
		f.renderAccount(w, r, "", "The form could not be read.")
		return
	}
	action := r.PostForm.Get("action")
	if action != "enrol" && action != "delete" {
		f.renderAccount(w, r, "", "Choose whether to enrol or delete your face.")
		return
	}
	pw := r.PostForm.Get("password")
	if pw == "" {
		f.renderAccount(w, r, "", "Enter your password to confirm it is you.")
		return
	}
	if err := f.account.Reauthenticate(w, r, sess, u, pw); err != nil {
		var fe *idp.FlowError
		var te *idp.ThrottledError
		switch {
		case errors.As(err, &te):
			f.renderAccount(w, r, "", te.Message())
		case errors.As(err, &fe):
			f.renderAccount(w, r, "", fe.Message)
		default:
			f.log.ErrorContext(ctx, "re-authenticate", "err", err)
			f.flow.RenderError(w, r, idp.ErrUnavailable)
		}
		return
	}
	if action == "delete" {
		if err := f.svc.DeleteTemplate(callerContext(r, ""), u.ID); err != nil {
			f.log.ErrorContext(ctx, "delete face template", "err", err)
			f.flow.RenderError(w, r, idp.ErrUnavailable)
			return
		}
		f.account.AuditUser(ctx, u.ID, "account.face_delete", "success", "", nil)
		f.account.ForgetReauthentication(w, r)
		http.Redirect(w, r, accountPath+"?done=deleted", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, accountPath+"/enrol", http.StatusSeeOther)
}

// accountUser returns the signed-in, recently re-authenticated user.
func (f *Factor) accountUser(r *http.Request) (*models.Session, *models.User, *webapi.Error) {
	sess, u := f.account.SignedIn(r)
	if sess == nil {
		return nil, nil, &webapi.Error{Status: http.StatusUnauthorized, Code: "not_signed_in", Desc: "Sign in first."}
	}
	if !f.account.Reauthenticated(r, sess) {
		return nil, nil, &webapi.Error{Status: http.StatusForbidden, Code: "reauth_required", Desc: "Enter your password again on the account page first."}
	}
	return sess, u, nil
}

func (f *Factor) accountEnrolPage(w http.ResponseWriter, r *http.Request) {
	if _, _, e := f.accountUser(r); e != nil {
		http.Redirect(w, r, accountPath, http.StatusSeeOther)
		return
	}
	data := capturePage("Enrol your face",
		"Press the button to turn on your camera, keep your face inside the oval and follow the instructions. The new face replaces the old one.",
		"Start camera and enrol", string(models.FacePurposeEnrol), accountPath+"/", "")
	data["BackURL"], data["BackLabel"] = accountPath, "Back to your account"
	f.flow.Render(w, r, "face", data)
}

func (f *Factor) accountChallenge(w http.ResponseWriter, r *http.Request) {
	sess, u, e := f.accountUser(r)
	if e != nil {
		webapi.WriteError(w, e)
		return
	}
	// Outside a login flow the challenge is bound to the session alone.
	f.issue(w, r, u.ID, "", sess.ID, models.FacePurposeEnrol)
}

func (f *Factor) accountAnswer(w http.ResponseWriter, r *http.Request) {
	sess, u, e := f.accountUser(r)
	if e != nil {
		webapi.WriteError(w, e)
		return
	}
	out := f.answer(w, r, "", "", sess.ID)
	if out == nil {
		return
	}
	resp := f.accountDecided(r, u, out)
	if out.Passed() {
		f.account.ForgetReauthentication(w, r)
	}
	webapi.WriteJSON(w, http.StatusOK, resp)
}

// accountDecided is the answer to an account re-enrolment's decision
// (one-shot or streamed). The re-authentication is forgotten after a pass
// by the caller, or by the account page the pass leads to (a stream cannot
// set cookies).
func (f *Factor) accountDecided(r *http.Request, u *models.User, out *face.Outcome) answerResponse {
	resp := resultResponse(out)
	if out.Passed() {
		f.account.AuditUser(r.Context(), u.ID, "account.face_enrol", "success", "", nil)
		resp.Next = accountPath + "?done=enrolled"
	}
	return resp
}
