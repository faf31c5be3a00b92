// Package policy decides what a login flow does next after each completed
// factor. It is pure: no I/O, no clock; every input is in Input (the
// caller computes ages from its own clock).
//
// # Inputs
//
// The factor policy in force for the client (Policy: global defaults from
// the configuration with the client's overrides, see Resolve): which first
// factors are allowed, the face mode (off, optional, required), whether
// face enrolment is offered, forced or never done during sign-in, and
// whether a user-verified passkey alone satisfies the face requirement.
// The user's state (face template, requirement, recovery codes left, an
// admin's face bypass). The relying app's request (acr_values, max_age).
// The methods completed so far in this sign-in (Completed).
//
// # Rules
//
//   - A first factor (password "pwd", passkey "hwk"/"swk") always comes
//     first, and only one the policy allows counts. Face is only ever a
//     second factor: there is no face-only sign-in, and fallbacks stand in
//     for the face step only, never for the first factor.
//   - Face mode "off" (for the client, or because the server runs no face
//     engine: FaceUnavailable): face is never asked for; a user's or
//     client's requirement is ignored when the mode is off, but when the
//     client's mode requires face and the engine is not running, or the
//     relying app demands face, the sign-in cannot be met (StepUnmet).
//   - Face mode "optional": face is asked of users with a template, and of
//     users marked to require it. A user without a template is offered
//     enrolment (skippable, Decision.Optional) when FaceEnrolment is
//     "offer" and the caller can make the offer (OfferEnrolment), must
//     enrol when it is "force", and is not asked when it is "never".
//   - Face mode "required": every user must pass face; a user without a
//     template enrols during the sign-in, unless FaceEnrolment is "never",
//     which makes the sign-in unmet (reason "face_not_enrolled": enrolment
//     must happen elsewhere, e.g. the account page).
//   - PasskeySkipsFace: after a user-verified passkey (Completed holds its
//     amr value and "mfa", see PasskeyMethods) the client's face mode
//     neither asks for face nor for enrolment. A user's own RequireFace
//     and a relying app's acr_values still do.
//   - acr_values (see ACR*): the requested values the provider knows are
//     tried in the app's order of preference; the first one this sign-in
//     can reach becomes a requirement (face is asked for it even where the
//     client's policy would not), and when none can be reached the
//     decision is StepUnmet with reason "acr_values" (the caller answers
//     unmet_authentication_requirements). Unknown values are ignored, as
//     OIDC allows for voluntary acr requests.
//   - max_age: factors seeded from an existing session (SessionAuthAge set;
//     seed with SessionMethods) older than max_age seconds (or max_age 0)
//     do not count: the decision is StepFirstFactor with Reauthenticate,
//     and the caller drops them.
//   - Fallbacks: where the face step asks the user to verify (not enrol),
//     Decision.Fallbacks lists the fallbacks the user has that satisfy the
//     requirement: a recovery code ("otp", while RecoveryCodes > 0; never
//     when face itself is required by acr_values) and an admin's face
//     bypass (MethodFaceBypass, only where one factor is enough). A used
//     fallback stands in for the face step once; the same sign-in must
//     then enrol the face again (StepFaceEnrol, not optional, whatever
//     FaceEnrolment says). The obligation is carried by Completed, i.e.
//     by the auth request, not by the user: a sign-in abandoned after a
//     fallback leaves the old template in place.
//   - After the factors, consent (if the caller says it is needed), then
//     done.
//
// # amr and acr
//
// amr lists the completed amr values in order, without MethodFaceBypass
// (an administrator's permission is not an authentication method) and
// without "face" when a fallback was used (the face captured then is a
// re-enrolment, not a verification), plus "mfa" when the sign-in is
// multi-factor: two distinct factors (first factor + face, first factor +
// recovery code) or a user-verified passkey. A recovery code is "otp" (a
// one-time password; faceidp has no TOTP).
//
// acr is the first requested value (in the app's order) that the sign-in
// satisfies (ACRFace ⊃ ACRMultiFactor ⊃ ACRSingleFactor); without
// acr_values it is ACRMultiFactor for a multi-factor sign-in (face
// included) and ACRSingleFactor otherwise.
package policy

import (
	"fmt"
	"slices"
	"time"

	"github.com/faceidp/faceidp/models"
)

// FaceMode is the face setting of a client (the global face.mode unless
// the client overrides it).
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

// Enrolment says whether users without a face template enrol during a
// sign-in.
type Enrolment string

const (
	// EnrolOffer: where face is optional, users without a template are
	// offered enrolment and may decline ("Not now"); where face is needed
	// they must enrol.
	EnrolOffer Enrolment = "offer"
	// EnrolForce: users without a template must enrol at this sign-in,
	// also where face is optional.
	EnrolForce Enrolment = "force"
	// EnrolNever: no enrolment during sign-in; where face is needed and
	// the user has no template the sign-in is unmet.
	EnrolNever Enrolment = "never"
)

// ParseEnrolment validates a configured enrolment setting ("" means offer).
func ParseEnrolment(s string) (Enrolment, error) {
	switch Enrolment(s) {
	case "":
		return EnrolOffer, nil
	case EnrolOffer, EnrolForce, EnrolNever:
		return Enrolment(s), nil
	}
	return "", fmt.Errorf("face enrolment %q is not one of offer, force, never", s)
}

// First factor names in policies and configuration.
const (
	FirstFactorPassword = "password"
	FirstFactorPasskey  = "passkey"
)

// RFC 8176 authentication method references, and what Completed holds.
const (
	AMRPassword = "pwd"
	// AMRPasskey is a device-bound passkey (proof of a hardware-secured key).
	AMRPasskey = "hwk"
	// AMRSyncedPasskey is a synced (backup-eligible) passkey.
	AMRSyncedPasskey = "swk"
	AMRFace          = "face"
	AMRMFA           = "mfa"
	// AMRRecoveryCode is a one-time recovery code standing in for face.
	AMRRecoveryCode = "otp"
	// MethodFaceBypass records in Completed that an administrator's face
	// bypass stood in for the face step. It never appears in amr.
	MethodFaceBypass = "face_bypass"
)

// SessionMethods is what an existing login session contributes to
// Completed when a new sign-in starts from it: its amr without a recovery
// code (and the "mfa" that came with it). A fallback stands in for the
// face step of one sign-in; single sign-on to another client from that
// session carries only the first factor (and a face verification, if
// any), so the policy asks for face again where it needs it. Every
// fallback in Completed is therefore one used in this sign-in.
func SessionMethods(amr []string) []string {
	out := make([]string, 0, len(amr))
	recovered := slices.Contains(amr, AMRRecoveryCode)
	for _, m := range amr {
		if m == AMRRecoveryCode || m == MethodFaceBypass || (recovered && m == AMRMFA) {
			continue
		}
		out = append(out, m)
	}
	return out
}

// PasskeyMethods is what the caller appends to Completed after a passkey
// sign-in: its amr value ("hwk" or "swk"), followed by "mfa" when the
// authenticator verified the user (a multi-factor authenticator).
func PasskeyMethods(amr string, userVerified bool) []string {
	if userVerified {
		return []string{amr, AMRMFA}
	}
	return []string{amr}
}

// StepUnmet is the decision when the sign-in cannot satisfy the client's
// policy or the relying app's request (Decision.Unmet says why).
const StepUnmet models.LoginStep = "unmet"

// Reasons in Decision.Unmet.
const (
	// UnmetACR: no requested acr value can be reached.
	UnmetACR = "acr_values"
	// UnmetFaceUnavailable: the client requires face but the server runs
	// no face engine (face.mode off).
	UnmetFaceUnavailable = "face_unavailable"
	// UnmetFaceNotEnrolled: face is needed, the user has no template and
	// enrolment during sign-in is "never".
	UnmetFaceNotEnrolled = "face_not_enrolled"
)

// Input is everything the decision depends on.
type Input struct {
	// The policy in force for the client (see Policy.Input).
	FaceMode FaceMode
	// FirstFactors lists the allowed first factors (FirstFactorPassword,
	// FirstFactorPasskey); empty means both.
	FirstFactors  []string
	FaceEnrolment Enrolment
	// PasskeySkipsFace: a user-verified passkey satisfies the client's
	// face mode.
	PasskeySkipsFace bool
	// FaceUnavailable says the server runs no face engine (global face.mode
	// off), whatever the client's mode says.
	FaceUnavailable bool
	// ClientRequiresFace is models.Client.RequireFace (the same as FaceMode
	// required).
	ClientRequiresFace bool

	// The user (known once a first factor is completed).
	UserRequiresFace bool
	// FaceEnrolled says whether the user has a face template.
	FaceEnrolled bool
	// OfferEnrolment says the caller can offer optional face enrolment now:
	// a face factor is available, the user can interact, and has not
	// declined the offer ("Not now") for this sign-in.
	OfferEnrolment bool
	// RecoveryCodes is how many usable recovery codes the user has.
	RecoveryCodes int
	// FaceBypass says the user holds an administrator's usable face bypass.
	FaceBypass bool

	// The relying app's request.
	ACRValues []string
	// MaxAge is the request's max_age in seconds (nil: none).
	MaxAge *int64
	// SessionAuthAge is set when Completed was seeded from an existing
	// login session (with SessionMethods): its age (now - auth_time). nil
	// when the factors were completed in this sign-in.
	SessionAuthAge *time.Duration

	// Completed holds the methods completed so far, in order: amr values
	// (PasskeyMethods for a passkey) and MethodFaceBypass.
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
	// Optional is true when Next is an offered, skippable enrolment.
	Optional bool
	// FirstFactors lists the first factors the login page may offer
	// (StepFirstFactor only).
	FirstFactors []string
	// Fallbacks lists what the face page may offer instead of the face
	// step (AMRRecoveryCode, MethodFaceBypass), StepSecondFactor only.
	Fallbacks []string
	// Reauthenticate says the completed factors do not count (too old for
	// max_age, or a first factor the client does not allow): the caller
	// drops them before the first factor.
	Reauthenticate bool
	// Unmet is the reason when Next is StepUnmet.
	Unmet string
	AMR   []string
	ACR   string
}

// Next decides the step after the factors in in.Completed.
func Next(in Input) Decision {
	in = in.normalised()
	st := parseCompleted(in)
	reauth := st.disallowedFirst
	if in.SessionAuthAge != nil && in.MaxAge != nil &&
		(*in.MaxAge <= 0 || *in.SessionAuthAge > time.Duration(*in.MaxAge)*time.Second) {
		// Too old for max_age: as if nothing were done.
		st, reauth = completed{}, true
	}
	if st.first == "" {
		d := firstFactor(in, reauth)
		// Answer an impossible acr request before anyone types anything.
		if len(in.ACRValues) > 0 && targetLevel(in, st) == levelNone {
			d.Next, d.Unmet = StepUnmet, UnmetACR
		}
		return d
	}
	d := Decision{AMR: st.amr(), ACR: acrFor(in, st.level())}
	target := targetLevel(in, st)
	if target == levelNone {
		d.Next, d.Unmet = StepUnmet, UnmetACR
		return d
	}
	faceOn := in.FaceMode != FaceOff && !in.FaceUnavailable
	if st.fallback() && !st.face && faceOn {
		// A fallback stood in for face: enrol again, in this sign-in.
		d.Next, d.Factor = models.StepFaceEnrol, AMRFace
		return d
	}
	policyWants := in.FaceMode == FaceRequired || in.ClientRequiresFace ||
		(in.FaceMode == FaceOptional && (in.FaceEnrolled || in.UserRequiresFace))
	if in.FaceMode == FaceOff {
		policyWants = false
	}
	skip := in.PasskeySkipsFace && st.passkeyUV
	if skip {
		policyWants = in.FaceMode != FaceOff && in.UserRequiresFace
	}
	acrWants := target == levelFace || (target == level2FA && st.level() < level2FA)
	if (policyWants || acrWants) && !st.face && !st.fallback() {
		switch {
		case !faceOn && acrWants:
			d.Next, d.Unmet = StepUnmet, UnmetACR
		case !faceOn:
			d.Next, d.Unmet = StepUnmet, UnmetFaceUnavailable
		case in.FaceEnrolled:
			d.Next, d.Factor = models.StepSecondFactor, AMRFace
			d.Fallbacks = fallbacks(in, st, target)
		case in.FaceEnrolment == EnrolNever:
			d.Next, d.Unmet = StepUnmet, UnmetFaceNotEnrolled
		default:
			d.Next, d.Factor = models.StepFaceEnrol, AMRFace
		}
		return d
	}
	if faceOn && in.FaceMode == FaceOptional && !skip && !in.FaceEnrolled && !st.face && !st.fallback() {
		switch {
		case in.FaceEnrolment == EnrolForce:
			d.Next, d.Factor = models.StepFaceEnrol, AMRFace
			return d
		case in.FaceEnrolment == EnrolOffer && in.OfferEnrolment:
			d.Next, d.Factor, d.Optional = models.StepFaceEnrol, AMRFace, true
			return d
		}
	}
	if st.level() < target {
		d.Next, d.Unmet = StepUnmet, UnmetACR
		return d
	}
	if in.ConsentNeeded {
		d.Next = models.StepConsent
	} else {
		d.Next = models.StepDone
	}
	return d
}

func firstFactor(in Input, reauth bool) Decision {
	return Decision{Next: models.StepFirstFactor, FirstFactors: slices.Clone(in.FirstFactors), Reauthenticate: reauth, AMR: []string{}, ACR: ACRSingleFactor}
}

// fallbacks lists the fallbacks the user has that reach target.
func fallbacks(in Input, st completed, target level) []string {
	var out []string
	if in.RecoveryCodes > 0 && level2FA >= target {
		out = append(out, AMRRecoveryCode)
	}
	if in.FaceBypass && st.level() >= target {
		out = append(out, MethodFaceBypass)
	}
	return out
}

func (in Input) normalised() Input {
	if in.FaceMode == "" {
		in.FaceMode = FaceOptional
	}
	if in.FaceEnrolment == "" {
		in.FaceEnrolment = EnrolOffer
	}
	if len(in.FirstFactors) == 0 {
		in.FirstFactors = []string{FirstFactorPassword, FirstFactorPasskey}
	}
	if in.ClientRequiresFace && in.FaceMode != FaceOff {
		in.FaceMode = FaceRequired
	}
	return in
}

// completed is what Completed says.
type completed struct {
	// first is the allowed first factor's amr value ("" if none).
	first string
	// disallowedFirst: a first factor the policy does not allow was
	// completed (e.g. seeded from a session).
	disallowedFirst bool
	passkeyUV       bool
	face            bool
	otp, bypass     bool
	methods         []string
}

func parseCompleted(in Input) completed {
	st := completed{methods: in.Completed}
	allowed := func(m string) bool {
		switch m {
		case AMRPassword:
			return slices.Contains(in.FirstFactors, FirstFactorPassword)
		case AMRPasskey, AMRSyncedPasskey:
			return slices.Contains(in.FirstFactors, FirstFactorPasskey)
		}
		return false
	}
	mfa := false
	for _, m := range in.Completed {
		switch m {
		case AMRPassword, AMRPasskey, AMRSyncedPasskey:
			if !allowed(m) {
				st.disallowedFirst = true
			} else if st.first == "" {
				st.first = m
			}
		case AMRFace:
			st.face = true
		case AMRRecoveryCode:
			st.otp = true
		case MethodFaceBypass:
			st.bypass = true
		case AMRMFA:
			mfa = true
		}
	}
	if st.first == "" {
		st.face, st.otp, st.bypass = false, false, false // nothing counts before a first factor
		return st
	}
	// A user-verified passkey is recorded as its amr value plus "mfa"
	// (PasskeyMethods); in a session's amr "mfa" may also stand for a
	// second factor, in which case the level is multi-factor anyway.
	passkey := st.first == AMRPasskey || st.first == AMRSyncedPasskey
	st.passkeyUV = passkey && mfa && !st.face && !st.otp
	return st
}

func (st completed) fallback() bool { return st.otp || st.bypass }

// level is what the completed methods reach.
func (st completed) level() level {
	switch {
	case st.first == "":
		return levelNone
	case st.face && !st.fallback():
		return levelFace
	case st.otp || st.passkeyUV:
		return level2FA
	}
	return level1FA
}

// amr lists the completed amr values in order (see the package doc).
func (st completed) amr() []string {
	out := make([]string, 0, len(st.methods)+1)
	for _, m := range st.methods {
		switch {
		case m == "" || m == AMRMFA || m == MethodFaceBypass || slices.Contains(out, m):
		case m == AMRFace && st.fallback():
		default:
			out = append(out, m)
		}
	}
	if st.level() >= level2FA {
		out = append(out, AMRMFA)
	}
	return out
}
