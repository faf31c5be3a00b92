package idp

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/faceidp/faceidp/internal/logintest"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Tokens are sealed (a changed byte or another key does not open them),
// and tokens in op's own JWE format, issued before faceidp used its own,
// still open.
func TestTokenCrypto(t *testing.T) {
	var key, other [32]byte
	copy(key[:], logintest.RandomBytes(t, 32))
	copy(other[:], logintest.RandomBytes(t, 32))
	c, err := newTokenCrypto(key, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Encrypt("at-id:user-1")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := c.Encrypt("at-id:user-1")
	if tok == again || strings.Contains(tok, "user-1") {
		t.Fatalf("tokens %q and %q", tok, again)
	}
	if got, err := c.Decrypt(tok); err != nil || got != "at-id:user-1" {
		t.Fatalf("Decrypt = %q, %v", got, err)
	}
	tampered := []byte(tok)
	tampered[len(tampered)-3] ^= 1
	if _, err := c.Decrypt(string(tampered)); err == nil {
		t.Error("a tampered token opened")
	}
	o, _ := newTokenCrypto(other, rand.Reader)
	if _, err := o.Decrypt(tok); err == nil {
		t.Error("a token opened under another key")
	}
	for _, bad := range []string{"", "1.", "1.!!", "garbage"} {
		if _, err := c.Decrypt(bad); err == nil {
			t.Errorf("Decrypt(%q) succeeded", bad)
		}
	}
	old, err := op.NewAES256GCMCrypto(key, "").Encrypt("at-old:user-1")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Decrypt(old); err != nil || got != "at-old:user-1" {
		t.Errorf("op's JWE token: %q, %v", got, err)
	}
}
