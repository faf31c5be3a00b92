package faceweb

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/models"
)

// skipPath is where the enrolment page's "Not now" form posts.
const skipPath = "/login/face/enrol/skip"

// capturePage is the data of templates/face.html. base is where the
// page's endpoints are (base+"challenge", "ready", "stream", "answer") and
// q their query string.
func capturePage(title, intro, start, purpose, base, q string) map[string]any {
	return map[string]any{
		"Title": title, "Intro": intro, "StartLabel": start, "Purpose": purpose,
		"ChallengeURL": base + "challenge" + q, "AnswerURL": base + "answer" + q,
		"ReadyURL": base + "ready" + q, "StreamURL": base + "stream" + q,
	}
}

func (f *Factor) verifyPage(w http.ResponseWriter, r *http.Request) {
	f.flowPage(w, r, models.StepSecondFactor)
}

func (f *Factor) enrolPage(w http.ResponseWriter, r *http.Request) {
	f.flowPage(w, r, models.StepFaceEnrol)
}

func (f *Factor) flowPage(w http.ResponseWriter, r *http.Request, step models.LoginStep) {
	id := r.URL.Query().Get("authRequestID")
	fl, err := f.flow.LoadFactor(r, id, f.AMR())
	if err != nil {
		f.flow.RenderError(w, r, err)
		return
	}
	if fl.EnrolledMeanwhile {
		// A streamed enrolment passed (see loadFlow): its ticket continues.
		f.flow.RenderError(w, r, idp.ErrFlowWrongStep)
		return
	}
	if fl.Request.Step != step {
		// The policy wants the other face step (e.g. enrolled meanwhile).
		http.Redirect(w, r, f.Path(fl.Request.Step, id), http.StatusSeeOther)
		return
	}
	if step == models.StepSecondFactor {
		// Face disabled for this user: say so and offer the way back rather
		// than a camera page whose every attempt is refused. (A mere wait
		// is shown by the page when it asks for a challenge.)
		var te *idp.ThrottledError
		if err := f.flow.CheckAttempt(r.Context(), fl, f.AMR()); errors.As(err, &te) && te.Disabled {
			f.flow.RenderError(w, r, te)
			return
		}
	}
	q := "?authRequestID=" + url.QueryEscape(id)
	var data map[string]any
	switch {
	case step == models.StepFaceEnrol && fl.Optional:
		data = capturePage("Set up face sign-in",
			"Add face sign-in to protect your account: after your password, a short live check with your camera. Press the button to turn on your camera, keep your face inside the oval and follow the instructions on the screen.",
			"Start camera and enrol", string(models.FacePurposeEnrol), "/login/face/", q)
		data["SkipURL"] = skipPath + q
		data["SkipDays"] = int(idp.EnrolPostponeTTL / (24 * time.Hour))
	case step == models.StepFaceEnrol:
		data = capturePage("Set up face sign-in",
			"This account needs face sign-in. Press the button to turn on your camera, keep your face inside the oval and follow the instructions on the screen.",
			"Start camera and enrol", string(models.FacePurposeEnrol), "/login/face/", q)
	default:
		data = capturePage("Verify your face",
			"Press the button to turn on your camera, keep your face inside the oval and follow the instructions on the screen.",
			"Start camera", string(models.FacePurposeVerify), "/login/face/", q)
		// Never a dead end: the fallbacks this user has (shown when the
		// camera fails, after a failed check, or when face is throttled).
		data["Fallback"] = true
		if label := fallbackLabel(fl.Fallbacks); label != "" {
			data["FallbackURL"], data["FallbackLabel"] = idp.FallbackPath(id), label
		}
	}
	name := fl.Client.Name
	if name == "" {
		name = fl.Client.ID
	}
	data["ClientName"] = name
	data["BackURL"], data["BackLabel"] = idp.CancelPath(id), "Return to "+name+" without signing in"
	f.flow.Render(w, r, "face", data)
}

// skipEnrol is the "Not now" of an offered enrolment (face mode optional):
// the sign-in continues with the first factor alone. Where face is
// required there is no skip.
func (f *Factor) skipEnrol(w http.ResponseWriter, r *http.Request) {
	fl, err := f.flow.LoadFactor(r, r.URL.Query().Get("authRequestID"), f.AMR())
	if err == nil && (fl.Request.Step != models.StepFaceEnrol || !fl.Optional) {
		f.flow.Audit(r.Context(), fl, "login.face_enrol_skipped", "failure", "skip refused: face is required", nil)
		err = &idp.FlowError{Status: http.StatusForbidden, Message: "Face sign-in is required for this account and cannot be skipped. Go back and set it up."}
	}
	if err != nil {
		f.flow.RenderError(w, r, err)
		return
	}
	next, err := f.flow.SkipEnrolment(w, r, fl, f.AMR())
	if err != nil {
		f.flow.RenderError(w, r, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// fallbackLabel names the fallbacks the face page links to ("" for none).
func fallbackLabel(fallbacks []string) string {
	code := slices.Contains(fallbacks, policy.AMRRecoveryCode)
	bypass := slices.Contains(fallbacks, policy.MethodFaceBypass)
	switch {
	case code && bypass:
		return "Use a recovery code or the face bypass your administrator granted"
	case code:
		return "Use a recovery code instead"
	case bypass:
		return "Use the face bypass your administrator granted"
	}
	return ""
}
