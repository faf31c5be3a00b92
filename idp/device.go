package idp

// Device cookies (OWASP "Slow down online guessing attacks with device
// cookies"): after a correct password, the browser gets a cookie naming the
// user and a random nonce, authenticated with an HMAC key derived from
// secrets.cookie_hash_key. A later password attempt for that user from
// that browser counts in the device's own throttle counter instead of the
// account's and the source address's, so a stranger's failures elsewhere
// never slow the owner down, while an attacker holding a stolen cookie is
// throttled on it like anyone else.

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"time"
)

const (
	deviceCookie = "faceidp_device"
	// DeviceCookieTTL is how long a browser stays known after its last
	// correct password.
	DeviceCookieTTL = 180 * 24 * time.Hour
)

// deviceKey derives the device cookie's HMAC key.
func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

func (s *Server) deviceMAC(userID, nonce string) string {
	m := hmac.New(sha256.New, s.deviceKey)
	m.Write([]byte("v1\x00" + userID + "\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// knownDevice returns the nonce hash naming this browser's device counter
// when it holds a valid device cookie for userID, else "".
func (s *Server) knownDevice(r *http.Request, userID string) string {
	c, err := r.Cookie(deviceCookie)
	if err != nil || len(c.Value) > 512 {
		return ""
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 4 || parts[0] != "v1" {
		return ""
	}
	uid, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || string(uid) != userID || len(parts[2]) < 22 {
		return ""
	}
	if subtle.ConstantTimeCompare([]byte(s.deviceMAC(userID, parts[2])), []byte(parts[3])) != 1 {
		return ""
	}
	return hashToken(parts[2])
}

// rememberDevice gives the browser a device cookie for userID (a fresh
// nonce, so a new counter) unless it already holds a valid one.
func (s *Server) rememberDevice(w http.ResponseWriter, r *http.Request, userID string) error {
	if s.knownDevice(r, userID) != "" {
		return nil
	}
	b := make([]byte, 18)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return err
	}
	nonce := base64.RawURLEncoding.EncodeToString(b)
	v := "v1." + base64.RawURLEncoding.EncodeToString([]byte(userID)) + "." + nonce + "." + s.deviceMAC(userID, nonce)
	http.SetCookie(w, &http.Cookie{
		Name: deviceCookie, Value: v, Path: "/login/", MaxAge: int(DeviceCookieTTL / time.Second),
		HttpOnly: true, Secure: !s.insecure, SameSite: http.SameSiteStrictMode,
	})
	return nil
}
