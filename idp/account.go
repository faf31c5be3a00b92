package idp

// The account page (/login/account/): where a signed-in user sees and
// manages how they sign in: the face template (re-enrol or delete on the
// face factor's page), passkeys (the passkey surface's part, see
// AccountSection) and recovery codes. Changing anything needs a fresh
// re-authentication (the password, or a passkey through the passkey
// surface) within ReauthTTL; adding something that can stand in for a
// factor (a passkey, recovery codes) also needs a session as strong as the
// user's own sign-in (see MayAddAuthenticator).
//
//	GET  /login/account/                  the page
//	POST /login/account/reauth            form: password
//	POST /login/account/recovery-codes    generate a new set (shown once)

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/faceidp/faceidp/factors/auditlog"
	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/models"
)

// AccountPath is the account page.
const AccountPath = "/login/account/"

// ErrStepUpRequired: the session is weaker than the user's own sign-in
// (it did not pass face, though the user has a face template), so it may
// not add a way to sign in.
var ErrStepUpRequired = &FlowError{http.StatusForbidden, "Your account uses face sign-in, but this browser signed in without it. Sign in to an application again with your face, then come back here."}

// AccountSection is implemented by a factor's surface that has a part on
// the account page (idp/passkeyweb: the user's passkeys). The page
// template finds Data under Key.
type AccountSection interface {
	AccountSection(ctx context.Context, u *models.User) (key string, data any, err error)
}

func (s *Server) mountAccount(mux *http.ServeMux) {
	mux.HandleFunc("GET /login/account/{$}", s.accountPage)
	mux.HandleFunc("POST /login/account/reauth", s.accountReauth)
	mux.HandleFunc("POST /login/account/recovery-codes", s.accountRecoveryCodes)
}

// accountView is what the page shows besides the sections.
type accountView struct {
	status int
	Notice string
	Error  string
	// Codes are freshly generated recovery codes, shown once.
	Codes []string
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) {
	var v accountView
	switch r.URL.Query().Get("done") {
	case "reauth":
		v.Notice = "Confirmed. You can change your sign-in methods for the next few minutes."
	case "passkey_added":
		v.Notice = "Your passkey was added. You can use it to sign in instead of your password."
	case "passkey_renamed":
		v.Notice = "Your passkey was renamed."
	case "passkey_removed":
		v.Notice = "Your passkey was removed. It can no longer sign in."
	}
	s.renderAccount(w, r, v)
}

func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, v accountView) {
	ctx := r.Context()
	sess, u := s.currentSession(ctx, r)
	if sess == nil {
		s.renderError(w, r, http.StatusUnauthorized, "You are not signed in. Sign in to an application with your faceidp account, then open this page again.")
		return
	}
	fc := &flowControl{s: s}
	data := map[string]any{
		"Username":       u.Username,
		"Name":           u.Name,
		"SessionAMR":     sess.AMR,
		"SessionTime":    sess.AuthTime.UTC().Format("2 Jan 2006 15:04 MST"),
		"Reauthed":       fc.Reauthenticated(r, sess),
		"ReauthMinutes":  int(ReauthTTL / time.Minute),
		"Notice":         v.Notice,
		"Error":          v.Error,
		"Codes":          v.Codes,
		"HasPassword":    u.PasswordHash != "",
		"StepUpRequired": fc.MayAddAuthenticator(r, sess, u) != nil,
	}
	if face, ok := s.factors[policy.AMRFace]; ok {
		enrolled, err := face.Enrolled(ctx, u.ID)
		if err != nil {
			s.log.ErrorContext(ctx, "face enrolment status", "err", err)
			s.renderFlowError(w, r, ErrUnavailable)
			return
		}
		data["Face"] = map[string]any{"Enrolled": enrolled, "Path": "/login/" + policy.AMRFace + "/account"}
	}
	if s.opts.Recovery != nil {
		st, err := s.opts.Recovery.Remaining(ctx, u.ID)
		if err != nil {
			s.log.ErrorContext(ctx, "recovery codes status", "err", err)
			s.renderFlowError(w, r, ErrUnavailable)
			return
		}
		rec := map[string]any{"Remaining": st.Remaining, "Stale": st.Stale, "HasSet": !st.Generated.IsZero()}
		if !st.Generated.IsZero() {
			rec["Generated"] = st.Generated.UTC().Format("2 Jan 2006")
		}
		data["Recovery"] = rec
	}
	for _, f := range s.opts.FirstFactors {
		if sec, ok := f.(AccountSection); ok {
			key, d, err := sec.AccountSection(ctx, u)
			if err != nil {
				s.log.ErrorContext(ctx, "account page section", "factor", f.Name(), "err", err)
				s.renderFlowError(w, r, ErrUnavailable)
				return
			}
			data[key] = d
		}
	}
	status := v.status
	if status == 0 {
		status = http.StatusOK
	}
	s.render(w, r, status, "account", data)
}

func (s *Server) accountReauth(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sess, u := s.currentSession(ctx, r)
	if sess == nil {
		s.renderAccount(w, r, accountView{})
		return
	}
	if err := r.ParseForm(); err != nil {
		s.renderAccount(w, r, accountView{status: http.StatusBadRequest, Error: "The form could not be read."})
		return
	}
	pw := r.PostForm.Get("password")
	if pw == "" {
		s.renderAccount(w, r, accountView{status: http.StatusBadRequest, Error: "Enter your password to confirm it is you."})
		return
	}
	err := (&flowControl{s: s}).Reauthenticate(w, r, sess, u, pw)
	var fe *FlowError
	var te *ThrottledError
	switch {
	case err == nil:
		http.Redirect(w, r, AccountPath+"?done=reauth", http.StatusSeeOther)
	case errors.As(err, &te):
		w.Header().Set("Retry-After", retryAfterSeconds(te.Wait))
		s.renderAccount(w, r, accountView{status: http.StatusTooManyRequests, Error: te.Message()})
	case errors.As(err, &fe):
		s.renderAccount(w, r, accountView{status: fe.Status, Error: fe.Message})
	default:
		s.log.ErrorContext(ctx, "re-authenticate", "err", err)
		s.renderFlowError(w, r, ErrUnavailable)
	}
}

// accountRecoveryCodes makes a new set of recovery codes, which replaces
// (invalidates) the old one, and shows it once.
func (s *Server) accountRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sess, u := s.currentSession(ctx, r)
	if sess == nil || s.opts.Recovery == nil {
		s.renderAccount(w, r, accountView{})
		return
	}
	fc := &flowControl{s: s}
	if !fc.Reauthenticated(r, sess) {
		s.renderAccount(w, r, accountView{status: http.StatusForbidden, Error: "Confirm it is you first (your password or a passkey), then generate the codes."})
		return
	}
	if err := fc.MayAddAuthenticator(r, sess, u); err != nil {
		s.audit(ctx, "account.recovery_generate", "failure", u.ID, "", "session weaker than the account's sign-in", map[string]any{"session_amr": sess.AMR})
		s.renderAccount(w, r, accountView{status: http.StatusForbidden, Error: ErrStepUpRequired.Message})
		return
	}
	codes, err := s.opts.Recovery.Generate(auditlog.WithCaller(ctx, auditlog.Caller{RemoteIP: RemoteIP(ctx)}), u.ID)
	if err != nil {
		s.log.ErrorContext(ctx, "generate recovery codes", "err", err)
		s.renderFlowError(w, r, ErrUnavailable)
		return
	}
	s.renderAccount(w, r, accountView{Codes: codes,
		Notice: "Your new recovery codes are below. Save them now: they are shown only this once, and your earlier codes no longer work."})
}

// MarkReauthenticated marks the browser as re-authenticated for sess for
// ReauthTTL, after a check made elsewhere (a passkey); method names it
// for the audit log.
func (fc *flowControl) MarkReauthenticated(w http.ResponseWriter, r *http.Request, sess *models.Session, u *models.User, method string) error {
	s := fc.s
	s.audit(r.Context(), "reauth."+method, "success", u.ID, "", "", nil)
	return s.setReauthCookie(w, r, sess)
}

// MayAddAuthenticator reports whether sess may add a way to sign in for
// u (a passkey, recovery codes): a user with a face template must have
// signed in with a multi-factor sign-in (amr "mfa") in this session, so
// that a stolen password alone cannot add a passkey or codes that later
// stand in for face. ErrStepUpRequired otherwise.
func (fc *flowControl) MayAddAuthenticator(r *http.Request, sess *models.Session, u *models.User) error {
	if slices.Contains(sess.AMR, policy.AMRMFA) {
		return nil
	}
	face, ok := fc.s.factors[policy.AMRFace]
	if !ok || fc.s.opts.FaceMode == policy.FaceOff {
		return nil
	}
	enrolled, err := face.Enrolled(r.Context(), u.ID)
	if err != nil {
		return err
	}
	if enrolled {
		return ErrStepUpRequired
	}
	return nil
}
