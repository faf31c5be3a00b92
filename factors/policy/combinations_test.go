package policy

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/faceidp/faceidp/models"
)

// The cross product of every policy input, each decision checked against
// invariants that must hold whatever the combination.

type ageCase struct {
	name   string
	maxAge *int64
	age    *time.Duration
}

func dur(d time.Duration) *time.Duration { return &d }
func secs(n int64) *int64                { return &n }

var (
	allModes       = []FaceMode{FaceOff, FaceOptional, FaceRequired}
	allEnrolments  = []Enrolment{EnrolOffer, EnrolForce, EnrolNever}
	allFirstFactor = [][]string{nil, {FirstFactorPassword}, {FirstFactorPasskey}}
	allACRs        = [][]string{nil, {ACRSingleFactor}, {ACRMultiFactor}, {ACRFace}, {ACRFace, ACRMultiFactor}, {"urn:other:acr"}}
	allAges        = []ageCase{
		{"fresh", nil, nil},
		{"session within max_age", secs(60), dur(30 * time.Second)},
		{"session older than max_age", secs(60), dur(2 * time.Minute)},
		{"max_age=0", secs(0), dur(0)},
	}
	allCompleted = [][]string{
		nil,
		{AMRPassword},
		{AMRPasskey},
		{AMRSyncedPasskey, AMRMFA},
		{AMRPasskey, AMRMFA},
		{AMRPassword, AMRFace},
		{AMRSyncedPasskey, AMRMFA, AMRFace},
		{AMRPassword, AMRRecoveryCode},
		{AMRPassword, MethodFaceBypass},
		{AMRPassword, AMRRecoveryCode, AMRFace},
		{AMRPasskey, MethodFaceBypass, AMRFace},
		{AMRFace},
		{AMRPassword, AMRFace, AMRMFA},
	}
	bools = []bool{false, true}
)

// forEachInput calls fn with every combination of the inputs.
func forEachInput(fn func(in Input)) {
	for _, mode := range allModes {
		for _, unavailable := range bools {
			for _, ff := range allFirstFactor {
				for _, enrol := range allEnrolments {
					for _, skip := range bools {
						for _, clientReq := range bools {
							for _, userReq := range bools {
								for _, enrolled := range bools {
									for _, offer := range bools {
										for _, codes := range []int{0, 3} {
											for _, bypass := range bools {
												for _, acr := range allACRs {
													for _, age := range allAges {
														for _, done := range allCompleted {
															for _, consent := range bools {
																fn(Input{
																	FaceMode: mode, FaceUnavailable: unavailable, FirstFactors: ff,
																	FaceEnrolment: enrol, PasskeySkipsFace: skip, ClientRequiresFace: clientReq,
																	UserRequiresFace: userReq, FaceEnrolled: enrolled, OfferEnrolment: offer,
																	RecoveryCodes: codes, FaceBypass: bypass, ACRValues: acr,
																	MaxAge: age.maxAge, SessionAuthAge: age.age,
																	Completed: done, ConsentNeeded: consent,
																})
															}
														}
													}
												}
											}
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
}

func TestEveryCombination(t *testing.T) {
	if testing.Short() {
		t.Skip("the cross product takes a few seconds")
	}
	n, failures := 0, 0
	forEachInput(func(in Input) {
		n++
		for _, msg := range violations(in) {
			failures++
			if failures <= 20 {
				t.Errorf("%s\n  input:    %+v\n  decision: %+v", msg, in, Next(in))
			}
		}
	})
	if failures > 20 {
		t.Errorf("... %d violations in all", failures)
	}
	if n < 1_000_000 {
		t.Fatalf("only %d combinations checked", n)
	}
	t.Logf("%d combinations checked", n)
}

// violations returns every invariant d breaks for in.
func violations(in Input) []string {
	before := slices.Clone(in.Completed)
	d := Next(in)
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	if !slices.Equal(in.Completed, before) {
		fail("Next changed Completed")
	}
	if again := Next(in); !reflect.DeepEqual(d, again) {
		fail("Next is not deterministic")
	}

	mode := in.FaceMode
	if mode == "" {
		mode = FaceOptional
	}
	if in.ClientRequiresFace && mode != FaceOff {
		mode = FaceRequired
	}
	enrol := in.FaceEnrolment
	if enrol == "" {
		enrol = EnrolOffer
	}
	ff := in.FirstFactors
	if len(ff) == 0 {
		ff = []string{FirstFactorPassword, FirstFactorPasskey}
	}
	faceOn := mode != FaceOff && !in.FaceUnavailable
	tooOld := in.SessionAuthAge != nil && in.MaxAge != nil && (*in.MaxAge <= 0 || *in.SessionAuthAge > time.Duration(*in.MaxAge)*time.Second)
	first := ""
	for _, m := range in.Completed {
		ok := (m == AMRPassword && slices.Contains(ff, FirstFactorPassword)) ||
			((m == AMRPasskey || m == AMRSyncedPasskey) && slices.Contains(ff, FirstFactorPasskey))
		if ok && first == "" {
			first = m
		}
	}
	if tooOld {
		first = ""
	}
	has := func(m string) bool { return first != "" && slices.Contains(in.Completed, m) }
	fallback := has(AMRRecoveryCode) || has(MethodFaceBypass)
	uvPasskey := (first == AMRPasskey || first == AMRSyncedPasskey) && has(AMRMFA) && !has(AMRFace) && !has(AMRRecoveryCode)
	var knownACR []string
	for _, v := range in.ACRValues {
		if slices.Contains(ACRValuesSupported(), v) {
			knownACR = append(knownACR, v)
		}
	}
	onlyFace := slices.Equal(knownACR, []string{ACRFace})
	faceStep := d.Next == models.StepSecondFactor || d.Next == models.StepFaceEnrol
	finished := d.Next == models.StepConsent || d.Next == models.StepDone

	switch d.Next {
	case models.StepFirstFactor, models.StepSecondFactor, models.StepFaceEnrol, models.StepConsent, models.StepDone, StepUnmet:
	default:
		fail("unknown step %q", d.Next)
	}
	if (d.Next == StepUnmet) != (d.Unmet != "") {
		fail("StepUnmet without a reason, or a reason without StepUnmet")
	}
	if faceStep && (first == "" || d.Factor != AMRFace) {
		fail("face step before a first factor, or for factor %q", d.Factor)
	}
	if faceStep && !faceOn {
		fail("face asked for with face off or unavailable")
	}
	if !faceStep && d.Factor != "" {
		fail("Factor %q outside a face step", d.Factor)
	}
	if !faceOn && onlyFace && !(has(AMRFace) && !fallback) && d.Next != StepUnmet && d.Next != models.StepFirstFactor {
		fail("acr face requested with face off: not unmet")
	}
	if !faceOn && onlyFace && d.Next == models.StepFirstFactor {
		fail("acr face requested with face off: unmet should be answered before the first factor")
	}
	if (d.Next == models.StepFirstFactor) != (first == "" && d.Next != StepUnmet) && !(first == "" && d.Next == StepUnmet) {
		fail("first factor step iff no allowed first factor completed")
	}
	if d.Reauthenticate && d.Next != models.StepFirstFactor && d.Next != StepUnmet {
		fail("Reauthenticate on step %s", d.Next)
	}
	if tooOld && len(in.Completed) > 0 && !d.Reauthenticate {
		fail("factors older than max_age were accepted")
	}
	if (d.FirstFactors != nil) != (d.Next == models.StepFirstFactor || (d.Next == StepUnmet && first == "")) {
		fail("FirstFactors %v on step %s", d.FirstFactors, d.Next)
	}
	if finished {
		if first == "" {
			fail("finished without a first factor")
		}
		if (d.Next == models.StepConsent) != in.ConsentNeeded {
			fail("consent step %s with ConsentNeeded=%v", d.Next, in.ConsentNeeded)
		}
		if len(knownACR) > 0 && !slices.Contains(knownACR, d.ACR) {
			fail("acr %s is not one of the requested %v", d.ACR, knownACR)
		}
		skipped := in.PasskeySkipsFace && uvPasskey && !in.UserRequiresFace
		if faceOn && mode == FaceRequired && !skipped && !fallback && !has(AMRFace) {
			fail("finished without face where the client requires it")
		}
		if onlyFace && !slices.Contains(d.AMR, AMRFace) {
			fail("acr face requested, finished without face in amr")
		}
		if fallback && !has(AMRFace) && faceOn {
			fail("finished after a fallback without re-enrolling")
		}
	}
	if !slices.Contains(ACRValuesSupported(), d.ACR) {
		fail("acr %q is not advertised", d.ACR)
	}
	if d.ACR == ACRFace && !slices.Contains(d.AMR, AMRFace) {
		fail("acr face without face in amr")
	}
	seen := map[string]bool{}
	for i, m := range d.AMR {
		if seen[m] {
			fail("amr %v repeats %s", d.AMR, m)
		}
		seen[m] = true
		switch m {
		case MethodFaceBypass:
			fail("amr names the admin bypass")
		case AMRFace:
			if !has(AMRFace) || fallback {
				fail("amr claims face after a fallback or without face")
			}
		case AMRMFA:
			if i != len(d.AMR)-1 {
				fail("mfa is not last in %v", d.AMR)
			}
		}
	}
	if slices.Contains(d.AMR, AMRMFA) != (first != "" && ((has(AMRFace) && !fallback) || has(AMRRecoveryCode) || uvPasskey)) {
		fail("mfa in amr %v does not match a multi-factor sign-in", d.AMR)
	}
	if d.Optional && (d.Next != models.StepFaceEnrol || mode != FaceOptional || enrol != EnrolOffer || !in.OfferEnrolment || in.FaceEnrolled) {
		fail("optional enrolment where it may not be skipped")
	}
	if d.Next == models.StepFaceEnrol && enrol == EnrolNever && !fallback {
		fail("enrolment during sign-in with enrolment never")
	}
	if d.Next == models.StepFaceEnrol && in.FaceEnrolled && !fallback {
		fail("enrolled user sent to enrolment without a fallback")
	}
	if d.Next == models.StepSecondFactor && !in.FaceEnrolled {
		fail("verification asked of a user without a template")
	}
	if len(d.Fallbacks) > 0 && d.Next != models.StepSecondFactor {
		fail("fallbacks outside the face verification step")
	}
	for _, fb := range d.Fallbacks {
		switch {
		case fb == AMRRecoveryCode && in.RecoveryCodes == 0,
			fb == MethodFaceBypass && !in.FaceBypass,
			fb != AMRRecoveryCode && fb != MethodFaceBypass:
			fail("fallback %s offered that the user does not have", fb)
		}
		if onlyFace {
			fail("fallback %s offered although the app demands face", fb)
		}
	}
	if fallback && !has(AMRFace) && faceOn && first != "" && d.Next != StepUnmet &&
		(d.Next != models.StepFaceEnrol || d.Optional) {
		fail("fallback used, but the next step is not a forced re-enrolment")
	}
	return bad
}

// The decisions a user and an operator would notice, one row each.
func TestDecisionTable(t *testing.T) {
	pwd := []string{AMRPassword}
	uvKey := PasskeyMethods(AMRPasskey, true)
	synced := PasskeyMethods(AMRSyncedPasskey, false)
	tests := []struct {
		name      string
		in        Input
		next      models.LoginStep
		unmet     string
		amr       []string
		acr       string
		fallbacks []string
	}{
		{"passkey without UV, face optional, not enrolled: done, one factor",
			Input{Completed: synced}, models.StepDone, "", []string{"swk"}, ACRSingleFactor, nil},
		{"UV passkey alone is multi-factor",
			Input{Completed: uvKey}, models.StepDone, "", []string{"hwk", "mfa"}, ACRMultiFactor, nil},
		{"UV passkey, face required, no skip: face still asked (the default)",
			Input{FaceMode: FaceRequired, FaceEnrolled: true, Completed: uvKey}, models.StepSecondFactor, "", []string{"hwk", "mfa"}, ACRMultiFactor, nil},
		{"UV passkey, face required, client lets it skip face",
			Input{FaceMode: FaceRequired, PasskeySkipsFace: true, FaceEnrolled: true, Completed: uvKey}, models.StepDone, "", []string{"hwk", "mfa"}, ACRMultiFactor, nil},
		{"skip does not cover a passkey without UV",
			Input{FaceMode: FaceRequired, PasskeySkipsFace: true, FaceEnrolled: true, Completed: []string{AMRPasskey}}, models.StepSecondFactor, "", []string{"hwk"}, ACRSingleFactor, nil},
		{"skip does not override the user's own requirement",
			Input{FaceMode: FaceOptional, PasskeySkipsFace: true, UserRequiresFace: true, FaceEnrolled: true, Completed: uvKey}, models.StepSecondFactor, "", []string{"hwk", "mfa"}, ACRMultiFactor, nil},
		{"skip does not override acr face",
			Input{FaceMode: FaceRequired, PasskeySkipsFace: true, FaceEnrolled: true, ACRValues: []string{ACRFace}, Completed: uvKey}, models.StepSecondFactor, "", []string{"hwk", "mfa"}, ACRMultiFactor, nil},
		{"UV passkey then face: face acr when asked",
			Input{FaceMode: FaceRequired, FaceEnrolled: true, ACRValues: []string{ACRFace}, Completed: append(uvKey[:2:2], AMRFace)}, models.StepDone, "", []string{"hwk", "face", "mfa"}, ACRFace, nil},
		{"face passed without acr_values reports 2fa",
			Input{FaceMode: FaceRequired, FaceEnrolled: true, Completed: []string{AMRPassword, AMRFace}}, models.StepDone, "", []string{"pwd", "face", "mfa"}, ACRMultiFactor, nil},
		{"acr 2fa echoed when face passed",
			Input{FaceEnrolled: true, ACRValues: []string{ACRMultiFactor}, Completed: []string{AMRPassword, AMRFace}}, models.StepDone, "", []string{"pwd", "face", "mfa"}, ACRMultiFactor, nil},
		{"acr face with face off: unmet before the first factor",
			Input{FaceMode: FaceOff, ACRValues: []string{ACRFace}}, StepUnmet, UnmetACR, []string{}, ACRSingleFactor, nil},
		{"acr face with no face engine: unmet",
			Input{FaceMode: FaceRequired, FaceUnavailable: true, ACRValues: []string{ACRFace}}, StepUnmet, UnmetACR, []string{}, ACRSingleFactor, nil},
		{"acr face or 2fa with face off: 2fa by passkey is still possible",
			Input{FaceMode: FaceOff, ACRValues: []string{ACRFace, ACRMultiFactor}}, models.StepFirstFactor, "", []string{}, ACRSingleFactor, nil},
		{"acr 2fa, face off, password: unmet",
			Input{FaceMode: FaceOff, ACRValues: []string{ACRMultiFactor}, Completed: pwd}, StepUnmet, UnmetACR, []string{"pwd"}, ACRSingleFactor, nil},
		{"acr 2fa, face off, UV passkey: done",
			Input{FaceMode: FaceOff, ACRValues: []string{ACRMultiFactor}, Completed: uvKey}, models.StepDone, "", []string{"hwk", "mfa"}, ACRMultiFactor, nil},
		{"acr 2fa, face off, passwords only: unmet at once",
			Input{FaceMode: FaceOff, FirstFactors: []string{FirstFactorPassword}, ACRValues: []string{ACRMultiFactor}}, StepUnmet, UnmetACR, []string{}, ACRSingleFactor, nil},
		{"acr face, face optional, not enrolled: enrol, no skip",
			Input{FaceMode: FaceOptional, OfferEnrolment: true, ACRValues: []string{ACRFace}, Completed: pwd}, models.StepFaceEnrol, "", []string{"pwd"}, ACRSingleFactor, nil},
		{"acr face, enrolment never, not enrolled: unmet",
			Input{FaceEnrolment: EnrolNever, ACRValues: []string{ACRFace}, Completed: pwd}, StepUnmet, UnmetACR, []string{"pwd"}, ACRSingleFactor, nil},
		{"unknown acr values are ignored",
			Input{ACRValues: []string{"urn:mace:incommon:iap:silver"}, Completed: pwd}, models.StepDone, "", []string{"pwd"}, ACRSingleFactor, nil},
		{"client requires face, engine off: unmet",
			Input{FaceMode: FaceRequired, FaceUnavailable: true, Completed: pwd}, StepUnmet, UnmetFaceUnavailable, []string{"pwd"}, ACRSingleFactor, nil},
		{"face required, enrolment never, no template: unmet",
			Input{FaceMode: FaceRequired, FaceEnrolment: EnrolNever, Completed: pwd}, StepUnmet, UnmetFaceNotEnrolled, []string{"pwd"}, ACRSingleFactor, nil},
		{"face optional, enrolment forced: enrol without skip",
			Input{FaceEnrolment: EnrolForce, Completed: pwd}, models.StepFaceEnrol, "", []string{"pwd"}, ACRSingleFactor, nil},
		{"face optional, enrolment never: no offer",
			Input{FaceEnrolment: EnrolNever, OfferEnrolment: true, Completed: pwd}, models.StepDone, "", []string{"pwd"}, ACRSingleFactor, nil},
		{"client allows passkeys only: a password does not count",
			Input{FirstFactors: []string{FirstFactorPasskey}, Completed: pwd}, models.StepFirstFactor, "", []string{}, ACRSingleFactor, nil},
		{"face step offers the user's fallbacks",
			Input{FaceMode: FaceRequired, FaceEnrolled: true, RecoveryCodes: 4, FaceBypass: true, Completed: pwd}, models.StepSecondFactor, "", []string{"pwd"}, ACRSingleFactor, []string{AMRRecoveryCode, MethodFaceBypass}},
		{"acr 2fa: the bypass (one factor) is not offered, a code is",
			Input{FaceMode: FaceRequired, FaceEnrolled: true, RecoveryCodes: 4, FaceBypass: true, ACRValues: []string{ACRMultiFactor}, Completed: pwd}, models.StepSecondFactor, "", []string{"pwd"}, ACRSingleFactor, []string{AMRRecoveryCode}},
		{"acr face: no fallback",
			Input{FaceMode: FaceRequired, FaceEnrolled: true, RecoveryCodes: 4, FaceBypass: true, ACRValues: []string{ACRFace}, Completed: pwd}, models.StepSecondFactor, "", []string{"pwd"}, ACRSingleFactor, nil},
		{"recovery code used: re-enrol in this sign-in",
			Input{FaceMode: FaceRequired, FaceEnrolled: true, FaceEnrolment: EnrolNever, Completed: []string{AMRPassword, AMRRecoveryCode}}, models.StepFaceEnrol, "", []string{"pwd", "otp", "mfa"}, ACRMultiFactor, nil},
		{"recovery code and re-enrolment done: two factors, no face claimed",
			Input{FaceMode: FaceRequired, FaceEnrolled: true, Completed: []string{AMRPassword, AMRRecoveryCode, AMRFace}}, models.StepDone, "", []string{"pwd", "otp", "mfa"}, ACRMultiFactor, nil},
		{"bypass and re-enrolment done: one factor, bypass not in amr",
			Input{FaceMode: FaceRequired, FaceEnrolled: true, Completed: []string{AMRPassword, MethodFaceBypass, AMRFace}}, models.StepDone, "", []string{"pwd"}, ACRSingleFactor, nil},
		{"session that used a recovery code: SSO carries the password only",
			Input{FaceMode: FaceOptional, FaceEnrolled: true, MaxAge: secs(600), SessionAuthAge: dur(time.Minute), Completed: SessionMethods([]string{AMRPasskey, AMRRecoveryCode, AMRMFA})}, models.StepSecondFactor, "", []string{"hwk"}, ACRSingleFactor, nil},
		{"session older than max_age: sign in again",
			Input{MaxAge: secs(60), SessionAuthAge: dur(61 * time.Second), Completed: []string{AMRPassword, AMRFace, AMRMFA}}, models.StepFirstFactor, "", []string{}, ACRSingleFactor, nil},
		{"session without max_age counts",
			Input{FaceEnrolled: true, SessionAuthAge: dur(10 * time.Hour), Completed: []string{AMRPassword, AMRFace, AMRMFA}}, models.StepDone, "", []string{"pwd", "face", "mfa"}, ACRMultiFactor, nil},
		{"UV passkey session keeps its UV",
			Input{FaceMode: FaceRequired, PasskeySkipsFace: true, SessionAuthAge: dur(time.Minute), Completed: []string{AMRSyncedPasskey, AMRMFA}}, models.StepDone, "", []string{"swk", "mfa"}, ACRMultiFactor, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Next(tt.in)
			if d.Next != tt.next || d.Unmet != tt.unmet || !slices.Equal(d.AMR, tt.amr) || d.ACR != tt.acr || !slices.Equal(d.Fallbacks, tt.fallbacks) {
				t.Fatalf("Next(%+v)\n = %+v\nwant next=%s unmet=%q amr=%v acr=%s fallbacks=%v", tt.in, d, tt.next, tt.unmet, tt.amr, tt.acr, tt.fallbacks)
			}
			if v := violations(tt.in); len(v) > 0 {
				t.Fatalf("invariants broken: %v", v)
			}
		})
	}
}

func TestSessionMethods(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"pwd", "face", "mfa"}, []string{"pwd", "face", "mfa"}},
		{[]string{"hwk", "mfa"}, []string{"hwk", "mfa"}},
		{[]string{"hwk", "otp", "mfa"}, []string{"hwk"}},
		{[]string{"pwd", "otp", "mfa"}, []string{"pwd"}},
		{[]string{"pwd"}, []string{"pwd"}},
	} {
		if got := SessionMethods(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("SessionMethods(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestResolve(t *testing.T) {
	global := Policy{FirstFactors: []string{FirstFactorPassword, FirstFactorPasskey}, FaceMode: FaceOptional, FaceEnrolment: EnrolOffer}
	yes := true
	got, err := Resolve(global, &models.Client{ID: "c", Policy: models.ClientPolicy{
		FirstFactors: []string{"passkey"}, FaceMode: "off", FaceEnrolment: "never", PasskeySkipsFace: &yes,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.FirstFactors, []string{"passkey"}) || got.FaceMode != FaceOff || got.FaceEnrolment != EnrolNever || !got.PasskeySkipsFace {
		t.Fatalf("overrides not applied: %+v", got)
	}
	if got.Allows(FirstFactorPassword) || !got.Allows(FirstFactorPasskey) {
		t.Fatal("Allows disagrees with FirstFactors")
	}
	got, _ = Resolve(global, &models.Client{ID: "c", RequireFace: true})
	if got.FaceMode != FaceRequired || !slices.Equal(got.FirstFactors, global.FirstFactors) {
		t.Fatalf("RequireFace: %+v", got)
	}
	if got, _ = Resolve(global, &models.Client{ID: "c"}); !reflect.DeepEqual(got, global) {
		t.Fatalf("no overrides: %+v", got)
	}
	for _, bad := range []models.ClientPolicy{{FirstFactors: []string{"sms"}}, {FaceMode: "sometimes"}, {FaceEnrolment: "later"}} {
		if _, err := Resolve(global, &models.Client{ID: "c", Policy: bad}); err == nil {
			t.Errorf("Resolve accepted %+v", bad)
		}
	}
	in := got.Input()
	if in.FaceMode != FaceOptional || in.FaceEnrolment != EnrolOffer {
		t.Fatalf("Input: %+v", in)
	}
}
