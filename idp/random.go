package idp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
)

// randomID returns 32 random bytes, base64url encoded: used for every
// identifier or secret handed to a browser or client.
func randomID(r io.Reader) (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("read random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hashToken is the SHA-256 of a token, hex encoded: what the database
// stores for refresh tokens, authorization codes and browser bindings.
func hashToken(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// hashWithKey is HMAC-SHA256(key, s), hex encoded: a stable identifier of
// s that cannot be reversed by guessing s without the key.
func hashWithKey(key []byte, s string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil))
}
