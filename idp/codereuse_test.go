package idp

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/oauth2"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// RFC 6749 §4.1.2: a code used twice is refused and the tokens issued from
// it are revoked (the code leaked; whoever holds those tokens may not be
// the user's app).
func TestCodeReuseRevokesTokensFromFirstExchange(t *testing.T) {
	e := newEnv(t)
	alice := e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	r := e.rp(t, "app", "app-secret")
	a := r.start()
	code := codeFrom(t, e.signIn(t, e.newBrowser(), a.url, "alice", alicePW), a)
	tok, err := r.cfg.Exchange(e.ctx, code, oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.provider.UserInfo(e.ctx, oauth2.StaticTokenSource(tok)); err != nil {
		t.Fatalf("userinfo before reuse: %v", err)
	}

	_, err = r.cfg.Exchange(e.ctx, code, oauth2.VerifierOption(a.verifier))
	if oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("second exchange: %v, want invalid_grant", err)
	}
	if _, err := r.provider.UserInfo(e.ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("access token from the first exchange still works after the code was reused")
	}
	if st, body := e.refresh(t, r, tok.RefreshToken); st != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("refresh token from the first exchange after code reuse: %d %v", st, body)
	}
	ev, _ := e.store.ListAudit(e.ctx, storage.AuditFilter{Type: "token.code_reuse", UserID: alice.ID})
	if len(ev) == 0 {
		t.Error("no audit event for authorization code reuse")
	}
}

// Two exchanges of one code racing each other (two instances, or a
// replay timed to the legitimate request) issue tokens at most once.
func TestConcurrentCodeExchangeIssuesTokensOnce(t *testing.T) {
	e := newEnv(t)
	e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	r := e.rp(t, "app", "app-secret")
	a := r.start()
	code := codeFrom(t, e.signIn(t, e.newBrowser(), a.url, "alice", alicePW), a)

	const n = 6
	var wg sync.WaitGroup
	status := make([]int, n)
	errs := make([]error, n)
	start := make(chan struct{})
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}, "code_verifier": {a.verifier}}.Encode()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, r.cfg.Endpoint.TokenURL, strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("app", "app-secret")
			<-start
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			status[i] = resp.StatusCode
			if resp.StatusCode != http.StatusOK {
				var body struct {
					Error string `json:"error"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&body)
				if body.Error != "invalid_grant" {
					status[i] = -resp.StatusCode
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	ok := 0
	for i, st := range status {
		switch {
		case errs[i] != nil:
			t.Fatalf("exchange %d: %v", i, errs[i])
		case st == http.StatusOK:
			ok++
		case st != http.StatusBadRequest:
			t.Errorf("exchange %d: status %d, want 200 or 400 invalid_grant", i, st)
		}
	}
	if ok > 1 {
		t.Errorf("%d concurrent exchanges of one code succeeded", ok)
	}
	if issued := testutil.ToFloat64(e.idp.metrics.tokens.WithLabelValues("access")); issued > 1 {
		t.Errorf("%v access tokens issued for one code", issued)
	}
}
