package passkeyweb

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/faceidp/faceidp/factors/passkey"
	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/idp/webapi"
	"github.com/faceidp/faceidp/models"
)

// The passkeys part of the account page (idp.AccountPath): the list, the
// re-authentication with a passkey, registration, renaming and removal.

const (
	accountKey  = "Passkeys"
	managePath  = "/login/passkey/manage/"
	dateLayout  = "2 Jan 2006 15:04 MST"
	doneAdded   = "passkey_added"
	doneRenamed = "passkey_renamed"
	doneRemoved = "passkey_removed"
)

// accountView is the data of the account page's passkeys section
// (templates/account.html, .Passkeys).
type accountView struct {
	Items                         []passkeyView
	Full                          bool
	ReauthBegin, ReauthFinish     string
	RegisterBegin, RegisterFinish string
}

type passkeyView struct {
	ID, Name, AAGUID, Created, LastUsed string
	// Synced is the backup eligible flag (BE), BackedUp the backup state
	// (BS) at the latest use.
	Synced, BackedUp       bool
	RenamePath, RemovePath string
}

// AccountSection lists the user's passkeys for the account page.
func (p *Surface) AccountSection(ctx context.Context, u *models.User) (string, any, error) {
	ps, err := p.svc.List(ctx, u.ID)
	if err != nil {
		return "", nil, err
	}
	v := accountView{
		Full:        len(ps) >= p.svc.RelyingParty().MaxPerUser,
		ReauthBegin: "/login/passkey/reauth/begin", ReauthFinish: "/login/passkey/reauth/finish",
		RegisterBegin: "/login/passkey/register/begin", RegisterFinish: "/login/passkey/register/finish",
	}
	for _, k := range ps {
		pv := passkeyView{ID: k.ID, Name: k.Name, Created: k.CreatedAt.UTC().Format(dateLayout),
			Synced: k.BackupEligible, BackedUp: k.BackupState,
			RenamePath: managePath + url.PathEscape(k.ID) + "/rename", RemovePath: managePath + url.PathEscape(k.ID) + "/delete"}
		if k.AAGUID != "" && k.AAGUID != "00000000-0000-0000-0000-000000000000" {
			pv.AAGUID = k.AAGUID
		}
		if k.LastUsedAt != nil {
			pv.LastUsed = k.LastUsedAt.UTC().Format(dateLayout)
		}
		v.Items = append(v.Items, pv)
	}
	return accountKey, v, nil
}

// signedIn returns the browser's session and user, or writes 401.
func (p *Surface) signedIn(w http.ResponseWriter, r *http.Request) (*models.Session, *models.User, bool) {
	sess, u := p.ctl.SignedIn(r)
	if sess == nil {
		writeError(w, errNotSignedIn)
		return nil, nil, false
	}
	return sess, u, true
}

// mayChange checks that the browser re-authenticated lately and, for
// adding a passkey, that the session is strong enough.
func (p *Surface) mayChange(r *http.Request, sess *models.Session, u *models.User, adding bool) *webapi.Error {
	if !p.ctl.Reauthenticated(r, sess) {
		return errReauth
	}
	if adding {
		if err := p.ctl.MayAddAuthenticator(r, sess, u); err != nil {
			if e := flowError(err); e != nil {
				return e
			}
			p.log.ErrorContext(r.Context(), "account strength", "err", err)
			return errUnavailable
		}
	}
	return nil
}

func (p *Surface) reauthBegin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sess, u, ok := p.signedIn(w, r)
	if !ok {
		return
	}
	if e := p.rateLimit(ctx); e != nil {
		writeError(w, e)
		return
	}
	c, err := p.svc.BeginUserLogin(ctx, sessionBinding(sess), u)
	p.writeCeremony(w, r, "begin passkey re-authentication", c, err)
}

// reauthFinish confirms it is the user with one of their passkeys; a
// refusal counts in the user's passkey throttle counter.
func (p *Surface) reauthFinish(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sess, u, ok := p.signedIn(w, r)
	if !ok {
		return
	}
	var in finishRequest
	if e := readJSON(r, &in); e != nil {
		writeError(w, e)
		return
	}
	att, err := p.ctl.Throttle().Begin(ctx, throttle.Account(u.ID, throttle.FactorPasskey))
	var refused *throttle.Refused
	if errors.As(err, &refused) {
		p.ctl.AuditUser(ctx, u.ID, "reauth."+throttle.FactorPasskey, "failure", "throttled", nil)
		writeError(w, &webapi.Error{Status: http.StatusTooManyRequests, Code: "passkey_throttled",
			Desc: "Too many failed passkey attempts. Try again later.", RetryAfter: refused.Wait(p.ctl.Now())})
		return
	}
	if err != nil {
		p.log.ErrorContext(ctx, "passkey throttle", "err", err)
		writeError(w, errUnavailable)
		return
	}
	defer func() { _ = att.Release(context.WithoutCancel(ctx)) }()
	a, err := p.svc.FinishLogin(callerContext(r, ""), in.CeremonyID, sessionBinding(sess), in.Credential)
	var fail *passkey.Failure
	switch {
	case errors.As(err, &fail) && judged(fail):
		p.ctl.AuditUser(ctx, u.ID, "reauth."+throttle.FactorPasskey, "failure", fail.Err.Error(), map[string]any{"passkey": fail.PasskeyID})
		if _, err := att.Fail(ctx); err != nil {
			p.log.ErrorContext(ctx, "count failed passkey", "err", err)
		}
		if errors.Is(fail, passkey.ErrCounterRegressed) {
			writeError(w, errCloneRefused)
		} else {
			writeError(w, errRefused)
		}
		return
	case err != nil:
		if e := ceremonyError(err); e != nil {
			writeError(w, e)
			return
		}
		p.log.ErrorContext(ctx, "finish passkey re-authentication", "err", err)
		writeError(w, errUnavailable)
		return
	}
	if a.User.ID != u.ID {
		writeError(w, errRefused) // the ceremony allows only u's passkeys: never reached
		return
	}
	if err := att.Succeed(ctx); err != nil {
		p.log.ErrorContext(ctx, "reset passkey throttle", "err", err)
	}
	if err := p.ctl.MarkReauthenticated(w, r, sess, u, throttle.FactorPasskey); err != nil {
		p.log.ErrorContext(ctx, "mark re-authenticated", "err", err)
		writeError(w, errUnavailable)
		return
	}
	webapi.WriteJSON(w, http.StatusOK, map[string]string{"next": idp.AccountPath + "?done=reauth"})
}

func (p *Surface) registerBegin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sess, u, ok := p.signedIn(w, r)
	if !ok {
		return
	}
	if e := p.mayChange(r, sess, u, true); e != nil {
		writeError(w, e)
		return
	}
	if e := p.rateLimit(ctx); e != nil {
		writeError(w, e)
		return
	}
	c, err := p.svc.BeginRegistration(ctx, u, sessionBinding(sess))
	p.writeCeremony(w, r, "begin passkey registration", c, err)
}

func (p *Surface) registerFinish(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sess, u, ok := p.signedIn(w, r)
	if !ok {
		return
	}
	if e := p.mayChange(r, sess, u, true); e != nil {
		writeError(w, e)
		return
	}
	var in finishRequest
	if e := readJSON(r, &in); e != nil {
		writeError(w, e)
		return
	}
	_, err := p.svc.FinishRegistration(callerContext(r, ""), u, in.CeremonyID, sessionBinding(sess), in.Name, in.Credential)
	if err != nil {
		if errors.Is(err, passkey.ErrVerification) {
			writeError(w, &webapi.Error{Status: http.StatusBadRequest, Code: "passkey_refused", Desc: "The new passkey could not be verified. Try again."})
			return
		}
		if e := ceremonyError(err); e != nil {
			writeError(w, e)
			return
		}
		p.log.ErrorContext(ctx, "finish passkey registration", "err", err)
		writeError(w, errUnavailable)
		return
	}
	webapi.WriteJSON(w, http.StatusOK, map[string]string{"next": idp.AccountPath + "?done=" + doneAdded})
}

// manage runs a form action on one of the user's passkeys and returns to
// the account page.
func (p *Surface) manage(w http.ResponseWriter, r *http.Request, act func(ctx context.Context, u *models.User, id string) error, done string) {
	ctx := r.Context()
	sess, u := p.ctl.SignedIn(r)
	if sess == nil {
		p.ctl.RenderError(w, r, &idp.FlowError{Status: http.StatusUnauthorized, Message: "You are not signed in."})
		return
	}
	if e := p.mayChange(r, sess, u, false); e != nil {
		p.ctl.RenderError(w, r, &idp.FlowError{Status: e.Status, Message: e.Desc})
		return
	}
	if err := r.ParseForm(); err != nil {
		p.ctl.RenderError(w, r, &idp.FlowError{Status: http.StatusBadRequest, Message: "The form could not be read."})
		return
	}
	if err := act(callerContext(r, ""), u, r.PathValue("id")); err != nil {
		if e := ceremonyError(err); e != nil {
			p.ctl.RenderError(w, r, &idp.FlowError{Status: e.Status, Message: e.Desc})
			return
		}
		p.log.ErrorContext(ctx, "manage passkey", "err", err)
		p.ctl.RenderError(w, r, idp.ErrUnavailable)
		return
	}
	http.Redirect(w, r, idp.AccountPath+"?done="+done, http.StatusSeeOther)
}

func (p *Surface) rename(w http.ResponseWriter, r *http.Request) {
	p.manage(w, r, func(ctx context.Context, u *models.User, id string) error {
		return p.svc.Rename(ctx, u.ID, id, strings.TrimSpace(r.PostForm.Get("name")))
	}, doneRenamed)
}

func (p *Surface) remove(w http.ResponseWriter, r *http.Request) {
	p.manage(w, r, func(ctx context.Context, u *models.User, id string) error {
		return p.svc.Remove(ctx, u.ID, id)
	}, doneRemoved)
}
