package faceweb

import (
	"net/http"
	"net/url"

	"github.com/faceidp/faceidp/models"
)

// page is the data of templates/face.html.
func capturePage(title, intro, start, purpose, challengeURL, answerURL string) map[string]any {
	return map[string]any{
		"Title": title, "Intro": intro, "StartLabel": start, "Purpose": purpose,
		"ChallengeURL": challengeURL, "AnswerURL": answerURL,
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
	if fl.Request.Step != step {
		// The policy wants the other face step (e.g. enrolled meanwhile).
		http.Redirect(w, r, f.Path(fl.Request.Step, id), http.StatusSeeOther)
		return
	}
	q := "?authRequestID=" + url.QueryEscape(id)
	var data map[string]any
	if step == models.StepFaceEnrol {
		data = capturePage("Set up face sign-in",
			"This account needs face sign-in. Press the button to turn on your camera, keep your face inside the oval and follow the instructions on the screen.",
			"Start camera and enrol", string(models.FacePurposeEnrol), "/login/face/challenge"+q, "/login/face/answer"+q)
	} else {
		data = capturePage("Verify your face",
			"Press the button to turn on your camera, keep your face inside the oval and follow the instructions on the screen.",
			"Start camera", string(models.FacePurposeVerify), "/login/face/challenge"+q, "/login/face/answer"+q)
	}
	name := fl.Client.Name
	if name == "" {
		name = fl.Client.ID
	}
	data["ClientName"] = name
	f.flow.Render(w, r, "face", data)
}
