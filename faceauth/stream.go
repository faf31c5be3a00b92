package faceauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// A streamed challenge: the frames of a live challenge arrive one at a
// time while the person acts, and each is analysed on arrival (decoding,
// face, landmarks, and go-face's descriptor for the frames the random plan
// picks), exactly as the one-shot Verify analyses each frame. After every
// frame the stream reports how many of the challenge's steps the landmarks
// show done so far, so the capture page can move on as soon as a step is
// seen. That report is guidance only: the verdict (Finish) is decided
// afresh from all the frames by the same code as Verify and Enrol
// (completeAnalysis, then decide), so identity, liveness and spoof checks
// are the one-shot ones. Because the analysis has kept pace with the
// frames, Finish only has the liveness judgement, the peak frames'
// descriptors not taken yet and the decision left to do.

// StreamMaxFrames bounds the frames of one streamed challenge: at the
// capture rate, a 1 s baseline and up to StepTimeout per step for four
// steps, with a second to spare.
func StreamMaxFrames(lim Limits, steps int) int {
	fps := max(lim.FPS, 1)
	return fps * (2 + steps*int(StepTimeout/time.Second))
}

// StepTimeout is how long a streamed challenge waits for one step: the
// capture page shows it as a countdown, and the stream's frame budget
// (StreamMaxFrames) allows for it.
const StepTimeout = 6 * time.Second

// Streamer starts streamed challenges and judges get-ready frames;
// *Engine implements it.
type Streamer interface {
	// CheckReady judges one frame before a challenge starts (see
	// Readiness).
	CheckReady(ctx context.Context, frame []byte) (*Readiness, error)
	// BeginStream starts a streamed challenge: verification against tmpl,
	// or enrolment when tmpl is nil. It holds one of the engine's
	// admissions until Close: ErrBusy when none is free.
	BeginStream(ctx context.Context, tmpl *Template, actions []Action, opt Options) (*Stream, error)
}

var _ Streamer = (*Engine)(nil)

// Progress is what the stream has seen after a frame.
type Progress struct {
	// Frame is the 0-based index of the frame just analysed.
	Frame int
	// StepsSeen is how many of the challenge's steps, from the first, the
	// frames so far show done (the action, then back to neutral). It never
	// goes down.
	StepsSeen int
	// Refusal is set when this frame cannot be used (no face, several
	// faces, face too small): the challenge cannot pass, so the caller
	// should Finish at once, which refuses it with the same error.
	Refusal *InputError
}

// Stream is a challenge being analysed frame by frame. It is not safe for
// concurrent use: one goroutine pushes, finishes or closes it (Close may
// be called more than once, and after Finish).
type Stream struct {
	e       *Engine
	op      string
	tmpl    *Template
	actions []Action
	opt     Options
	lim     Limits
	max     int
	phase   int
	start   time.Time

	obs   []frameObs
	steps *stepTracker
	done  bool

	closeOnce sync.Once
	leave     func()
}

// ErrStreamClosed is returned by Push or Finish after Finish or Close.
var ErrStreamClosed = errors.New("face stream closed")

// BeginStream starts a streamed challenge (see Streamer).
func (e *Engine) BeginStream(ctx context.Context, tmpl *Template, actions []Action, opt Options) (*Stream, error) {
	op := "verify"
	if tmpl == nil {
		op = "enrol"
	} else if len(tmpl.Descriptors) == 0 {
		return nil, errors.New("verify face: no template")
	}
	if len(actions) == 0 {
		return nil, fmt.Errorf("%s face: a live challenge needs at least one action", op)
	}
	for _, a := range actions {
		if !validAction(a) {
			return nil, fmt.Errorf("%s face: unknown action %q", op, a)
		}
	}
	plan, err := descriptorPlan(describeEvery, e.cfg.Rand)
	if err != nil {
		return nil, err
	}
	leave, err := e.pool.enter()
	if err != nil {
		return nil, err
	}
	phase := slices.Index(plan, true)
	return &Stream{
		e: e, op: op, tmpl: tmpl, actions: slices.Clone(actions), opt: opt,
		lim: e.cfg.Limits, max: StreamMaxFrames(e.cfg.Limits, len(actions)), phase: phase,
		start: e.cfg.Clock(), leave: leave, steps: newStepTracker(slices.Clone(actions), opt),
	}, nil
}

// MaxFrames is the most frames this stream accepts.
func (s *Stream) MaxFrames() int { return s.max }

// Frames is the number of frames analysed so far.
func (s *Stream) Frames() int { return len(s.obs) }

// Push analyses the next frame. A frame that is not an acceptable image
// (format, size) or one too many is an *InputError and ends nothing by
// itself: the caller decides (the face API refuses the stream). Other
// errors are the engine's or ctx's.
func (s *Stream) Push(ctx context.Context, frame []byte) (Progress, error) {
	if s.done {
		return Progress{}, ErrStreamClosed
	}
	idx := len(s.obs)
	if idx >= s.max {
		return Progress{}, inputError(CodeTooManyFrames, idx, fmt.Sprintf("at most %d frames", s.max))
	}
	describe := s.tmpl == nil || idx%describeEvery == s.phase
	o, err := s.e.analyseFrame(ctx, frame, idx, s.lim, challengeSide, describe, s.tmpl == nil)
	if err != nil {
		return Progress{}, err
	}
	s.obs = append(s.obs, o)
	p := Progress{Frame: idx, StepsSeen: s.steps.stepsSeen()}
	if ierr := checkFaces(s.obs[idx:], minFaceSide); ierr != nil {
		p.Refusal = ierr
		return p, nil
	}
	if err := s.follow(ctx, o); err != nil {
		return Progress{}, err
	}
	p.StepsSeen = s.steps.stepsSeen()
	return p, nil
}

// follow updates how many steps are seen after frame o. When a step is
// newly seen, its peak frame is described now, so that Finish need not.
func (s *Stream) follow(ctx context.Context, o frameObs) error {
	var peaks []int
	for _, p := range s.steps.add(o.index, o.pts) {
		if !s.obs[p].described {
			peaks = append(peaks, p)
		}
	}
	return s.e.describeFrames(ctx, s.obs, peaks)
}

// Finish decides on the frames pushed so far with the one-shot code and
// closes the stream. For an enrolment that passes it also returns the new
// template. Bad input (too few frames, a frame without a usable face) is a
// failed Result with the InputError's code, as in Verify and Enrol.
func (s *Stream) Finish(ctx context.Context) (*Result, *Template, error) {
	if s.done {
		return nil, nil, ErrStreamClosed
	}
	defer s.Close()
	s.done = true
	// A frame without a usable face ends a stream early (Progress.Refusal):
	// that refusal, not the short count, is what the person must fix.
	if err := checkFrameCount(len(s.obs), Limits{MinFrames: s.lim.MinFrames, MaxFrames: s.max}); err != nil && checkFaces(s.obs, minFaceSide) == nil {
		r, err := resultFromInputError(err, len(s.obs))
		return r, nil, err
	}
	live, err := s.e.completeAnalysis(ctx, s.obs, s.actions, s.opt, s.tmpl == nil)
	if err != nil {
		r, err := resultFromInputError(err, len(s.obs))
		return r, nil, err
	}
	r := s.e.conclude(ctx, s.op, s.tmpl, s.obs, live, s.start)
	if s.tmpl != nil || !r.Pass {
		return r, nil, nil
	}
	t, r, err := s.e.templateFrom(r, s.obs, s.opt)
	return r, t, err
}

// Close ends the stream without a decision and frees its admission.
func (s *Stream) Close() {
	s.done = true
	s.closeOnce.Do(func() {
		s.leave()
		s.obs, s.steps = nil, nil
	})
}
