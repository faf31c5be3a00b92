package logintest

import (
	"context"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// CodeClient is a public client with PKCE (coreos/go-oidc, x/oauth2) that
// a test drives by hand, where RP is one a browser drives: it makes
// authorization URLs and redeems the codes the provider sends to its
// redirect URI (nothing needs to listen there).
type CodeClient struct {
	Config   oauth2.Config
	verifier *gooidc.IDTokenVerifier
}

// NewCodeClient discovers the provider at issuer for clientID with the
// redirect URI redirect, asking for openid and scopes.
func NewCodeClient(t testing.TB, issuer, clientID, redirect string, scopes ...string) *CodeClient {
	t.Helper()
	p, err := gooidc.NewProvider(context.Background(), issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &CodeClient{
		Config:   oauth2.Config{ClientID: clientID, Endpoint: p.Endpoint(), RedirectURL: redirect, Scopes: append([]string{gooidc.ScopeOpenID}, scopes...)},
		verifier: p.Verifier(&gooidc.Config{ClientID: clientID}),
	}
}

// AuthStart is an authorization request: its URL and what redeeming its
// code needs.
type AuthStart struct{ URL, State, Nonce, Verifier string }

// Start makes an authorization request with PKCE, a nonce and opts.
func (c *CodeClient) Start(opts ...oauth2.AuthCodeOption) AuthStart {
	a := AuthStart{State: oauth2.GenerateVerifier(), Nonce: oauth2.GenerateVerifier(), Verifier: oauth2.GenerateVerifier()}
	a.URL = c.Config.AuthCodeURL(a.State, append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(a.Verifier), gooidc.Nonce(a.Nonce)}, opts...)...)
	return a
}

// Redeem exchanges the code of the request a, verifies the ID token and
// its nonce, and returns its claims.
func (c *CodeClient) Redeem(t testing.TB, ctx context.Context, code string, a AuthStart) Claims {
	t.Helper()
	tok, err := c.Config.Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
	if err != nil {
		t.Fatalf("token exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := c.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	if idt.Nonce != a.Nonce {
		t.Fatalf("nonce %q, want %q", idt.Nonce, a.Nonce)
	}
	var cl Claims
	if err := idt.Claims(&cl); err != nil {
		t.Fatalf("ID token claims: %v", err)
	}
	return cl
}
