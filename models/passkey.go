package models

import "time"

// Passkey is a registered WebAuthn credential (a passkey or security key)
// that signs a user in as the first factor. Only public data is stored: the
// private key never leaves the authenticator.
type Passkey struct {
	// ID is faceidp's own identifier of the record (random, URL-safe), used
	// by the account page to rename or remove it.
	ID     string `gorm:"primaryKey;size:64"`
	UserID string `gorm:"index;size:64;not null"`
	// CredentialID is the authenticator's credential id (up to 1023 bytes);
	// an assertion names it, so it is unique across all users.
	CredentialID []byte `gorm:"uniqueIndex;not null"`
	// PublicKey is the COSE-encoded credential public key.
	PublicKey []byte `gorm:"not null"`
	// AttestationType and AttestationFormat are what the authenticator
	// conveyed at registration (faceidp asks for "none").
	AttestationType   string `gorm:"size:32"`
	AttestationFormat string `gorm:"size:32"`
	// AAGUID names the authenticator model (all zeros when not disclosed),
	// in the canonical 8-4-4-4-12 hex form.
	AAGUID string `gorm:"size:36"`
	// Transports the browser reported (usb, nfc, ble, internal, hybrid).
	Transports []string `gorm:"serializer:json"`
	// Attachment is "platform" or "cross-platform" when the browser said.
	Attachment string `gorm:"size:32"`
	// UserVerified records whether the authenticator verified the user
	// (PIN or biometric) at registration or its latest use.
	UserVerified bool
	// BackupEligible (BE) says the credential can be synced to other
	// devices (a synced passkey); it never changes for a credential.
	BackupEligible bool
	// BackupState (BS) says the credential is currently backed up; it is
	// updated at every use.
	BackupState bool
	// SignCount is the authenticator's signature counter at the latest
	// use; 0 for authenticators that keep no counter.
	SignCount int64
	// Name is the user's label ("YubiKey 5", "Phone").
	Name       string `gorm:"size:64"`
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// PasskeyUse is what a verified assertion changes on a passkey.
type PasskeyUse struct {
	SignCount    uint32
	BackupState  bool
	UserVerified bool
	UsedAt       time.Time
}

// WebAuthnPurpose says what a WebAuthn ceremony is for.
type WebAuthnPurpose string

const (
	// WebAuthnRegister registers a new passkey for WebAuthnSession.UserID.
	WebAuthnRegister WebAuthnPurpose = "register"
	// WebAuthnLogin is a discoverable (usernameless) sign-in: any
	// registered passkey may answer and names its user.
	WebAuthnLogin WebAuthnPurpose = "login"
	// WebAuthnLoginUser is a username-first sign-in: only a passkey of
	// WebAuthnSession.UserID may answer (an empty UserID, for an unknown
	// username, matches nobody).
	WebAuthnLoginUser WebAuthnPurpose = "login_user"
)

// WebAuthnSession is the server side of one WebAuthn ceremony: its
// challenge and parameters, single-use, bound to a sign-in and a browser,
// expiring.
type WebAuthnSession struct {
	// ID is handed to the browser with the options and sent back with the
	// authenticator's response.
	ID            string          `gorm:"primaryKey;size:64"`
	Purpose       WebAuthnPurpose `gorm:"size:16;not null"`
	AuthRequestID string          `gorm:"index;size:64"`
	// BrowserBinding is the hash of the browser's binding cookie (as on the
	// auth request), or of the session cookie on the account page.
	BrowserBinding string `gorm:"size:128"`
	UserID         string `gorm:"index;size:64"`
	// Data is go-webauthn's SessionData (challenge, allowed credentials,
	// user verification) as JSON.
	Data      []byte `gorm:"not null"`
	CreatedAt time.Time
	ExpiresAt time.Time `gorm:"index"`
	UsedAt    *time.Time
}

// TableName keeps WebAuthn one word in the schema.
func (WebAuthnSession) TableName() string { return "webauthn_sessions" }
