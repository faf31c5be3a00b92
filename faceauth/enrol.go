package faceauth

import (
	"context"
	"math"
)

// Enrolment quality thresholds (analysis scale).
const (
	minBrightness = 50.0 // mean luma of the face box
	minSharpness  = 20.0 // variance of the Laplacian in the face box
	// maxFrontalYaw bounds |yaw proxy| (about 20 degrees); in-plane
	// rotation (a tilted head) is harmless, go-face aligns it away.
	maxFrontalYaw   = 0.3
	enrolMaxSamples = 5
)

// Enrol checks frames captured during a live challenge (which must pass),
// then builds a template from up to five of the best frontal frames.
func (e *Engine) Enrol(ctx context.Context, actions []Action, frames [][]byte, opt Options) (*Template, *Result, error) {
	r, obs, err := e.challenge(ctx, "enrol", nil, actions, frames, opt)
	if err != nil || !r.Pass {
		return nil, r, err
	}
	return e.templateFrom(r, obs, opt)
}

// templateFrom builds the template of a passed enrolment challenge (one-shot
// or streamed) from its analysed frames; r fails when no frame is good.
func (e *Engine) templateFrom(r *Result, obs []frameObs, opt Options) (*Template, *Result, error) {
	t, ierr := buildTemplate(obs, opt, minFaceSide)
	if ierr != nil {
		r.Pass, r.Reason, r.Message = false, ierr.Code, ierr.Message
		return nil, r, nil
	}
	e.stampEmbeddingModel(t)
	return t, r, nil
}

// EnrolFromImages builds a template from photos (no liveness check). Photos
// that do not show exactly one good frontal face (one adequately sized,
// sharp, well-lit face) are left out; when none is usable the first
// photo's refusal is returned as an *InputError. It is for enrolment from
// administrator-provided photos and for tests.
func (e *Engine) EnrolFromImages(ctx context.Context, images [][]byte) (*Template, error) {
	lim := e.cfg.EnrolImageLimits
	if err := precheckFrames(images, lim); err != nil {
		return nil, err
	}
	leave, err := e.pool.enter()
	if err != nil {
		return nil, err
	}
	obs, err := e.analyseFrames(ctx, images, lim, enrolSide, nil)
	leave()
	if err != nil {
		return nil, err
	}
	t, ierr := buildTemplate(obs, Options{}, minEnrolFaceSide)
	if ierr != nil {
		return nil, ierr
	}
	e.stampEmbeddingModel(t)
	return t, nil
}

// enrolQuality refuses a frame that is too dark, blurred or not frontal.
func enrolQuality(o *frameObs, opt Options) *InputError {
	s := signalsOf(o.pts, opt.Mirrored)
	switch {
	case o.brightness < minBrightness:
		return inputError(CodeTooDark, o.index, "")
	case o.sharpness < minSharpness:
		return inputError(CodeTooBlurred, o.index, "")
	case math.Abs(s.yaw) > maxFrontalYaw:
		return inputError(CodeNotFrontal, o.index, "")
	}
	return nil
}

// buildTemplate keeps the good frames (frontal, sharp, well lit), prefers
// the sharpest, and spreads the picks over the sequence.
func buildTemplate(obs []frameObs, opt Options, minSide int) (*Template, *InputError) {
	var good []frameObs
	var firstErr *InputError
	for i := range obs {
		ierr := checkFaces(obs[i:i+1], minSide)
		if ierr == nil {
			ierr = enrolQuality(&obs[i], opt)
		}
		if ierr != nil {
			if firstErr == nil {
				firstErr = ierr
			}
			continue
		}
		good = append(good, obs[i])
	}
	if len(good) == 0 {
		if firstErr == nil {
			firstErr = inputError(CodeNoFace, -1, "")
		}
		return nil, firstErr
	}
	// Pick evenly over the good frames (in time order) so the template
	// covers the whole capture, not one instant.
	n := min(enrolMaxSamples, len(good))
	t := &Template{}
	for k := 0; k < n; k++ {
		o := good[k*len(good)/n]
		t.Descriptors = append(t.Descriptors, o.desc)
		if o.emb != nil {
			t.Embeddings = append(t.Embeddings, o.emb)
		}
	}
	return t, nil
}
