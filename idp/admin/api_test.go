package admin_test

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/models"
)

type apiClient struct {
	e     *env
	token string
}

// call sends a JSON request and decodes a JSON answer.
func (c apiClient) call(method, path string, body any) (int, map[string]any, string) {
	c.e.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, c.e.issuer+"/admin/api/v1"+path, rd)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out, string(raw)
}

// must calls and fails the test unless the status is want.
func (c apiClient) must(want int, method, path string, body any) map[string]any {
	c.e.t.Helper()
	st, out, raw := c.call(method, path, body)
	if st != want {
		c.e.t.Fatalf("%s %s: %d %s, want %d", method, path, st, raw, want)
	}
	return out
}

func errCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func TestAPIAuthentication(t *testing.T) {
	e := newEnv(t)
	if st, out, _ := (apiClient{e: e}).call("GET", "/users", nil); st != http.StatusUnauthorized || errCode(out) != "unauthorized" {
		t.Errorf("no token: %d %v, want 401 unauthorized", st, out)
	}
	if st, out, _ := (apiClient{e: e, token: "garbage"}).call("GET", "/users", nil); st != http.StatusUnauthorized || errCode(out) != "invalid_token" {
		t.Errorf("bad token: %d %v, want 401 invalid_token", st, out)
	}
	// A service client without the admin scope gets a token, but not the API.
	tok, st := e.serviceToken("reporting", nil, "")
	if st != http.StatusOK || tok == "" {
		t.Fatalf("client_credentials without scope: %d", st)
	}
	if st, out, _ := (apiClient{e: e, token: tok}).call("GET", "/users", nil); st != http.StatusForbidden || errCode(out) != "insufficient_scope" {
		t.Errorf("token without the admin scope: %d %v, want 403 insufficient_scope", st, out)
	}
	// Nor can it ask for a scope it is not allowed.
	if _, st := e.serviceToken("reporting2", nil, "admin"); st != http.StatusBadRequest {
		t.Errorf("asking for a scope the client is not allowed: %d, want 400", st)
	}
	// A service token is no user's: userinfo refuses it.
	req, _ := http.NewRequest("GET", e.issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("userinfo with a service token: %v %v, want 401", resp.StatusCode, err)
	}
	// A disabled service client's token stops working.
	adminTok, _ := e.serviceToken("automation", []string{"admin"}, "admin")
	api := apiClient{e: e, token: adminTok}
	api.must(http.StatusOK, "GET", "/users", nil)
	if _, err := e.acc.SetClientDisabled(e.ctx, "automation", true); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(6e9) // past the client cache
	if st, _, _ := api.call("GET", "/users", nil); st != http.StatusUnauthorized {
		t.Errorf("token of a disabled client: %d, want 401", st)
	}
}

func TestAPIOperations(t *testing.T) {
	e := newEnv(t)
	tok, st := e.serviceToken("automation", []string{"admin"}, "admin")
	if st != http.StatusOK {
		t.Fatalf("client_credentials: %d", st)
	}
	api := apiClient{e: e, token: tok}

	// Users: create (password generated), search, paginate, read.
	out := api.must(http.StatusCreated, "POST", "/users", map[string]any{"username": "dave", "email": "dave@example.test", "name": "Dave"})
	pw, _ := out["password"].(string)
	if len(pw) < 20 {
		t.Fatalf("create user: no generated password in %v", out)
	}
	dave := out["user"].(map[string]any)["id"].(string)
	api.must(http.StatusCreated, "POST", "/users", map[string]any{"username": "erin", "email": "erin@example.test", "password": "a long enough pw"})
	if _, out, _ := api.call("POST", "/users", map[string]any{"username": "dave", "email": "d2@example.test"}); errCode(out) != "conflict" {
		t.Errorf("duplicate user: %v, want conflict", out)
	}
	if st, out, _ := api.call("POST", "/users", map[string]any{"username": "x", "email": "x@example.test", "bogus": 1}); st != 400 || errCode(out) != "invalid_request" {
		t.Errorf("unknown field: %d %v, want 400 invalid_request", st, out)
	}
	out = api.must(http.StatusOK, "GET", "/users?q=example.test&limit=1", nil)
	if items := out["items"].([]any); len(items) != 1 || out["next_offset"] != float64(1) {
		t.Errorf("page 1: %v", out)
	}
	out = api.must(http.StatusOK, "GET", "/users?q=example.test&limit=1&offset=1", nil)
	if items := out["items"].([]any); len(items) != 1 || items[0].(map[string]any)["username"] != "erin" {
		t.Errorf("page 2: %v", out)
	}
	if st, out, _ := api.call("GET", "/users/nobody", nil); st != 404 || errCode(out) != "not_found" {
		t.Errorf("unknown user: %d %v", st, out)
	}

	// Throttles, unlock, require face, admin role, disable/enable, password reset.
	for range 2 {
		_, _ = e.store.UpdateThrottle(e.ctx, "user:"+dave, throttle.FactorFace, func(th *models.FactorThrottle) error {
			th.UserID, th.Failures = dave, th.Failures+30
			return nil
		})
	}
	out = api.must(http.StatusOK, "GET", "/users/dave", nil)
	if ths := out["throttles"].([]any); len(ths) != 1 {
		t.Errorf("factor state throttles: %v", out["throttles"])
	}
	api.must(http.StatusOK, "POST", "/users/dave/face/enable", nil)
	api.must(http.StatusOK, "POST", "/users/dave/unlock", nil)
	if ths := api.must(http.StatusOK, "GET", "/users/dave", nil)["throttles"].([]any); len(ths) != 0 {
		t.Errorf("throttles after unlock: %v", ths)
	}
	api.must(http.StatusOK, "PUT", "/users/dave/require-face", map[string]any{"require_face": true})
	api.must(http.StatusOK, "PUT", "/users/dave/admin", map[string]any{"admin": true})
	u, _ := e.store.GetUser(e.ctx, dave)
	if !u.RequireFace || !u.Admin {
		t.Errorf("require-face/admin not stored: %+v", u)
	}
	api.must(http.StatusOK, "POST", "/users/dave/disable", nil)
	api.must(http.StatusOK, "POST", "/users/dave/enable", nil)
	out = api.must(http.StatusOK, "POST", "/users/dave/reset-password", nil)
	if p, _ := out["password"].(string); p == "" || p == pw {
		t.Errorf("reset password: %v", out)
	}

	// Face enrolments: list, revoke, force re-enrolment.
	if err := e.store.SaveFaceTemplate(e.ctx, &models.FaceTemplate{UserID: dave, KeyID: "k1", Sealed: []byte("sealed"), Samples: 5, CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	out = api.must(http.StatusOK, "GET", "/face-enrolments", nil)
	if items := out["items"].([]any); len(items) != 1 || items[0].(map[string]any)["samples"] != float64(5) {
		t.Errorf("face enrolments: %v", out)
	}
	if face := api.must(http.StatusOK, "GET", "/users/dave", nil)["face"]; face == nil {
		t.Error("factor state shows no face")
	}
	if out = api.must(http.StatusOK, "POST", "/users/dave/face/revoke", nil); out["revoked"] != true {
		t.Errorf("revoke: %v", out)
	}
	api.must(http.StatusOK, "POST", "/users/dave/face/reenrol", nil)
	if items := api.must(http.StatusOK, "GET", "/face-enrolments", nil)["items"].([]any); len(items) != 0 {
		t.Errorf("after revoke: %v", items)
	}

	// Fallbacks.
	out = api.must(http.StatusCreated, "POST", "/users/dave/face-bypass", map[string]any{"ttl": "2h", "reason": "new glasses"})
	if out["granted_by"] != "client:automation" {
		t.Errorf("bypass: %v", out)
	}
	if out = api.must(http.StatusOK, "DELETE", "/users/dave/face-bypass", nil); out["revoked"] != true {
		t.Errorf("revoke bypass: %v", out)
	}
	out = api.must(http.StatusOK, "POST", "/users/dave/recovery-codes", nil)
	if codes := out["codes"].([]any); len(codes) < 5 {
		t.Errorf("recovery codes: %v", out)
	}

	// Clients: create, edit, rotate, policy, disable.
	out = api.must(http.StatusCreated, "POST", "/clients", map[string]any{"id": "shop", "confidential": true, "redirect_uris": []string{"https://shop.example/cb"}})
	secret, _ := out["client_secret"].(string)
	if secret == "" {
		t.Fatalf("create client: %v", out)
	}
	if _, out, _ := api.call("POST", "/clients", map[string]any{"id": "bad", "redirect_uris": []string{"http://evil.example/cb"}}); errCode(out) != "invalid_request" {
		t.Errorf("plain-http redirect: %v", out)
	}
	out = api.must(http.StatusOK, "PATCH", "/clients/shop", map[string]any{"redirect_uris": []string{"https://shop.example/cb2"}})
	if uris := out["redirect_uris"].([]any); len(uris) != 1 || uris[0] != "https://shop.example/cb2" {
		t.Errorf("edit: %v", out)
	}
	out = api.must(http.StatusOK, "POST", "/clients/shop/rotate-secret", nil)
	if s, _ := out["client_secret"].(string); s == "" || s == secret {
		t.Errorf("rotate: %v", out)
	}
	out = api.must(http.StatusOK, "PUT", "/clients/shop/policy", map[string]any{"face_mode": "required"})
	if out["policy"].(map[string]any)["face_mode"] != "required" {
		t.Errorf("policy: %v", out)
	}
	if st, _, _ := api.call("PUT", "/clients/shop/policy", map[string]any{"face_mode": "sometimes"}); st != 400 {
		t.Errorf("bad policy: %d", st)
	}
	api.must(http.StatusOK, "PUT", "/clients/shop/disabled", map[string]any{"disabled": true})
	if c := api.must(http.StatusOK, "GET", "/clients/shop", nil); c["disabled"] != true {
		t.Errorf("disabled: %v", c)
	}
	if st, out, _ := api.call("PATCH", "/clients/faceidp-admin", map[string]any{"name": "x"}); st != 409 || errCode(out) != "internal_client" {
		t.Errorf("editing the console's client: %d %v", st, out)
	}
	if items := api.must(http.StatusOK, "GET", "/clients", nil)["items"].([]any); len(items) != 3 {
		t.Errorf("clients: %d, want 3 (console, automation, shop)", len(items))
	}

	// Signing keys.
	before := api.must(http.StatusOK, "GET", "/keys", nil)["items"].([]any)
	after := api.must(http.StatusOK, "POST", "/keys/rotate", nil)["items"].([]any)
	if len(after) != len(before)*2 {
		t.Errorf("keys: %d before, %d after rotation", len(before), len(after))
	}

	// Audit log: filters, pagination, CSV; every act names the client.
	out = api.must(http.StatusOK, "GET", "/audit?type=admin.&user=dave&limit=3", nil)
	items := out["items"].([]any)
	if len(items) != 3 || out["next_offset"] != float64(3) {
		t.Fatalf("audit page: %v", out)
	}
	for _, it := range items {
		ev := it.(map[string]any)
		d := ev["details"].(map[string]any)
		// recovery names the actor as the grantor or revoker of a bypass.
		actor := cmp.Or(d["actor"], d["granted_by"], d["revoked_by"])
		if ev["user_id"] != dave || !strings.HasPrefix(ev["type"].(string), "admin.") || actor != "client:automation" {
			t.Errorf("audit event %v does not match the filter or name the actor", ev)
		}
	}
	if st, _, _ := api.call("GET", "/audit?since=yesterday", nil); st != 400 {
		t.Errorf("bad since: %d", st)
	}
	req, _ := http.NewRequest("GET", e.issuer+"/admin/api/v1/audit?client=shop&format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || len(rows) < 5 || rows[0][2] != "type" {
		t.Errorf("CSV: %v %v", rows, err)
	}
	for _, r := range rows[1:] {
		if r[5] != "shop" {
			t.Errorf("CSV row of another client: %v", r)
		}
	}

	// Abuse overview.
	_ = e.store.AppendAudit(e.ctx, &models.AuditEvent{Type: "face.verify", Outcome: "failure", UserID: dave, Reason: "spoof_screen", RemoteIP: "192.0.2.7"})
	out = api.must(http.StatusOK, "GET", "/abuse?hours=2", nil)
	if f := out["face_refusals_by_reason"].([]any); len(f) != 1 || f[0].(map[string]any)["key"] != "spoof_screen" {
		t.Errorf("abuse: %v", out)
	}
	if st, out, _ := api.call("GET", "/nope", nil); st != 404 || errCode(out) != "not_found" {
		t.Errorf("unknown endpoint: %d %v", st, out)
	}
}
