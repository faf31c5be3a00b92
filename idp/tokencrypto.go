package idp

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// tokenCrypto is op.Crypto for what op encrypts into opaque access tokens
// ("tokenID:subject") and authorization codes (an auth request ID): AES-
// 256-GCM under the token key with a random nonce, "1." + base64url of
// nonce and ciphertext. op's own format is a JWE whose JSON header costs a
// quarter of a userinfo request to parse (docs/performance.md); the
// tokens are opaque to clients, so only faceidp ever reads them. Tokens
// in op's format (issued before this change) still decrypt, for as long as
// they live.
type tokenCrypto struct {
	aead   cipher.AEAD
	rand   io.Reader
	legacy op.Crypto
}

const tokenCryptoPrefix = "1."

func newTokenCrypto(key [32]byte, rand io.Reader) (*tokenCrypto, error) {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("token key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("token key: %w", err)
	}
	// What op.NewProvider would have used: JWE A256GCMKW, and AES-CFB
	// from older op versions.
	legacy := op.NewCompositeCrypto(op.NewAES256GCMCrypto(key, ""), []op.Decrypter{op.NewAES256GCMCrypto(key, ""), op.NewAESDecrypter(key)})
	return &tokenCrypto{aead: aead, rand: rand, legacy: legacy}, nil
}

func (c *tokenCrypto) Encrypt(s string) (string, error) {
	n := c.aead.NonceSize()
	buf := make([]byte, n, n+len(s)+c.aead.Overhead())
	if _, err := io.ReadFull(c.rand, buf); err != nil {
		return "", fmt.Errorf("token nonce: %w", err)
	}
	return tokenCryptoPrefix + base64.RawURLEncoding.EncodeToString(c.aead.Seal(buf, buf, []byte(s), nil)), nil
}

var errTokenCrypto = errors.New("token is not valid")

func (c *tokenCrypto) Decrypt(s string) (string, error) {
	b64, ok := strings.CutPrefix(s, tokenCryptoPrefix)
	if !ok {
		return c.legacy.Decrypt(s)
	}
	raw, err := base64.RawURLEncoding.DecodeString(b64)
	n := c.aead.NonceSize()
	if err != nil || len(raw) < n+c.aead.Overhead() {
		return "", errTokenCrypto
	}
	plain, err := c.aead.Open(nil, raw[:n], raw[n:], nil)
	if err != nil {
		return "", errTokenCrypto
	}
	return string(plain), nil
}
