package testidp

import (
	"crypto/rand"
	"testing"

	"github.com/faceidp/faceidp/factors/face"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/idp/faceweb"
	"github.com/faceidp/faceidp/internal/facetest"
)

// BlinkFace is the real face factor (the test engine, the hosted face
// page) over d whose every challenge is one blink, for Chromium tests
// whose fake camera loops one clip.
func BlinkFace(t testing.TB, d *Deps) idp.SecondFactor {
	t.Helper()
	svc, err := face.New(face.Deps{Store: d.Store, Engine: facetest.Engine(t), Keyring: d.Keyring, Now: d.Clock.Now, Rand: rand.Reader, Picker: facetest.BlinkPicker{}},
		face.Options{Steps: 1})
	if err != nil {
		t.Fatalf("face service: %v", err)
	}
	factor, err := faceweb.New(svc, faceweb.Options{})
	if err != nil {
		t.Fatalf("face factor: %v", err)
	}
	return factor
}
