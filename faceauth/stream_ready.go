package faceauth

import (
	"context"
	"math"
)

// Get ready: before a challenge starts, the capture page sends single
// frames and the engine says whether the picture is good enough to begin
// (exactly one face, large enough, lit, sharp, frontal and in the oval),
// and if not, what to fix. The same per-frame checks the challenge and
// enrolment apply, so a frame that is ready will not be refused for them.

// CodeOffCentre: the face is not inside the capture page's oval.
const CodeOffCentre = "off_centre"

// readyHints are the short instructions of the get-ready step.
var readyHints = map[string]string{
	CodeNoFace:       "Look at the camera: no face is in view.",
	CodeSeveralFaces: "Only one face, please: others should step out of view.",
	CodeFaceTooSmall: "Move closer to the camera.",
	CodeTooDark:      "More light, please: turn on a light or face a window.",
	CodeTooBlurred:   "Hold still, and clean the camera lens if needed.",
	CodeNotFrontal:   "Look straight at the camera.",
	CodeOffCentre:    "Move your face into the oval.",
}

// Readiness is the get-ready verdict on one frame.
type Readiness struct {
	Ready bool `json:"ready"`
	// Code is "" when ready, else what is wrong: an InputError code or
	// CodeOffCentre.
	Code string `json:"code,omitempty"`
	// Hint says what to fix, in a few words.
	Hint string `json:"hint"`
}

// maxCentreOffset is how far the face's centre may be from the frame's
// centre, as a fraction of the frame's width and height (the page's oval
// spans about 0.4 of the width and 0.75 of the height).
const maxCentreOffset = 0.2

// CheckReady judges one frame for the get-ready step. It takes one of the
// engine's admissions for the time of one frame (ErrBusy when none is
// free). A frame that is not an acceptable image is an *InputError.
func (e *Engine) CheckReady(ctx context.Context, frame []byte) (*Readiness, error) {
	leave, err := e.pool.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	o, err := e.analyseFrame(ctx, frame, 0, e.cfg.Limits, challengeSide, false, false)
	if err != nil {
		return nil, err
	}
	ierr := checkFaces([]frameObs{o}, minFaceSide)
	if ierr == nil {
		ierr = enrolQuality(&o, Options{})
	}
	code := ""
	switch {
	case ierr != nil:
		code = ierr.Code
	case offCentre(o):
		code = CodeOffCentre
	}
	if code != "" {
		return &Readiness{Code: code, Hint: readyHints[code]}, nil
	}
	return &Readiness{Ready: true, Hint: "Good. Hold still…"}, nil
}

// offCentre reports whether the face's box is centred away from the
// frame's centre.
func offCentre(o frameObs) bool {
	cx := float64(o.box.Min.X+o.box.Max.X) / 2
	cy := float64(o.box.Min.Y+o.box.Max.Y) / 2
	return math.Abs(cx/float64(o.width)-0.5) > maxCentreOffset || math.Abs(cy/float64(o.height)-0.5) > maxCentreOffset
}
