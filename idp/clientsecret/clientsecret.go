// Package clientsecret makes and checks OAuth client secrets.
//
// A client secret is not a password: faceidp generates it (256 random bits),
// so nobody can guess it, and a slow password hash would only make every
// token request cost tens of milliseconds and 19 MiB, for anyone who sends
// one, right or wrong. Secrets are therefore stored as an HMAC-SHA-256
// under a server key and compared in constant time:
//
//	$hmac-sha256$k=<master key id>$<base64 MAC>
//
// The HMAC key is an HKDF subkey of the named master key (secrets.master_keys,
// see keyring.Derive), so a stolen database alone does not even let anyone
// test a guess, and no new secret has to be configured. The MAC covers the
// client ID too, so a hash cannot be moved to another client.
//
// Hashes from before this scheme are argon2id PHC strings; they still
// verify (through the password package, under its concurrency gate), and
// Verify asks the caller to replace them, as it does for a hash made under
// an older master key, on the next successful authentication.
package clientsecret

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/keyring"
)

// SecretBytes is the randomness in a generated secret: 256 bits.
const SecretBytes = 32

// MaxLength is the longest secret accepted (the password package's limit).
const MaxLength = password.MaxLength

const (
	scheme  = "$hmac-sha256$k="
	purpose = "faceidp client secret v1"
	// minDistinct is how many different byte values a supplied secret's 32
	// or more decoded bytes must have; random ones have about 30.
	minDistinct = 16
)

// Errors.
var (
	// ErrMalformedHash is returned for a stored value in no known scheme.
	ErrMalformedHash = errors.New("client secret hash is in no known scheme")
	// ErrWeakSecret is returned by CheckSupplied.
	ErrWeakSecret = fmt.Errorf("a client secret must be at least %d random bytes, hex or base64 encoded "+
		"(for example `openssl rand -base64 32`); or let faceidp generate one (--secret generate)", SecretBytes)
)

// Hasher makes and checks client secret hashes. It is safe for concurrent use.
type Hasher struct {
	kr     *keyring.Keyring
	legacy *password.Hasher
	rand   io.Reader

	mu   sync.Mutex
	keys map[string][]byte // master key id -> HMAC subkey
}

// New returns a Hasher over the master keyring. legacy verifies argon2id
// hashes from before this scheme (nil: they are errors); rand makes
// secrets (crypto/rand.Reader in production).
func New(kr *keyring.Keyring, legacy *password.Hasher, rand io.Reader) (*Hasher, error) {
	if kr == nil || rand == nil {
		return nil, errors.New("clientsecret: keyring and rand are required")
	}
	h := &Hasher{kr: kr, legacy: legacy, rand: rand, keys: map[string][]byte{}}
	if _, err := h.key(kr.NewestID()); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Hasher) key(id string) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if k, ok := h.keys[id]; ok {
		return k, nil
	}
	k, err := h.kr.Derive(id, purpose)
	if err != nil {
		return nil, fmt.Errorf("clientsecret: %w", err)
	}
	h.keys[id] = k
	return k, nil
}

// Generate returns a new secret: SecretBytes random bytes, base64url
// without padding (43 characters, safe in URLs and Basic auth).
func (h *Hasher) Generate() (string, error) {
	b := make([]byte, SecretBytes)
	if _, err := io.ReadFull(h.rand, b); err != nil {
		return "", fmt.Errorf("clientsecret: read random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Hash returns the stored form of clientID's secret under the newest key.
func (h *Hasher) Hash(clientID, secret string) (string, error) {
	if len(secret) > MaxLength {
		return "", fmt.Errorf("clientsecret: secret is longer than %d bytes", MaxLength)
	}
	id := h.kr.NewestID()
	k, err := h.key(id)
	if err != nil {
		return "", err
	}
	return scheme + id + "$" + base64.RawStdEncoding.EncodeToString(mac(k, clientID, secret)), nil
}

func mac(key []byte, clientID, secret string) []byte {
	m := hmac.New(sha256.New, key)
	// The client ID is length-prefixed so no (id, secret) pair can be
	// shifted into another.
	m.Write(binary.BigEndian.AppendUint32(nil, uint32(len(clientID))))
	m.Write([]byte(clientID))
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// Verify reports whether secret is clientID's secret stored as encoded.
// rehash is true after a match when encoded should be replaced by Hash's
// result: a legacy argon2id hash, or an HMAC under an older master key.
// A legacy hash is verified under the password Hasher's gate, so it may
// return password.ErrBusy, having verified nothing. A hash naming a master
// key that is no longer configured is an error, never a match.
func (h *Hasher) Verify(clientID, encoded, secret string) (ok, rehash bool, err error) {
	if Legacy(encoded) {
		if h.legacy == nil {
			return false, false, fmt.Errorf("clientsecret: argon2id hash and no password hasher: %w", ErrMalformedHash)
		}
		ok, _, err := h.legacy.Verify(encoded, secret)
		return ok, ok, err
	}
	id, want, err := parse(encoded)
	if err != nil {
		return false, false, err
	}
	k, err := h.key(id)
	if err != nil {
		return false, false, err
	}
	if len(secret) > MaxLength {
		return false, false, nil
	}
	if subtle.ConstantTimeCompare(mac(k, clientID, secret), want) != 1 {
		return false, false, nil
	}
	return true, id != h.kr.NewestID(), nil
}

func parse(encoded string) (keyID string, sum []byte, err error) {
	rest, ok := strings.CutPrefix(encoded, scheme)
	if !ok {
		return "", nil, ErrMalformedHash
	}
	keyID, b64, ok := strings.Cut(rest, "$")
	if !ok || keyID == "" {
		return "", nil, ErrMalformedHash
	}
	sum, err = base64.RawStdEncoding.Strict().DecodeString(b64)
	if err != nil || len(sum) != sha256.Size {
		return "", nil, ErrMalformedHash
	}
	return keyID, sum, nil
}

// Legacy reports whether encoded is an argon2id hash from before this
// scheme: verifying it is expensive, so callers rate-limit it harder.
func Legacy(encoded string) bool { return strings.HasPrefix(encoded, "$argon2id$") }

// Describe names the scheme of a stored hash for operators (client list):
// "hmac-sha256 (key K)" or "argon2id (legacy)". It never shows the hash.
func Describe(encoded string) string {
	switch {
	case encoded == "":
		return "-"
	case Legacy(encoded):
		return "argon2id (legacy)"
	}
	if id, _, err := parse(encoded); err == nil {
		return "hmac-sha256 (key " + id + ")"
	}
	return "unknown"
}

// KeyID returns the master key an HMAC hash was made under ("" for a
// legacy or malformed one).
func KeyID(encoded string) string {
	id, _, err := parse(encoded)
	if err != nil {
		return ""
	}
	return id
}

// CheckSupplied refuses a secret an operator chose that is not visibly
// random: it must decode (hex, or base64 in either alphabet, padded or
// not) to at least SecretBytes bytes with no obvious repetition. Anything
// typed by a person fails, so a secret that could be guessed never gets a
// fast hash.
func CheckSupplied(secret string) error {
	if len(secret) > MaxLength {
		return fmt.Errorf("client secret is too long: at most %d bytes", MaxLength)
	}
	raw, ok := decodeRandom(secret)
	if !ok || len(raw) < SecretBytes {
		return ErrWeakSecret
	}
	var seen [256]bool
	distinct := 0
	for _, b := range raw {
		if !seen[b] {
			seen[b] = true
			distinct++
		}
	}
	if distinct < minDistinct {
		return ErrWeakSecret
	}
	return nil
}

func decodeRandom(s string) ([]byte, bool) {
	if b, err := hex.DecodeString(s); err == nil {
		return b, true
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.Strict().DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}
