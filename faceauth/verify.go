package faceauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"time"
)

// Reason codes of a Result besides the InputError codes.
const (
	ReasonOK              = "ok"
	ReasonNoMatch         = "no_match"
	ReasonIdentityChanged = "identity_changed"
	ReasonActionMissing   = "action_missing"
	ReasonWrongOrder      = "wrong_order"
	ReasonStaticPhoto     = "static_photo"
	ReasonRigidMotion     = "rigid_motion"
	ReasonScreenReplay    = "screen_replay"
)

var reasonMessages = map[string]string{
	ReasonOK:              "Face verified.",
	ReasonNoMatch:         "The face does not match the enrolled face.",
	ReasonIdentityChanged: "The face changed during the capture.",
	ReasonActionMissing:   "The requested action was not seen. Follow the instructions on the screen.",
	ReasonWrongOrder:      "The actions were not done in the requested order.",
	ReasonStaticPhoto:     "No movement was seen. Follow the steps on the screen; a photo cannot be used.",
	ReasonRigidMotion:     "The face moved like a printed photo; a photo cannot be used.",
	ReasonScreenReplay:    "The face appears to be shown on a screen.",
}

// Verify decides whether frames show the template's owner, live,
// performing actions in order. Bad input is a failed Result with the
// InputError's code; ErrBusy and context errors are returned as errors.
func (e *Engine) Verify(ctx context.Context, tmpl *Template, actions []Action, frames [][]byte, opt Options) (*Result, error) {
	if tmpl == nil || len(tmpl.Descriptors) == 0 {
		return nil, errors.New("verify face: no template")
	}
	r, _, err := e.challenge(ctx, "verify", tmpl, actions, frames, opt)
	return r, err
}

// challenge runs the shared part of Verify and Enrol. It returns the
// observations for enrolment to pick frames from.
func (e *Engine) challenge(ctx context.Context, op string, tmpl *Template, actions []Action, frames [][]byte, opt Options) (*Result, []frameObs, error) {
	start := e.cfg.Clock()
	if len(actions) == 0 {
		return nil, nil, fmt.Errorf("%s face: a live challenge needs at least one action", op)
	}
	for _, a := range actions {
		if !validAction(a) {
			return nil, nil, fmt.Errorf("%s face: unknown action %q", op, a)
		}
	}
	if err := precheckFrames(frames, e.cfg.Limits); err != nil {
		r, err := resultFromInputError(err, len(frames))
		return r, nil, err
	}
	leave, err := e.pool.enter()
	if err != nil {
		return nil, nil, err
	}
	obs, live, err := e.analyseChallenge(ctx, frames, actions, opt, tmpl == nil)
	leave()
	if err != nil {
		r, err := resultFromInputError(err, len(frames))
		return r, nil, err
	}
	return e.conclude(ctx, op, tmpl, obs, live, start), obs, nil
}

// conclude decides on analysed frames and logs the decision: the last step
// of a one-shot challenge and of a streamed one (Stream.Finish).
func (e *Engine) conclude(ctx context.Context, op string, tmpl *Template, obs []frameObs, live liveness, start time.Time) *Result {
	r := e.decide(tmpl, obs, live)
	r.Frames = len(obs)
	r.Elapsed = e.cfg.Clock().Sub(start)
	e.logDecision(ctx, op, r)
	return r
}

// analyseChallenge analyses a challenge's frames in two passes. The first
// finds the face and landmarks in every frame and describes (go-face's
// 128-d descriptor, about 60 % of the time per frame) the frames
// descriptorPlan picks, or all of them when describeAll is set (enrolment
// builds its template from them). The second describes each action's peak
// frame, so that the face that performed an action is always matched.
func (e *Engine) analyseChallenge(ctx context.Context, frames [][]byte, actions []Action, opt Options, describeAll bool) ([]frameObs, liveness, error) {
	var plan []bool
	if !describeAll {
		var err error
		if plan, err = descriptorPlan(len(frames), e.cfg.Rand); err != nil {
			return nil, liveness{}, err
		}
	}
	var obs []frameObs
	var err error
	if describeAll {
		obs, err = e.analyseFrames(ctx, frames, e.cfg.Limits, challengeSide, nil)
	} else {
		obs, err = e.analyseFramesFollowingSteps(ctx, frames, plan, actions, opt)
	}
	if err != nil {
		return nil, liveness{}, err
	}
	live, err := e.completeAnalysis(ctx, obs, actions, opt, describeAll)
	return obs, live, err
}

// analyseFramesFollowingSteps is analyseFrames for a challenge verified in
// one go, with the streamed form's head start: the frames go to the pool
// in order, a stepTracker follows them as they complete, in order, and
// each step's peak frame, once seen, is described at once beside the
// frames still being analysed. The second pass then rarely has a peak
// left to describe, which it would do on one worker while the others
// wait.
func (e *Engine) analyseFramesFollowingSteps(ctx context.Context, frames [][]byte, plan []bool, actions []Action, opt Options) ([]frameObs, error) {
	obs := make([]frameObs, len(frames))
	completed := make(chan int, len(frames))
	var peaks sync.WaitGroup
	peakErrs := make(chan error, len(frames))
	tracked := make(chan struct{})
	go func() {
		defer close(tracked)
		steps := newStepTracker(actions, opt)
		ready := make([]bool, len(frames))
		scheduled := map[int]bool{}
		next := 0
		for i := range completed {
			ready[i] = true
			for ; next < len(frames) && ready[next]; next++ {
				if obs[next].faces != 1 {
					continue // the tracker stops at a frame it cannot use
				}
				for _, p := range steps.add(next, obs[next].pts) {
					if scheduled[p] || obs[p].described {
						continue
					}
					scheduled[p] = true
					peaks.Go(func() {
						if err := e.describeFrame(ctx, &obs[p]); err != nil {
							peakErrs <- err
						}
					})
				}
			}
		}
	}()
	err := e.forEach(ctx, len(frames), func(i int) (err error) {
		obs[i], err = e.analyseFrame(ctx, frames[i], i, e.cfg.Limits, challengeSide, plan[i], false)
		if err == nil {
			completed <- i
		}
		return err
	})
	close(completed)
	<-tracked
	peaks.Wait()
	close(peakErrs)
	if err != nil {
		return nil, err
	}
	if err := <-peakErrs; err != nil {
		return nil, err
	}
	return obs, nil
}

// completeAnalysis is the second pass over a challenge's analysed frames,
// shared by the one-shot and the streamed forms: the liveness judgement,
// a descriptor for each action's peak frame, and the second embedder on
// the frames the match uses.
func (e *Engine) completeAnalysis(ctx context.Context, obs []frameObs, actions []Action, opt Options, describeAll bool) (liveness, error) {
	defer e.releaseImages(obs)
	if checkFaces(obs, minFaceSide) != nil {
		return liveness{}, nil // decide refuses the frames as they are
	}
	live := judgeLiveness(obs, actions, opt)
	var peaks []int
	for _, st := range live.steps {
		if st.Passed && !obs[st.PeakFrame].described && !slices.Contains(peaks, st.PeakFrame) {
			peaks = append(peaks, st.PeakFrame)
		}
	}
	if describeAll || e.onnx == nil {
		return live, e.describeFrames(ctx, obs, peaks)
	}
	// One pass over the pool for the peaks' descriptors and the second
	// embedder, the peaks (go-face, the longer tasks) first: the at-rest
	// frames the match uses do not depend on the peaks (an action's peak
	// is never at rest)...
	rest := matchFrames(describedFrames(obs), live)
	err := e.forEach(ctx, len(peaks)+len(rest), func(k int) error {
		if k < len(peaks) {
			return e.describeFrame(ctx, &obs[peaks[k]])
		}
		return e.embedFrame(ctx, &obs[rest[k-len(peaks)].index])
	})
	if err != nil {
		return liveness{}, err
	}
	// ...except when fewer than minRestFrames are at rest and the match
	// uses every described frame, the peaks included: embed those now.
	return live, e.embedFrames(ctx, obs, matchFrames(describedFrames(obs), live))
}

// releaseImages returns the analysis copies frames kept for the second
// embedder to the engine's buffers, once no more embedding will happen.
func (e *Engine) releaseImages(obs []frameObs) {
	for i := range obs {
		if obs[i].img != nil {
			e.bufs.release(obs[i].img)
			obs[i].img = nil
		}
	}
}

// descriptorPlan picks the frames of a challenge that get a descriptor in
// the first pass: every other frame, starting at a random one of the first
// two, so that no two consecutive frames both go unmatched and a sender
// cannot know which ones will be.
func descriptorPlan(n int, rnd io.Reader) ([]bool, error) {
	var b [1]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return nil, fmt.Errorf("pick frames to describe: %w", err)
	}
	phase := int(b[0]) % describeEvery
	plan := make([]bool, n)
	for i := range plan {
		plan[i] = i%describeEvery == phase
	}
	return plan, nil
}

// describeEvery: every describeEvery-th frame is described in the first
// pass. Every other frame keeps consecutive described frames 400 ms apart
// at 5 fps, where one person's descriptor moves at most 0.40 (turning),
// under the swap threshold.
const describeEvery = 2

func validAction(a Action) bool {
	for _, v := range AllActions {
		if a == v {
			return true
		}
	}
	return false
}

// decide applies every check to analysed frames, in order of precedence:
// per-frame face checks, identity consistency, screen replay, template
// match, motion (static photo / rigid print), then the actions. Identity
// and match use the described frames.
func (e *Engine) decide(tmpl *Template, obs []frameObs, live liveness) *Result {
	var similarity *float64 // the second embedder's, when it took part
	var cues []CueScore     // the screen-replay cues, once measured
	fail := func(reason string, dist float64, steps []StepScore) *Result {
		return &Result{Reason: reason, Message: reasonMessages[reason], Distance: dist, Similarity: similarity, Steps: steps, Cues: cues}
	}
	if err := checkFaces(obs, minFaceSide); err != nil {
		return &Result{Reason: err.Code, Message: err.Message}
	}
	if err := checkNativeFace(obs); err != nil {
		return &Result{Reason: err.Code, Message: err.Message}
	}
	cues = screenCues(obs)
	described := describedFrames(obs)
	if jump, spread := identityChange(described); jump > e.cfg.SwapThreshold || spread > maxIdentitySpread || e.embeddingJump(described) {
		return fail(ReasonIdentityChanged, 0, nil)
	}
	if screenDecided(cues) {
		return fail(ReasonScreenReplay, 0, nil)
	}
	var distance float64
	var match []frameObs
	if tmpl != nil {
		match = matchFrames(described, live)
		distance = templateDistance(tmpl, match)
		similarity = e.templateSimilarity(tmpl, match)
		if distance > e.cfg.MatchThreshold || (similarity != nil && *similarity < e.cfg.ONNX.MinSimilarity) {
			return fail(ReasonNoMatch, distance, nil)
		}
	}
	// A face that shows no facial movement at all (every action signal
	// stays near its baseline: the ratios do not change when a photo is
	// moved, scaled or rotated) is a photo: still, or moved in the hand.
	if live.facialActivity() < minFacialActivity {
		if motionOf(obs).rigid < minRigid {
			return fail(ReasonStaticPhoto, distance, live.steps)
		}
		return fail(ReasonRigidMotion, distance, live.steps)
	}
	if live.reason != ReasonOK {
		return fail(live.reason, distance, live.steps)
	}
	r := &Result{Pass: true, Reason: ReasonOK, Message: reasonMessages[ReasonOK], Distance: distance, Similarity: similarity, Steps: live.steps, Cues: cues}
	if tmpl != nil {
		r.upgraded = e.upgradeTemplate(tmpl, match)
	}
	return r
}

// describedFrames are the frames that have a descriptor, in order.
func describedFrames(obs []frameObs) []frameObs {
	var d []frameObs
	for _, o := range obs {
		if o.described {
			d = append(d, o)
		}
	}
	return d
}

// Motion thresholds (eye-distance units / radians), calibrated on the
// fixtures: see docs/face-engine.md.
const (
	// minFacialActivity: photos peak at 0.47 of an action threshold, live
	// actions at 1.3 or more.
	minFacialActivity = 0.7
	// minRigid separates a still photo (0.01-0.02) from one moved in the
	// hand (0.19-0.24).
	minRigid = 0.1
	// maxIdentitySpread bounds the distance between any two frames: one
	// person turning reaches 0.48, the swaps 0.65.
	maxIdentitySpread = 0.58
	// minRestFrames is the fewest at-rest frames the match is computed on.
	minRestFrames = 3
	minFaceSide   = 64 // challenge frames, analysis pixels (long side 320)
	// minEnrolFaceSide applies to enrolment photos (long side up to 800).
	minEnrolFaceSide = 64
)

// checkFaces requires exactly one adequately sized face in every frame.
// The message is for people: which frame failed is in InputError.Frame,
// never in the text ("(frame 1)" means nothing to someone at a camera).
func checkFaces(obs []frameObs, minSide int) *InputError {
	for _, o := range obs {
		switch {
		case o.faces == 0:
			return inputError(CodeNoFace, o.index, "")
		case o.faces > 1:
			return inputError(CodeSeveralFaces, o.index, fmt.Sprintf("%d faces", o.faces))
		case min(o.box.Dx(), o.box.Dy()) < minSide:
			return inputError(CodeFaceTooSmall, o.index, "")
		}
	}
	return nil
}

// identityChange returns the largest descriptor distance between
// consecutive described frames (a swap is a jump) and between any two.
func identityChange(obs []frameObs) (jump, spread float64) {
	for i := range obs {
		if i > 0 {
			jump = math.Max(jump, Distance(obs[i-1].desc, obs[i].desc))
		}
		for j := i + 1; j < len(obs); j++ {
			spread = math.Max(spread, Distance(obs[i].desc, obs[j].desc))
		}
	}
	return jump, spread
}

// matchFrames are the described frames the template match is computed on:
// those where the face is at rest, as it was at enrolment (a smile or a
// turn moves a face's descriptor away from its template: 0.53 at rest to
// 0.64 smiling for one fixture person). When fewer than minRestFrames are
// at rest, all of them (a stricter median).
func matchFrames(described []frameObs, live liveness) []frameObs {
	var rest []frameObs
	for _, o := range described {
		if live.atRest(o.index) {
			rest = append(rest, o)
		}
	}
	if len(rest) < minRestFrames {
		return described
	}
	return rest
}

// templateDistance is the median over frames of each frame's distance to
// the nearest template sample.
func templateDistance(t *Template, obs []frameObs) float64 {
	d := make([]float64, len(obs))
	for i, o := range obs {
		d[i] = t.MinDistance(o.desc)
	}
	return median(d)
}
