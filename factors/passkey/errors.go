package passkey

import (
	"errors"
	"fmt"
)

var (
	// ErrCeremonyNotFound: no such ceremony (never issued, or expired and
	// cleaned up).
	ErrCeremonyNotFound = errors.New("passkey: unknown ceremony")
	// ErrCeremonyUsed: the ceremony was answered before (a replay).
	ErrCeremonyUsed = errors.New("passkey: ceremony already used")
	// ErrCeremonyExpired: answered after Config.ChallengeTTL.
	ErrCeremonyExpired = errors.New("passkey: ceremony expired")
	// ErrWrongBinding: the ceremony belongs to another sign-in or browser,
	// or is of another kind (a registration answered as a sign-in).
	ErrWrongBinding = errors.New("passkey: ceremony belongs to another sign-in, browser or purpose")
	// ErrMalformedResponse: the authenticator response could not be read.
	ErrMalformedResponse = errors.New("passkey: malformed authenticator response")
	// ErrVerification: the response failed WebAuthn verification (origin,
	// RP ID, challenge, signature, flags, user verification).
	ErrVerification = errors.New("passkey: verification failed")
	// ErrUnknownCredential: the credential is not registered (removed, or
	// never), or belongs to someone other than the user signing in.
	ErrUnknownCredential = errors.New("passkey: unknown credential")
	// ErrCounterRegressed: the sign counter did not increase: possibly a
	// cloned authenticator. The sign-in is refused and audited.
	ErrCounterRegressed = errors.New("passkey: sign counter did not increase (possible cloned authenticator)")
	// ErrAlreadyRegistered: the credential is registered already.
	ErrAlreadyRegistered = errors.New("passkey: credential already registered")
	// ErrTooManyPasskeys: the user has Config.MaxPerUser passkeys.
	ErrTooManyPasskeys = errors.New("passkey: too many passkeys")
	// ErrInvalidName: a name that is empty, too long or has control
	// characters.
	ErrInvalidName = errors.New("passkey: invalid name")
	// ErrNotFound: no passkey with that id for the user.
	ErrNotFound = errors.New("passkey: no such passkey")
)

// Failure is the error FinishLogin returns for a refused assertion. It
// wraps one of the sentinels and names what was identified, so the caller
// can count the failure for that user and audit it.
type Failure struct {
	Err error
	// UserID is the account the credential belongs to ("" when the
	// credential is unknown or the ceremony could not be read).
	UserID string
	// PasskeyID is faceidp's id of the credential ("" when unknown).
	PasskeyID string
	// AMR is "hwk" or "swk" when the credential was identified.
	AMR string
	// Detail is for the audit log, never for the user.
	Detail string
}

func (f *Failure) Error() string {
	if f.Detail == "" {
		return f.Err.Error()
	}
	return fmt.Sprintf("%v: %s", f.Err, f.Detail)
}

func (f *Failure) Unwrap() error { return f.Err }
