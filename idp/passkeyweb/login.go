package passkeyweb

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/faceidp/faceidp/factors/passkey"
	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/idp/webapi"
	"github.com/faceidp/faceidp/storage"
)

// The passkey first factor of a sign-in.

type beginRequest struct {
	Username    string `json:"username"`
	Conditional bool   `json:"conditional"`
}

type finishRequest struct {
	CeremonyID string          `json:"ceremony_id"`
	Name       string          `json:"name"`
	Credential json.RawMessage `json:"credential"`
}

// loadFlow loads the sign-in waiting for its first factor.
func (p *Surface) loadFlow(w http.ResponseWriter, r *http.Request) *idp.Flow {
	fl, err := p.ctl.LoadFirstFactor(r, r.URL.Query().Get("authRequestID"), p.Name())
	if err != nil {
		p.writeFlowError(w, r, err)
		return nil
	}
	return fl
}

func (p *Surface) writeFlowError(w http.ResponseWriter, r *http.Request, err error) {
	e := flowError(err)
	if e == nil {
		p.log.ErrorContext(r.Context(), "passkey sign-in", "err", err)
		e = errUnavailable
	}
	writeError(w, e)
}

func (p *Surface) loginBegin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fl := p.loadFlow(w, r)
	if fl == nil {
		return
	}
	var in beginRequest
	if e := readJSON(r, &in); e != nil {
		writeError(w, e)
		return
	}
	if e := p.rateLimit(ctx); e != nil {
		writeError(w, e)
		return
	}
	b := passkey.Binding{AuthRequestID: fl.Request.ID, Browser: fl.Request.BrowserBinding}
	var (
		c   *passkey.Ceremony
		err error
	)
	if name := strings.TrimSpace(in.Username); name != "" {
		// Username-first: only that account's passkeys may answer. A name
		// that is no account gets a ceremony nothing can complete.
		u, lerr := p.users.GetUserByLogin(ctx, name)
		switch {
		case errors.Is(lerr, storage.ErrNotFound):
			u = nil
		case lerr != nil:
			p.log.ErrorContext(ctx, "look up user", "err", lerr)
			writeError(w, errUnavailable)
			return
		}
		c, err = p.svc.BeginUserLogin(ctx, b, u)
	} else {
		c, err = p.svc.BeginDiscoverableLogin(ctx, b, in.Conditional)
	}
	p.writeCeremony(w, r, "begin passkey sign-in", c, err)
}

// loginFinish judges the authenticator's answer. The attempt is reserved
// in the throttle first: per source address always, and per account once
// the credential names its owner; only refusals about the credential
// (unknown, failed verification, counter regression) count.
func (p *Surface) loginFinish(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fl := p.loadFlow(w, r)
	if fl == nil {
		return
	}
	var in finishRequest
	if e := readJSON(r, &in); e != nil {
		writeError(w, e)
		return
	}
	if in.CeremonyID == "" || len(in.Credential) == 0 {
		writeError(w, errBadJSON)
		return
	}
	owner, err := p.svc.CredentialOwner(ctx, in.Credential)
	if err != nil {
		p.log.ErrorContext(ctx, "passkey owner", "err", err)
		writeError(w, errUnavailable)
		return
	}
	att, err := p.ctl.BeginFirstFactor(ctx, fl, throttle.FactorPasskey, owner)
	if err != nil {
		p.writeFlowError(w, r, err)
		return
	}
	release := func() {
		if err := att.Release(context.WithoutCancel(ctx)); err != nil {
			p.log.ErrorContext(ctx, "release passkey attempt", "err", err)
		}
	}
	b := passkey.Binding{AuthRequestID: fl.Request.ID, Browser: fl.Request.BrowserBinding}
	a, err := p.svc.FinishLogin(callerContext(r, fl.Client.ID), in.CeremonyID, b, in.Credential)
	var fail *passkey.Failure
	switch {
	case errors.As(err, &fail) && judged(fail):
		resp := errRefused
		if errors.Is(fail, passkey.ErrCounterRegressed) {
			resp = errCloneRefused
		}
		details := map[string]any{"passkey": fail.PasskeyID, "credential_amr": fail.AMR, "detail": fail.Detail}
		ferr := p.ctl.Fail(ctx, fl, att, fail.Err.Error(), details)
		var te *idp.ThrottledError
		if errors.As(ferr, &te) {
			e := *resp
			if te.Disabled {
				e.Desc += " " + te.Message()
			} else {
				e.Desc += " " + te.Message()
				e.RetryAfter = te.Wait
			}
			resp = &e
		} else if ferr != nil {
			p.log.ErrorContext(ctx, "count failed passkey", "err", ferr)
		}
		writeError(w, resp)
		return
	case err != nil:
		release()
		if e := ceremonyError(err); e != nil {
			writeError(w, e)
			return
		}
		p.log.ErrorContext(ctx, "finish passkey sign-in", "err", err)
		writeError(w, errUnavailable)
		return
	}
	details := map[string]any{"passkey": a.Passkey.ID, "user_verified": a.UserVerified, "backup_state": a.Passkey.BackupState}
	next, err := p.ctl.CompleteFirstFactor(w, r, fl, att, a.User, policy.PasskeyMethods(a.AMR, a.UserVerified), details)
	if err != nil {
		p.writeFlowError(w, r, err)
		return
	}
	webapi.WriteJSON(w, http.StatusOK, map[string]string{"next": next})
}
