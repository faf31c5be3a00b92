// Package faceauth is the face engine behind faceidp's face factor: it loads
// dlib's models through go-face, checks frames uploaded by the browser,
// builds enrolment templates, matches them, and analyses a live challenge
// (blink, smile, turn left/right) over a frame sequence. It has no HTTP and
// no storage in it; callers hand it bytes and get decisions back.
//
// CONTRACT (shared with factors/face and cmd): the exported names in this file
// are what other packages program against. Change them only together with
// their callers.
package faceauth

import (
	"context"
	"errors"
	"time"
)

// Action is one step of a live challenge.
type Action string

const (
	ActionBlink     Action = "blink"
	ActionSmile     Action = "smile"
	ActionTurnLeft  Action = "turn_left"  // the subject's own left
	ActionTurnRight Action = "turn_right" // the subject's own right
)

// AllActions lists every action a challenge may ask for.
var AllActions = []Action{ActionBlink, ActionSmile, ActionTurnLeft, ActionTurnRight}

// ErrBusy means every recognizer is in use and the wait queue is full; the
// caller should answer 503 with Retry-After.
var ErrBusy = errors.New("face engine busy")

// InputError is a refusal of the caller's input with a stable code and a
// message a user understands (no face, several faces, face too small, too
// dark, too blurred, not frontal, too many frames, unsupported format, frame
// too large, ...). Frame is the 0-based frame index it concerns, or -1.
type InputError struct {
	Code    string
	Message string
	Frame   int
}

func (e *InputError) Error() string { return e.Message }

// Options describe how frames were captured.
type Options struct {
	// Mirrored is true when the frames are mirror images of what a camera
	// sees (a selfie preview copied as shown). The engine corrects for it so
	// that turn_left always means the subject's own left.
	Mirrored bool
}

// StepScore reports how one requested action was judged.
type StepScore struct {
	Action Action  `json:"action"`
	Passed bool    `json:"passed"`
	Score  float64 `json:"score"` // action signal relative to its threshold; >= 1 passes
	// FirstFrame and LastFrame bound where the action was seen (-1 if not).
	FirstFrame int `json:"first_frame"`
	LastFrame  int `json:"last_frame"`
	// PeakFrame is the frame where the action was strongest (-1 if not
	// seen); its face is always matched against the template.
	PeakFrame int `json:"peak_frame"`
}

// Result is the engine's decision on a challenge attempt. It never holds
// images or descriptors, so it may be logged and audited as it is.
type Result struct {
	Pass bool `json:"pass"`
	// Reason is a stable code: "ok", "no_match", "identity_changed",
	// "action_missing", "wrong_order", "static_photo", "rigid_motion",
	// "screen_replay", or an InputError code.
	Reason string `json:"reason"`
	// Message explains Reason to the user.
	Message string `json:"message"`
	// Distance is the match distance to the enrolled template (0 when no
	// template was involved, as in enrolment).
	Distance float64 `json:"distance"`
	// Similarity is the second embedder's score against the template: the
	// median, over the frames the match uses, of the cosine similarity to
	// the nearest enrolled embedding. Nil when that embedder did not take
	// part (switched off, enrolment, or a template without its samples).
	Similarity *float64    `json:"similarity,omitempty"`
	Steps      []StepScore `json:"steps"`
	// Cues are the screen-replay cues and their scores; a cue with
	// Decided set refused the attempt as "screen_replay" (see
	// docs/face-engine.md, "Presentation-attack detection"). Empty when
	// the frames were refused before the cues were measured.
	Cues    []CueScore    `json:"cues,omitempty"`
	Frames  int           `json:"frames"`
	Elapsed time.Duration `json:"elapsed_ns"`

	// upgraded is the template with the second embedder's samples added,
	// set when a verification passed on a template that lacked them.
	upgraded *Template
}

// Upgraded returns, after a passed verification against a template made
// without the second embedder (dlib only, or another ONNX model), that
// template with the second embedder's samples from this attempt's frames
// added; nil otherwise. The caller seals and saves it in place of the old
// one, so the next verification is checked by both embedders.
func (r *Result) Upgraded() *Template { return r.upgraded }

// Verifier is what the face factor needs from the engine; *Engine implements it.
type Verifier interface {
	// Enrol checks the frames captured during a live challenge, requires the
	// challenge to pass and builds a template from the best frontal frames.
	Enrol(ctx context.Context, actions []Action, frames [][]byte, opt Options) (*Template, *Result, error)
	// Verify decides whether frames show the template's owner, live,
	// performing actions in order.
	Verify(ctx context.Context, tmpl *Template, actions []Action, frames [][]byte, opt Options) (*Result, error)
	// Limits are the input limits the engine enforces (for the capture page
	// and the API documentation).
	Limits() Limits
}

// Limits are the engine's input limits.
type Limits struct {
	MaxFrames     int   `json:"max_frames"`
	MinFrames     int   `json:"min_frames"`
	MaxFrameBytes int64 `json:"max_frame_bytes"`
	MaxPixels     int   `json:"max_pixels"`
	// FrameWidth, FrameHeight and FPS are what the capture page should send.
	FrameWidth  int `json:"frame_width"`
	FrameHeight int `json:"frame_height"`
	FPS         int `json:"fps"`
}
