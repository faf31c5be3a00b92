package idp

import (
	"net/http"
	"testing"

	"golang.org/x/oauth2"

	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/models"
)

// An ID token issued on refresh carries the same acr (and amr, auth_time)
// as the one from the code exchange: the relying party's step-up decisions
// must not change because it refreshed.
func TestRefreshedIDTokenKeepsACR(t *testing.T) {
	e := newEnv(t)
	e.addUser("user-alice", "alice", "alice@example.com", "Alice", alicePW)
	e.addClient(&models.Client{ID: "app", RedirectURIs: []string{rpRedirect}, SkipConsent: true}, "app-secret")
	r := e.rp(t, "app", "app-secret")
	a := r.start()
	tok, err := r.cfg.Exchange(e.ctx, codeFrom(t, e.signIn(t, e.newBrowser(), a.url, "alice", alicePW), a), oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatal(err)
	}
	type claims struct {
		ACR      string   `json:"acr"`
		AMR      []string `json:"amr"`
		AuthTime int64    `json:"auth_time"`
	}
	var first claims
	idt, err := r.verifier.Verify(e.ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	if err := idt.Claims(&first); err != nil {
		t.Fatal(err)
	}
	if first.ACR != policy.ACRSingleFactor {
		t.Fatalf("code exchange acr = %q", first.ACR)
	}
	st, body := e.refresh(t, r, tok.RefreshToken)
	if st != http.StatusOK {
		t.Fatalf("refresh: %d %v", st, body)
	}
	raw, _ := body["id_token"].(string)
	idt, err = r.verifier.Verify(e.ctx, raw)
	if err != nil {
		t.Fatalf("verify refreshed ID token: %v", err)
	}
	var again claims
	if err := idt.Claims(&again); err != nil {
		t.Fatal(err)
	}
	if again.ACR != first.ACR || again.AuthTime != first.AuthTime || len(again.AMR) != len(first.AMR) {
		t.Fatalf("refreshed ID token claims %+v, want %+v", again, first)
	}
}
