package testidp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"

	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/models"
)

// FakeFace is a face second factor whose verdict the test picks and whose
// enrolment state it sets, so a flow through face is tested without the
// face engine (idp/faceweb's tests use the real one):
//
//	GET  /login/face/?authRequestID=ID  "fake face page"
//	POST /login/face/answer?result=pass&authRequestID=ID  passes (and
//	     enrols at the enrolment step) and answers the URL to go on to;
//	     any other result is a counted failure, 401.
type FakeFace struct {
	mu       sync.Mutex
	enrolled map[string]bool
}

// NewFakeFace is a FakeFace with nobody enrolled.
func NewFakeFace() *FakeFace { return &FakeFace{enrolled: map[string]bool{}} }

func (f *FakeFace) AMR() string { return policy.AMRFace }

func (f *FakeFace) Enrolled(_ context.Context, uid string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.enrolled[uid], nil
}

func (f *FakeFace) Path(step models.LoginStep, id string) string {
	return "/login/face/?step=" + string(step) + "&authRequestID=" + url.QueryEscape(id)
}

// Enrol marks uid as enrolled.
func (f *FakeFace) Enrol(uid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.enrolled[uid] = true
}

func (f *FakeFace) Mount(mux *http.ServeMux, flow idp.FlowControl) {
	mux.HandleFunc("GET /login/face/{$}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := flow.LoadFactor(r, r.URL.Query().Get("authRequestID"), f.AMR()); err != nil {
			flow.RenderError(w, r, err)
			return
		}
		fmt.Fprint(w, "fake face page")
	})
	mux.HandleFunc("POST /login/face/answer", func(w http.ResponseWriter, r *http.Request) {
		fl, err := flow.LoadFactor(r, r.URL.Query().Get("authRequestID"), f.AMR())
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		if r.URL.Query().Get("result") != "pass" {
			_ = flow.Fail(r.Context(), fl, nil, "no_match", nil)
			http.Error(w, "fail", http.StatusUnauthorized)
			return
		}
		if fl.Request.Step == models.StepFaceEnrol {
			f.Enrol(fl.User.ID)
		}
		next, err := flow.Advance(w, r, fl, f.AMR())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, next)
	})
}
