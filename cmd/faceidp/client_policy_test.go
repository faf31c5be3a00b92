package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faceidp/faceidp/idp/accounts"
	"github.com/faceidp/faceidp/storage"
)

// A client's factor policy overrides: set at registration, changed with
// set-policy (flags not given stay, "default" returns to the global
// setting), validated with the key named, listed and audited.
func TestClientPolicyOverrides(t *testing.T) {
	e := newTestEnv(t)
	e.ok("", "client", "add", "--id", "bank", "--redirect-uri", "https://bank.example.com/cb",
		"--first-factors", "passkey", "--face-mode", "required", "--face-enrolment", "never")
	ctx := context.Background()
	c, err := e.store().GetClient(ctx, "bank")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Policy.FirstFactors, []string{"passkey"}) || c.Policy.FaceMode != "required" || c.Policy.FaceEnrolment != "never" || c.Policy.PasskeySkipsFace != nil {
		t.Fatalf("policy stored at add: %+v", c.Policy)
	}
	if list := e.ok("", "client", "list"); !strings.Contains(list, "POLICY") || !strings.Contains(list, "first=passkey,face=required,enrol=never") {
		t.Fatalf("client list:\n%s", list)
	}
	out := e.ok("", "client", "set-policy", "bank", "--passkey-skips-face", "true", "--first-factors", "password,passkey", "--face-enrolment", "default")
	if !strings.Contains(out, "client bank policy: first=password+passkey,face=required,passkey-skips-face=true") {
		t.Fatalf("set-policy printed %q", out)
	}
	c, _ = e.store().GetClient(ctx, "bank")
	if c.Policy.FaceMode != "required" || c.Policy.FaceEnrolment != "" || c.Policy.PasskeySkipsFace == nil || !*c.Policy.PasskeySkipsFace {
		t.Fatalf("policy after set-policy: %+v", c.Policy)
	}
	if out := e.ok("", "client", "set-policy", "bank", "--face-mode", "default", "--first-factors", "default", "--passkey-skips-face", "default"); !strings.Contains(out, "client bank policy: -") {
		t.Fatalf("back to the defaults: %q", out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"client", "set-policy", "bank", "--face-mode", "sometimes"}, `face mode "sometimes" is not one of off, optional, required`},
		{[]string{"client", "set-policy", "bank", "--first-factors", "password,sms"}, `first factor "sms" is not one of password, passkey`},
		{[]string{"client", "set-policy", "bank", "--face-enrolment", "later"}, `face enrolment "later" is not one of offer, force, never`},
		{[]string{"client", "set-policy", "bank", "--passkey-skips-face", "maybe"}, "--passkey-skips-face must be true, false or default"},
		{[]string{"client", "set-policy", "nobody", "--face-mode", "off"}, `no client with id "nobody"`},
		{[]string{"client", "add", "--id", "x", "--redirect-uri", "https://x.example.com/cb", "--face-mode", "on"}, `face mode "on" is not one of`},
	} {
		if msg := e.fails("", tc.args...); !strings.Contains(msg, tc.want) {
			t.Errorf("%v: %q, want %q", tc.args, msg, tc.want)
		}
	}
	if evs, _ := e.store().ListAudit(ctx, storage.AuditFilter{Type: accounts.AuditClientPolicy}); len(evs) != 2 || evs[0].ClientID != "bank" {
		t.Fatalf("policy audit events: %+v", evs)
	}
}

// serve with a localhost issuer (as scripts/demo runs it) offers passkeys;
// with the default IP-address issuer it says why it does not.
func TestServeOffersPasskeysOnLocalhost(t *testing.T) {
	addr := freeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	issuer := "http://localhost:" + port
	e := newTestEnv(t).with("FACEIDP_LISTEN="+addr, "FACEIDP_ISSUER="+issuer)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 1)
	go func() { done <- e.runCtx(ctx, "", "serve") }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/login/passkey/begin")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Fatalf("GET /login/passkey/begin: %d, want 405 (the passkey routes are mounted)", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if r := <-done; r.code != 0 || strings.Contains(r.stderr, "passkeys are off") {
		t.Fatalf("serve with a localhost issuer: exit %d\n%s", r.code, r.stderr)
	}

	_, stop := serveUntilReady(t, newTestEnv(t))
	if r := stop(); !strings.Contains(r.stderr, "passkeys are off") || !strings.Contains(r.stderr, "http://localhost:8080") {
		t.Fatalf("serve with an IP-address issuer does not say passkeys are off:\n%s", r.stderr)
	}
}
