package policy

import (
	"slices"
	"testing"

	"github.com/faceidp/faceidp/models"
)

func TestNext(t *testing.T) {
	pwd := []string{AMRPassword}
	pwdFace := []string{AMRPassword, AMRFace}
	tests := []struct {
		name   string
		in     Input
		next   models.LoginStep
		factor string
		amr    []string
		acr    string
	}{
		{"nothing done asks for first factor", Input{FaceMode: FaceOptional}, models.StepFirstFactor, "", []string{}, ACRSingleFactor},
		{"face alone is never enough", Input{FaceMode: FaceOptional, FaceEnrolled: true, Completed: []string{AMRFace}}, models.StepFirstFactor, "", []string{}, ACRSingleFactor},
		{"optional, not enrolled: done after password", Input{FaceMode: FaceOptional, Completed: pwd}, models.StepDone, "", []string{"pwd"}, ACRSingleFactor},
		{"optional, enrolled: face next", Input{FaceMode: FaceOptional, FaceEnrolled: true, Completed: pwd}, models.StepSecondFactor, AMRFace, []string{"pwd"}, ACRSingleFactor},
		{"optional, client requires, not enrolled: enrol", Input{FaceMode: FaceOptional, ClientRequiresFace: true, Completed: pwd}, models.StepFaceEnrol, AMRFace, []string{"pwd"}, ACRSingleFactor},
		{"optional, user requires, enrolled: face", Input{FaceMode: FaceOptional, UserRequiresFace: true, FaceEnrolled: true, Completed: pwd}, models.StepSecondFactor, AMRFace, []string{"pwd"}, ACRSingleFactor},
		{"required, not enrolled: enrol", Input{FaceMode: FaceRequired, Completed: pwd}, models.StepFaceEnrol, AMRFace, []string{"pwd"}, ACRSingleFactor},
		{"required, enrolled: face", Input{FaceMode: FaceRequired, FaceEnrolled: true, Completed: pwd}, models.StepSecondFactor, AMRFace, []string{"pwd"}, ACRSingleFactor},
		{"off ignores client requirement", Input{FaceMode: FaceOff, ClientRequiresFace: true, UserRequiresFace: true, FaceEnrolled: true, Completed: pwd}, models.StepDone, "", []string{"pwd"}, ACRSingleFactor},
		{"both factors then consent", Input{FaceMode: FaceRequired, FaceEnrolled: true, Completed: pwdFace, ConsentNeeded: true}, models.StepConsent, "", []string{"pwd", "face", "mfa"}, ACRMultiFactor},
		{"both factors, no consent: done with mfa", Input{FaceMode: FaceOptional, FaceEnrolled: true, Completed: pwdFace}, models.StepDone, "", []string{"pwd", "face", "mfa"}, ACRMultiFactor},
		{"passkey is a first factor", Input{FaceMode: FaceOptional, Completed: []string{AMRPasskey}}, models.StepDone, "", []string{"hwk"}, ACRSingleFactor},
		{"password then consent", Input{FaceMode: FaceOff, Completed: pwd, ConsentNeeded: true}, models.StepConsent, "", []string{"pwd"}, ACRSingleFactor},
		{"duplicates and stale mfa are normalised", Input{FaceMode: FaceOptional, Completed: []string{"pwd", "pwd", "mfa"}}, models.StepDone, "", []string{"pwd"}, ACRSingleFactor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Next(tt.in)
			if d.Next != tt.next || d.Factor != tt.factor || !slices.Equal(d.AMR, tt.amr) || d.ACR != tt.acr || d.Optional {
				t.Fatalf("Next(%+v) = %+v; want next=%s factor=%q amr=%v acr=%s, not optional", tt.in, d, tt.next, tt.factor, tt.amr, tt.acr)
			}
		})
	}
}

// In optional mode a user without a template is offered enrolment after
// the first factor, as a step that may be skipped; wherever face is
// required there is no skip.
func TestEnrolmentOffer(t *testing.T) {
	pwd := []string{AMRPassword}
	tests := []struct {
		name     string
		in       Input
		next     models.LoginStep
		optional bool
	}{
		{"optional, not enrolled: enrolment offered", Input{FaceMode: FaceOptional, OfferEnrolment: true, Completed: pwd}, models.StepFaceEnrol, true},
		{"default mode is optional", Input{OfferEnrolment: true, Completed: pwd}, models.StepFaceEnrol, true},
		{"passkey first, then the offer", Input{FaceMode: FaceOptional, OfferEnrolment: true, Completed: []string{AMRPasskey}}, models.StepFaceEnrol, true},
		{"offer declined: on to consent", Input{FaceMode: FaceOptional, Completed: pwd, ConsentNeeded: true}, models.StepConsent, false},
		{"no first factor yet", Input{FaceMode: FaceOptional, OfferEnrolment: true}, models.StepFirstFactor, false},
		{"enrolled: verify, not optional", Input{FaceMode: FaceOptional, OfferEnrolment: true, FaceEnrolled: true, Completed: pwd}, models.StepSecondFactor, false},
		{"client requires: enrol, no skip", Input{FaceMode: FaceOptional, OfferEnrolment: true, ClientRequiresFace: true, Completed: pwd}, models.StepFaceEnrol, false},
		{"user requires: enrol, no skip", Input{FaceMode: FaceOptional, OfferEnrolment: true, UserRequiresFace: true, Completed: pwd}, models.StepFaceEnrol, false},
		{"required mode: enrol, no skip", Input{FaceMode: FaceRequired, OfferEnrolment: true, Completed: pwd}, models.StepFaceEnrol, false},
		{"off: no offer", Input{FaceMode: FaceOff, OfferEnrolment: true, Completed: pwd}, models.StepDone, false},
		{"face already done", Input{FaceMode: FaceOptional, OfferEnrolment: true, Completed: []string{AMRPassword, AMRFace}}, models.StepDone, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Next(tt.in)
			if d.Next != tt.next || d.Optional != tt.optional {
				t.Fatalf("Next(%+v) = %+v; want next=%s optional=%v", tt.in, d, tt.next, tt.optional)
			}
			if d.Next == models.StepFaceEnrol && d.Factor != AMRFace {
				t.Fatalf("enrolment step for factor %q", d.Factor)
			}
			if d.Optional && !slices.Equal(d.AMR, []string{tt.in.Completed[0]}) {
				t.Fatalf("amr %v while enrolment is offered", d.AMR)
			}
		})
	}
}

func TestParseFaceMode(t *testing.T) {
	for in, want := range map[string]FaceMode{"": FaceOptional, "off": FaceOff, "optional": FaceOptional, "required": FaceRequired} {
		got, err := ParseFaceMode(in)
		if err != nil || got != want {
			t.Errorf("ParseFaceMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseFaceMode("sometimes"); err == nil {
		t.Error("ParseFaceMode(sometimes) succeeded")
	}
}
