package admin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/faceidp/faceidp/idp/accounts"
	"github.com/faceidp/faceidp/models"
)

// userJSON is a user as the API shows it (never the password hash).
type userJSON struct {
	ID            string    `json:"id"`
	Username      string    `json:"username"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	Name          string    `json:"name"`
	Disabled      bool      `json:"disabled"`
	RequireFace   bool      `json:"require_face"`
	Admin         bool      `json:"admin"`
	CreatedAt     time.Time `json:"created_at"`
}

func userView(u *models.User) userJSON {
	return userJSON{u.ID, u.Username, u.Email, u.EmailVerified, u.Name, u.Disabled, u.RequireFace, u.Admin, u.CreatedAt}
}

func (s *apiServer) listUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	us, err := s.a.acc.SearchUsers(r.Context(), r.URL.Query().Get("q"), p)
	return writePage(w, p, us, err, userView)
}

func (s *apiServer) createUser(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Username      string `json:"username"`
		Email         string `json:"email"`
		Name          string `json:"name"`
		Password      string `json:"password"`
		EmailVerified bool   `json:"email_verified"`
		RequireFace   bool   `json:"require_face"`
		Admin         bool   `json:"admin"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	u, pw, err := s.a.acc.CreateUserWithPassword(r.Context(), accounts.NewUser{
		Username: in.Username, Email: in.Email, Name: in.Name, Password: in.Password,
		EmailVerified: in.EmailVerified, RequireFace: in.RequireFace, Admin: in.Admin,
	})
	if err != nil {
		return err
	}
	out := map[string]any{"user": userView(u)}
	if pw != "" {
		out["password"] = pw
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *apiServer) getUser(w http.ResponseWriter, r *http.Request) error {
	st, err := s.a.acc.UserFactorState(r.Context(), r.PathValue("user"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, factorStateView(st))
	return nil
}

func factorStateView(st *accounts.FactorState) map[string]any {
	out := map[string]any{"user": userView(&st.User)}
	var face map[string]any
	if f := st.Face; f != nil {
		face = map[string]any{
			"enrolled_at": f.EnrolledAt, "updated_at": f.UpdatedAt, "samples": f.Samples, "key_id": f.KeyID,
			"failures": f.Failures, "disabled": f.Disabled,
		}
		if f.LastVerification != nil {
			face["last_verification"] = auditView(f.LastVerification)
		}
	}
	out["face"] = face
	ths := make([]map[string]any, 0, len(st.Throttles))
	for _, t := range st.Throttles {
		m := map[string]any{"factor": t.Factor, "counter": t.Counter, "failures": t.Failures, "disabled": t.Disabled}
		if !t.RetryAt.IsZero() {
			m["retry_at"] = t.RetryAt
		}
		ths = append(ths, m)
	}
	out["throttles"] = ths
	pks := make([]map[string]any, 0, len(st.Passkeys))
	for _, p := range st.Passkeys {
		pks = append(pks, map[string]any{"id": p.ID, "name": p.Name, "aaguid": p.AAGUID, "user_verified": p.UserVerified,
			"backup_eligible": p.BackupEligible, "created_at": p.CreatedAt, "last_used_at": p.LastUsedAt})
	}
	out["passkeys"] = pks
	if rc := st.RecoveryCodes; rc != nil {
		out["recovery_codes"] = map[string]any{"remaining": rc.Remaining, "stale": rc.Stale, "generated_at": rc.Generated}
	}
	if b := st.Bypass; b != nil {
		out["face_bypass"] = map[string]any{"granted_by": b.GrantedBy, "reason": b.Reason, "created_at": b.CreatedAt, "expires_at": b.ExpiresAt}
	}
	return out
}

func (s *apiServer) grantBypass(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		TTL    string `json:"ttl"`
		Reason string `json:"reason"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	ttl, err := duration(in.TTL)
	if err != nil {
		return err
	}
	b, err := s.a.acc.GrantFaceBypass(r.Context(), r.PathValue("user"), in.Reason, ttl)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"expires_at": b.ExpiresAt, "granted_by": b.GrantedBy})
	return nil
}

func (s *apiServer) listFaces(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	fs, err := s.a.acc.ListFaceEnrolments(r.Context(), p)
	return writePage(w, p, fs, err, faceEnrolmentView)
}

func faceEnrolmentView(f *accounts.FaceEnrolment) map[string]any {
	return map[string]any{"user_id": f.UserID, "username": f.Username, "samples": f.Samples, "key_id": f.KeyID, "enrolled_at": f.EnrolledAt, "updated_at": f.UpdatedAt}
}

// clientJSON is a client as the API shows it (never the secret hash).
type clientJSON struct {
	ID                     string     `json:"id"`
	Name                   string     `json:"name"`
	Public                 bool       `json:"public"`
	Service                bool       `json:"service"`
	Scopes                 []string   `json:"scopes"`
	RedirectURIs           []string   `json:"redirect_uris"`
	PostLogoutRedirectURIs []string   `json:"post_logout_redirect_uris"`
	SkipConsent            bool       `json:"skip_consent"`
	RequireFace            bool       `json:"require_face"`
	IDTokenAlg             string     `json:"id_token_alg"`
	Disabled               bool       `json:"disabled"`
	Policy                 policyJSON `json:"policy"`
	CreatedAt              time.Time  `json:"created_at"`
	UpdatedAt              time.Time  `json:"updated_at"`
}

type policyJSON struct {
	FirstFactors     []string `json:"first_factors"`
	FaceMode         string   `json:"face_mode"`
	FaceEnrolment    string   `json:"face_enrolment"`
	PasskeySkipsFace *bool    `json:"passkey_skips_face"`
}

func clientView(c *models.Client) clientJSON {
	p := c.Policy
	return clientJSON{c.ID, c.Name, c.Public(), c.Service, nonNil(c.Scopes), nonNil(c.RedirectURIs), nonNil(c.PostLogoutRedirectURIs),
		c.SkipConsent, c.RequireFace, c.IDTokenAlg, c.Disabled,
		policyJSON{nonNil(p.FirstFactors), p.FaceMode, p.FaceEnrolment, p.PasskeySkipsFace}, c.CreatedAt, c.UpdatedAt}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *apiServer) listClients(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	cs, err := s.a.acc.ListClients(r.Context())
	if err != nil {
		return err
	}
	out := []clientJSON{}
	for i := p.Offset; i < len(cs) && i < p.Offset+p.Limit; i++ {
		out = append(out, clientView(&cs[i]))
	}
	writeList(w, p, out)
	return nil
}

func (s *apiServer) createClient(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ID                     string      `json:"id"`
		Name                   string      `json:"name"`
		Confidential           bool        `json:"confidential"`
		Service                bool        `json:"service"`
		Scopes                 []string    `json:"scopes"`
		RedirectURIs           []string    `json:"redirect_uris"`
		PostLogoutRedirectURIs []string    `json:"post_logout_redirect_uris"`
		SkipConsent            bool        `json:"skip_consent"`
		RequireFace            bool        `json:"require_face"`
		IDTokenAlg             string      `json:"id_token_alg"`
		Policy                 *policyJSON `json:"policy"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	nc := accounts.NewClient{
		ID: in.ID, Name: in.Name, GenerateSecret: in.Confidential || in.Service, Service: in.Service, Scopes: in.Scopes,
		RedirectURIs: in.RedirectURIs, PostLogoutRedirectURIs: in.PostLogoutRedirectURIs,
		SkipConsent: in.SkipConsent, RequireFace: in.RequireFace, IDTokenAlg: in.IDTokenAlg,
	}
	if in.Policy != nil {
		nc.Policy = policyModel(*in.Policy)
	}
	c, secret, err := s.a.acc.CreateClient(r.Context(), nc)
	if err != nil {
		return err
	}
	out := map[string]any{"client": clientView(c)}
	if secret != "" {
		out["client_secret"] = secret
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// writeClient answers the client c as the API shows it; err, when not
// nil, is returned for the caller's error answer instead.
func writeClient(w http.ResponseWriter, c *models.Client, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, clientView(c))
	return nil
}

// notConsoleClient refuses to change the console's own client (the
// {client} of the path), which faceidp manages.
func notConsoleClient(r *http.Request) error {
	if r.PathValue("client") == ConsoleClientID {
		return &apiError{http.StatusConflict, "internal_client", "the console's own client is managed by faceidp"}
	}
	return nil
}

func policyModel(p policyJSON) models.ClientPolicy {
	return models.ClientPolicy{FirstFactors: p.FirstFactors, FaceMode: p.FaceMode, FaceEnrolment: p.FaceEnrolment, PasskeySkipsFace: p.PasskeySkipsFace}
}

func (s *apiServer) getClient(w http.ResponseWriter, r *http.Request) error {
	c, err := s.a.acc.GetClient(r.Context(), r.PathValue("client"))
	return writeClient(w, c, err)
}

func (s *apiServer) updateClient(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name                   *string  `json:"name"`
		RedirectURIs           []string `json:"redirect_uris"`
		PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
		SkipConsent            *bool    `json:"skip_consent"`
		RequireFace            *bool    `json:"require_face"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := notConsoleClient(r); err != nil {
		return err
	}
	c, err := s.a.acc.UpdateClient(r.Context(), r.PathValue("client"), accounts.ClientEdit{
		Name: in.Name, RedirectURIs: in.RedirectURIs, PostLogoutRedirectURIs: in.PostLogoutRedirectURIs,
		SkipConsent: in.SkipConsent, RequireFace: in.RequireFace,
	})
	return writeClient(w, c, err)
}

func (s *apiServer) rotateSecret(w http.ResponseWriter, r *http.Request) error {
	secret, err := s.a.acc.RotateClientSecret(r.Context(), r.PathValue("client"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"client_secret": secret})
	return nil
}

func (s *apiServer) setPolicy(w http.ResponseWriter, r *http.Request) error {
	var in policyJSON
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := notConsoleClient(r); err != nil {
		return err
	}
	c, err := s.a.acc.SetClientPolicy(r.Context(), r.PathValue("client"), policyModel(in))
	return writeClient(w, c, err)
}

func (s *apiServer) setClientDisabled(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Disabled *bool `json:"disabled"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Disabled == nil {
		return badRequest(`the body must be {"disabled": true|false}`)
	}
	if err := notConsoleClient(r); err != nil {
		return err
	}
	changed, err := s.a.acc.SetClientDisabled(r.Context(), r.PathValue("client"), *in.Disabled)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"disabled": *in.Disabled, "changed": changed})
	return nil
}

func (s *apiServer) listKeys(w http.ResponseWriter, r *http.Request) error {
	ks, err := s.a.acc.ListSigningKeys(r.Context())
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(ks))
	for i, k := range ks {
		out[i] = map[string]any{"kid": k.ID, "alg": k.Algorithm, "created_at": k.CreatedAt, "retired_at": k.RetiredAt, "remove_after": k.RemoveAfter}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func (s *apiServer) rotateKeys(w http.ResponseWriter, r *http.Request) error {
	if err := s.a.acc.RotateSigningKeys(r.Context()); err != nil {
		return err
	}
	return s.listKeys(w, r)
}

func auditView(e *models.AuditEvent) map[string]any {
	return map[string]any{"id": e.ID, "time": e.Time, "type": e.Type, "outcome": e.Outcome, "user_id": e.UserID,
		"client_id": e.ClientID, "reason": e.Reason, "remote_ip": e.RemoteIP, "details": e.Details}
}

// auditQuery reads the audit filters from the query string.
func auditQuery(r *http.Request) (accounts.AuditQuery, error) {
	q := r.URL.Query()
	p, err := page(r)
	if err != nil {
		return accounts.AuditQuery{}, err
	}
	aq := accounts.AuditQuery{User: q.Get("user"), ClientID: q.Get("client"), Type: q.Get("type"), Outcome: q.Get("outcome"), Page: p}
	for name, dst := range map[string]*time.Time{"since": &aq.Since, "until": &aq.Until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				if t, err = time.Parse("2006-01-02T15:04", v); err != nil {
					return aq, badRequest("%s must be an RFC 3339 time like 2026-01-02T15:04:05Z, got %q", name, v)
				}
			}
			*dst = t
		}
	}
	return aq, nil
}

func (s *apiServer) audit(w http.ResponseWriter, r *http.Request) error {
	aq, err := auditQuery(r)
	if err != nil {
		return err
	}
	evs, err := s.a.acc.QueryAudit(r.Context(), aq)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("format") == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="faceidp-audit.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		return accounts.WriteAuditCSV(w, evs)
	}
	return writePage(w, aq.Page, evs, nil, auditView)
}

func (s *apiServer) abuse(w http.ResponseWriter, r *http.Request) error {
	hours := 24
	if v := r.URL.Query().Get("hours"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 24*30 {
			return badRequest("hours must be 1 to 720, got %q", v)
		}
		hours = n
	}
	a, err := s.a.acc.AbuseOverview(r.Context(), time.Duration(hours)*time.Hour)
	if err != nil {
		return err
	}
	throttled := make([]map[string]any, len(a.Throttled))
	for i, t := range a.Throttled {
		throttled[i] = map[string]any{"subject": t.Subject, "factor": t.Factor, "user_id": t.UserID, "failures": t.Failures, "last_failure_at": t.LastFailureAt}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"since": a.Since, "failures_by_user": counts(a.FailuresByUser), "failures_by_source": counts(a.FailuresBySource),
		"face_refusals_by_reason": counts(a.SpoofRefusals), "throttled": throttled, "truncated": a.Truncated,
	})
	return nil
}

func counts(cs []accounts.Count) []map[string]any {
	out := make([]map[string]any, len(cs))
	for i, c := range cs {
		out[i] = map[string]any{"key": c.Key, "count": c.N}
	}
	return out
}
