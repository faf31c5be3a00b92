package policy

import "slices"

// Authentication context class references (the acr claim and the values a
// relying app may request with acr_values). Each level includes the ones
// below it.
const (
	// ACRSingleFactor: the user signed in with one factor, a password or a
	// passkey without user verification.
	ACRSingleFactor = "urn:faceidp:acr:1fa"
	// ACRMultiFactor: two independent factors: a password or passkey plus
	// the face step, a password or passkey plus a one-time recovery code,
	// or a user-verified passkey alone (a multi-factor authenticator,
	// NIST SP 800-63B).
	ACRMultiFactor = "urn:faceidp:acr:2fa"
	// ACRFace: multi-factor, and the face step was passed in this sign-in:
	// a live challenge matched against the user's template (or, at the
	// user's first sign-in with face, the live enrolment that created it).
	// A recovery code or an administrator's bypass never reaches it.
	ACRFace = "urn:faceidp:acr:face"
)

// ACRValuesSupported is what discovery advertises, weakest first.
func ACRValuesSupported() []string {
	return []string{ACRSingleFactor, ACRMultiFactor, ACRFace}
}

type level int

const (
	levelNone level = iota
	level1FA
	level2FA
	levelFace
)

var acrLevels = map[string]level{ACRSingleFactor: level1FA, ACRMultiFactor: level2FA, ACRFace: levelFace}

// levelACR is the acr reported without acr_values: ACRFace is reported
// only to an app that asked for it (amr says "face" in any case), so the
// acr of existing apps stays 1fa/2fa.
var levelACR = map[level]string{levelNone: ACRSingleFactor, level1FA: ACRSingleFactor, level2FA: ACRMultiFactor, levelFace: ACRMultiFactor}

// requested returns the known requested levels in the app's order.
func requested(values []string) []level {
	var out []level
	for _, v := range values {
		if l, ok := acrLevels[v]; ok {
			out = append(out, l)
		}
	}
	return out
}

// targetLevel is the level this sign-in must reach: the first requested
// level it can reach, levelNone when acr_values were given and none can
// be reached, level1FA without a (known) request.
func targetLevel(in Input, st completed) level {
	req := requested(in.ACRValues)
	if len(req) == 0 {
		return level1FA
	}
	for _, l := range req {
		if reachable(in, st, l) {
			return l
		}
	}
	return levelNone
}

// reachable says whether the sign-in can still reach l. Before a first
// factor the user is unknown, so their template is assumed possible.
func reachable(in Input, st completed, l level) bool {
	if st.level() >= l {
		return true
	}
	userKnown := st.first != ""
	faceOn := in.FaceMode != FaceOff && !in.FaceUnavailable
	faceReachable := faceOn && !st.fallback() && (!userKnown || in.FaceEnrolled || in.FaceEnrolment != EnrolNever)
	passkeyAllowed := slices.Contains(in.FirstFactors, FirstFactorPasskey)
	switch l {
	case level1FA:
		return true
	case level2FA:
		return faceReachable || (!userKnown && passkeyAllowed)
	case levelFace:
		return faceReachable
	}
	return false
}

// acrFor is the acr to report for a sign-in that reached got.
func acrFor(in Input, got level) string {
	for _, v := range in.ACRValues {
		if l, ok := acrLevels[v]; ok && got >= l {
			return v
		}
	}
	return levelACR[got]
}
