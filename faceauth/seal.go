package faceauth

import (
	"fmt"

	"github.com/faceidp/faceidp/keyring"
)

// templateAAD binds a sealed template to its user, so a sealed blob copied
// to another user's record does not open.
func templateAAD(userID string) []byte { return []byte("face-template:" + userID) }

// SealTemplate encrypts t for userID under the keyring's newest key.
func SealTemplate(kr *keyring.Keyring, userID string, t *Template) (keyID string, sealed []byte, err error) {
	pt, err := t.MarshalBinary()
	if err != nil {
		return "", nil, fmt.Errorf("seal face template of %s: %w", userID, err)
	}
	keyID, sealed, err = kr.Seal(pt, templateAAD(userID))
	clear(pt)
	if err != nil {
		return "", nil, fmt.Errorf("seal face template of %s: %w", userID, err)
	}
	return keyID, sealed, nil
}

// OpenTemplate decrypts a template sealed for userID under keyID.
func OpenTemplate(kr *keyring.Keyring, userID, keyID string, sealed []byte) (*Template, error) {
	pt, err := kr.Open(keyID, sealed, templateAAD(userID))
	if err != nil {
		return nil, fmt.Errorf("open face template of %s: %w", userID, err)
	}
	defer clear(pt)
	var t Template
	if err := t.UnmarshalBinary(pt); err != nil {
		return nil, fmt.Errorf("open face template of %s: %w", userID, err)
	}
	return &t, nil
}

// ResealTemplate re-encrypts a sealed template under the newest key (for
// `faceidp keys rotate-templates`); changed is false when it already was.
func ResealTemplate(kr *keyring.Keyring, userID, keyID string, sealed []byte) (newKeyID string, resealed []byte, changed bool, err error) {
	newKeyID, resealed, changed, err = kr.Reseal(keyID, sealed, templateAAD(userID))
	if err != nil {
		return "", nil, false, fmt.Errorf("reseal face template of %s: %w", userID, err)
	}
	return newKeyID, resealed, changed, nil
}
