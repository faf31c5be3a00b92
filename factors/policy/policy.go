// Package policy decides what a login flow does next after each completed
// factor. It is pure: no I/O, no clock; every input is in Input.
//
// Rules:
//   - A first factor (password "pwd" or passkey "hwk") always comes first.
//     Face is only ever a second factor: there is no face-only sign-in.
//   - FaceMode "off": the face factor is never asked for (a user's or
//     client's RequireFace is ignored; the operator switched face off).
//   - FaceMode "optional": face is asked for when the user has enrolled a
//     template, or when the user or the client requires it (an unenrolled
//     user who must use face is sent to enrolment). Any other user without
//     a template is offered enrolment after the first factor when the
//     caller can make the offer (Input.OfferEnrolment); that step is
//     Decision.Optional: the user may skip it ("Not now") and the sign-in
//     continues with the first factor alone.
//   - FaceMode "required": every user must pass face; unenrolled users are
//     sent to enrolment, with no skip.
//   - After the factors, consent (if the caller says it is needed), then done.
//
// amr lists the completed factors in order, plus "mfa" when two or more
// distinct factors were used (RFC 8176); acr is ACRMultiFactor then, else
// ACRSingleFactor.
package policy

import (
	"fmt"
	"slices"

	"github.com/faceidp/faceidp/models"
)

// FaceMode is the operator's global face setting.
type FaceMode string

const (
	FaceOff      FaceMode = "off"
	FaceOptional FaceMode = "optional"
	FaceRequired FaceMode = "required"
)

// ParseFaceMode validates a configured mode ("" means optional).
func ParseFaceMode(s string) (FaceMode, error) {
	switch FaceMode(s) {
	case "":
		return FaceOptional, nil
	case FaceOff, FaceOptional, FaceRequired:
		return FaceMode(s), nil
	}
	return "", fmt.Errorf("face mode %q is not one of off, optional, required", s)
}

// RFC 8176 authentication method references.
const (
	AMRPassword = "pwd"
	AMRPasskey  = "hwk"
	AMRFace     = "face"
	AMRMFA      = "mfa"
)

// Authentication context class references reported in the acr claim.
const (
	ACRSingleFactor = "urn:faceidp:acr:1fa"
	ACRMultiFactor  = "urn:faceidp:acr:2fa"
)

// Input is everything the decision depends on.
type Input struct {
	FaceMode           FaceMode
	UserRequiresFace   bool
	ClientRequiresFace bool
	// FaceEnrolled says whether the user has a face template.
	FaceEnrolled bool
	// OfferEnrolment says the caller can offer optional face enrolment now:
	// a face factor is available, the user can interact, and has not
	// declined the offer ("Not now") for this sign-in.
	OfferEnrolment bool
	// Completed holds the amr values of the factors completed so far.
	Completed []string
	// ConsentNeeded says whether the consent page must be shown.
	ConsentNeeded bool
}

// Decision is the next step and what to report once the flow is done.
type Decision struct {
	Next models.LoginStep
	// Factor is the amr value of the factor Next asks for (for
	// StepSecondFactor and StepFaceEnrol), empty otherwise.
	Factor string
	// Optional is true when Next is an offered, skippable enrolment
	// (FaceMode optional, face not required for this user or client).
	Optional bool
	AMR      []string
	ACR      string
}

// FaceNeeded reports whether in requires the face factor at all.
func FaceNeeded(in Input) bool {
	switch in.FaceMode {
	case FaceRequired:
		return true
	case FaceOff:
		return false
	default: // optional
		return in.FaceEnrolled || in.UserRequiresFace || in.ClientRequiresFace
	}
}

// Next decides the step after the factors in in.Completed.
func Next(in Input) Decision {
	d := Decision{AMR: amr(in.Completed)}
	d.ACR = ACRSingleFactor
	if slices.Contains(d.AMR, AMRMFA) {
		d.ACR = ACRMultiFactor
	}
	switch {
	case !slices.Contains(in.Completed, AMRPassword) && !slices.Contains(in.Completed, AMRPasskey):
		d.Next = models.StepFirstFactor
	case FaceNeeded(in) && !slices.Contains(in.Completed, AMRFace):
		d.Factor = AMRFace
		if in.FaceEnrolled {
			d.Next = models.StepSecondFactor
		} else {
			d.Next = models.StepFaceEnrol
		}
	case offerEnrolment(in):
		d.Next, d.Factor, d.Optional = models.StepFaceEnrol, AMRFace, true
	case in.ConsentNeeded:
		d.Next = models.StepConsent
	default:
		d.Next = models.StepDone
	}
	return d
}

// offerEnrolment reports whether an optional enrolment is offered (called
// once face is known not to be needed).
func offerEnrolment(in Input) bool {
	return in.FaceMode != FaceOff && in.FaceMode != FaceRequired &&
		in.OfferEnrolment && !in.FaceEnrolled && !slices.Contains(in.Completed, AMRFace)
}

// amr returns the distinct completed factors in order, with "mfa" appended
// when there are at least two.
func amr(completed []string) []string {
	out := make([]string, 0, len(completed)+1)
	for _, c := range completed {
		if c != "" && c != AMRMFA && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if len(out) >= 2 {
		out = append(out, AMRMFA)
	}
	return out
}
