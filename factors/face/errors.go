package face

import (
	"errors"

	"github.com/faceidp/faceidp/faceauth"
)

// Errors returned by the service. Each has its own HTTP status and error
// code in the face API (see docs/face-api.md).
var (
	// ErrChallengeNotFound: the challenge ID is unknown.
	ErrChallengeNotFound = errors.New("face challenge not found")
	// ErrChallengeUsed: the challenge was answered before (replay).
	ErrChallengeUsed = errors.New("face challenge already used")
	// ErrChallengeExpired: the challenge's time ran out.
	ErrChallengeExpired = errors.New("face challenge expired")
	// ErrWrongSession: the challenge belongs to another login flow or session.
	ErrWrongSession = errors.New("face challenge belongs to another sign-in")
	// ErrNotEnrolled: a verification was asked for a user without a template.
	ErrNotEnrolled = errors.New("no face template enrolled")
	// ErrBusy: the engine is saturated; retry later.
	ErrBusy = faceauth.ErrBusy
)

// RefusedError is the engine's refusal of the frames (no face, several
// faces, too dark, ...). The challenge is consumed; nothing is stored.
type RefusedError struct {
	Input *faceauth.InputError
}

func (e *RefusedError) Error() string { return "face refused: " + e.Input.Message }

// Unwrap returns the engine's *faceauth.InputError.
func (e *RefusedError) Unwrap() error { return e.Input }

// BusyError is ErrBusy (errors.Is(err, ErrBusy) holds) when the engine
// refused an answer because it was saturated. The answered challenge is
// used up like any other (a replay of it is refused), but the attempt is
// not lost: Retry is a fresh challenge with the same user, binding,
// purpose, actions and expiry, to which the same frames can be sent again
// after a pause. Retry is nil when it could not be stored.
type BusyError struct {
	Retry *Challenge
}

func (e *BusyError) Error() string { return ErrBusy.Error() }

// Unwrap returns ErrBusy.
func (e *BusyError) Unwrap() error { return ErrBusy }
