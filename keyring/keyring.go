// Package keyring seals small secrets at rest (face templates, signing keys)
// with AES-256-GCM. Every sealed record names the key that sealed it, so keys
// can be rotated: new records use the newest key, old ones stay readable
// until they are re-sealed. Derive gives other uses (keyed hashes) their own
// subkeys of the same named keys, so they rotate the same way.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

// KeySize is the length of every key: AES-256.
const KeySize = 32

// Key is one named 256-bit key.
type Key struct {
	ID     string
	Secret []byte
}

// Keyring holds the configured keys; the last one is the newest and seals.
type Keyring struct {
	aeads   map[string]cipher.AEAD
	secrets map[string][]byte // for Derive only
	newest  string
	rand    io.Reader
}

// ErrUnknownKey is returned by Open for a record sealed under a key that is
// not configured.
var ErrUnknownKey = errors.New("sealed with a key that is not configured")

// New builds a keyring from keys ordered oldest to newest. rand supplies the
// nonces (crypto/rand.Reader in production).
func New(keys []Key, rand io.Reader) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("keyring: no keys configured")
	}
	k := &Keyring{aeads: make(map[string]cipher.AEAD, len(keys)), secrets: make(map[string][]byte, len(keys)), rand: rand}
	for i, key := range keys {
		if key.ID == "" {
			return nil, fmt.Errorf("keyring: key #%d has no id", i+1)
		}
		if len(key.Secret) != KeySize {
			return nil, fmt.Errorf("keyring: key %q is %d bytes, want %d", key.ID, len(key.Secret), KeySize)
		}
		if _, dup := k.aeads[key.ID]; dup {
			return nil, fmt.Errorf("keyring: key id %q appears twice", key.ID)
		}
		block, err := aes.NewCipher(key.Secret)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", key.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", key.ID, err)
		}
		k.aeads[key.ID] = aead
		k.secrets[key.ID] = append([]byte(nil), key.Secret...)
		k.newest = key.ID
	}
	return k, nil
}

// NewestID is the id of the key Seal uses.
func (k *Keyring) NewestID() string { return k.newest }

// Seal encrypts plaintext under the newest key with a random nonce. aad binds
// the ciphertext to its record (for example "face-template:"+userID) so a
// sealed blob cannot be moved to another record.
func (k *Keyring) Seal(plaintext, aad []byte) (keyID string, sealed []byte, err error) {
	aead := k.aeads[k.newest]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := io.ReadFull(k.rand, nonce); err != nil {
		return "", nil, fmt.Errorf("keyring: read nonce: %w", err)
	}
	return k.newest, aead.Seal(nonce, nonce, plaintext, aad), nil
}

// Open decrypts a record sealed under keyID with the same aad.
func (k *Keyring) Open(keyID string, sealed, aad []byte) ([]byte, error) {
	aead, ok := k.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("keyring: key %q: %w", keyID, ErrUnknownKey)
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("keyring: sealed record under key %q is truncated", keyID)
	}
	nonce, ct := sealed[:aead.NonceSize()], sealed[aead.NonceSize():]
	pt, err := aead.Open(nil, nonce, ct, aad)
	if err != nil {
		return nil, fmt.Errorf("keyring: open record under key %q: %w", keyID, err)
	}
	return pt, nil
}

// Reseal re-encrypts a record under the newest key. It returns changed=false
// when the record already uses the newest key.
func (k *Keyring) Reseal(keyID string, sealed, aad []byte) (newKeyID string, resealed []byte, changed bool, err error) {
	if keyID == k.newest {
		return keyID, sealed, false, nil
	}
	pt, err := k.Open(keyID, sealed, aad)
	if err != nil {
		return "", nil, false, err
	}
	newKeyID, resealed, err = k.Seal(pt, aad)
	return newKeyID, resealed, err == nil, err
}

// Derive returns a 32-byte subkey of the key keyID for purpose
// (HKDF-SHA-256, purpose as the info string), so a keyed hash never uses
// the sealing key itself and each purpose gets an independent key. Records
// made with a subkey should name keyID, like sealed records do, so they
// survive a rotation.
func (k *Keyring) Derive(keyID, purpose string) ([]byte, error) {
	secret, ok := k.secrets[keyID]
	if !ok {
		return nil, fmt.Errorf("keyring: key %q: %w", keyID, ErrUnknownKey)
	}
	if purpose == "" {
		return nil, errors.New("keyring: derive: empty purpose")
	}
	sub, err := hkdf.Key(sha256.New, secret, nil, purpose, KeySize)
	if err != nil {
		return nil, fmt.Errorf("keyring: derive %s subkey of %q: %w", purpose, keyID, err)
	}
	return sub, nil
}

// MAC returns HMAC-SHA256 of msg under the subkey of keyID derived for
// label (Derive with purpose "faceidp mac "+label, so MACs for different
// purposes never coincide). It is for secrets that must be recognised but
// never read back, such as recovery codes: the database holds the MAC, the
// key stays in the configuration.
func (k *Keyring) MAC(keyID, label string, msg []byte) ([]byte, error) {
	sub, err := k.Derive(keyID, "faceidp mac "+label)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, sub)
	m.Write(msg)
	return m.Sum(nil), nil
}
