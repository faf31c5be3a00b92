package admin

import (
	"encoding/gob"
	"net/http"
)

// A one-time value (a generated password, a client secret, recovery
// codes) is shown after a redirect, from a flash in the encrypted session
// cookie, so reloading the page neither repeats the action nor shows the
// value again.

// onceView is what the one-time page shows.
type onceView struct {
	Notice, SecretLabel, Secret string
	Codes                       []string
}

func init() { gob.Register(onceView{}) }

const onceKey = "once"

// showOnce keeps v's one-time values for the next GET /admin/once.
func (c *console) showOnce(w http.ResponseWriter, r *http.Request, v *view) error {
	s, err := c.cookies.Get(r, sessionCookie)
	if err != nil {
		return err
	}
	s.AddFlash(onceView{Notice: v.Notice, SecretLabel: v.SecretLabel, Secret: v.Secret, Codes: v.Codes}, onceKey)
	if err := s.Save(r, w); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/once", http.StatusSeeOther)
	return nil
}

// once shows the one-time values once.
func (c *console) once(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Page = "secret"
	if s, err := c.cookies.Get(r, sessionCookie); err == nil {
		fl := s.Flashes(onceKey)
		if err := s.Save(r, w); err != nil {
			return err
		}
		if len(fl) > 0 {
			if o, ok := fl[len(fl)-1].(onceView); ok {
				v.Notice, v.SecretLabel, v.Secret, v.Codes = o.Notice, o.SecretLabel, o.Secret, o.Codes
			}
		}
	}
	if v.Secret == "" && len(v.Codes) == 0 {
		v.Notice = "There is nothing to show: a one-time value is shown only once."
	}
	c.page(w, r, http.StatusOK, *v)
	return nil
}
