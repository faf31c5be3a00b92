package faceauth

import (
	"math"
	"sort"
)

// signals are the per-frame liveness measurements from the 68 landmarks
// (0-based dlib indices). All are ratios, so they do not change when a
// photo is moved, turned in the image plane or scaled.
type signals struct {
	// ear is the mean eye aspect ratio of both eyes.
	ear float64
	// mouth is the mouth width over the outer eye-corner distance.
	mouth float64
	// yaw is (x(nose tip) - mid x(outer eye corners)) / eye-corner distance,
	// in the subject's frame: it rises when they turn to their own left.
	yaw float64
}

func signalsOf(p []point, mirrored bool) signals {
	iod := dist(p[36], p[45])
	earL := (dist(p[37], p[41]) + dist(p[38], p[40])) / (2 * dist(p[36], p[39]))
	earR := (dist(p[43], p[47]) + dist(p[44], p[46])) / (2 * dist(p[42], p[45]))
	yaw := (p[30].X - (p[36].X+p[45].X)/2) / iod
	if mirrored {
		// A mirrored frame shows the subject's left on the image's left.
		yaw = -yaw
	}
	return signals{ear: (earL + earR) / 2, mouth: dist(p[48], p[54]) / iod, yaw: yaw}
}

// LivenessParams are the action thresholds, relative to the sequence's own
// neutral baseline (the median of its first BaselineFrames frames).
type LivenessParams struct {
	BaselineFrames int
	// BlinkDrop is the relative eye-aspect-ratio drop that counts as eyes
	// closed; the eyes must reopen afterwards.
	BlinkDrop float64
	// SmileRise is the relative mouth-width increase that counts as a smile.
	SmileRise float64
	// TurnShift is the yaw-proxy change that counts as a turn.
	TurnShift float64
	// Recover is the fraction of a threshold the signal must fall back
	// under for the action to end (the face returns to neutral).
	Recover float64
	// OffAxisYaw is how far the yaw may leave the baseline while a blink or
	// smile is judged (turning the head distorts eye and mouth ratios).
	OffAxisYaw float64
}

// DefaultLivenessParams were calibrated on ../shared/liveness (see
// docs/face-engine.md).
func DefaultLivenessParams() LivenessParams {
	return LivenessParams{
		BaselineFrames: 3,
		BlinkDrop:      0.35,
		SmileRise:      0.12,
		TurnShift:      0.11,
		Recover:        0.5,
		OffAxisYaw:     0.08,
	}
}

// baseline is the component-wise median of the first frames' signals, except
// for the eyes: people blink on their own while the baseline is taken, so the
// open-eye level is the larger of that median and the sequence's upper
// quartile (eyes are open most of the time in any sequence).
func baseline(sig []signals, n int) signals {
	n = max(1, min(n, len(sig)))
	med := func(get func(signals) float64) float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = get(sig[i])
		}
		return median(v)
	}
	ears := make([]float64, len(sig))
	for i, s := range sig {
		ears[i] = s.ear
	}
	return signals{
		ear:   math.Max(med(func(s signals) float64 { return s.ear }), quantile(ears, 0.75)),
		mouth: med(func(s signals) float64 { return s.mouth }),
		yaw:   med(func(s signals) float64 { return s.yaw }),
	}
}

// quantile is the q-quantile of v (nearest rank), NaN for an empty v.
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[int(math.Round(q*float64(len(s)-1)))]
}

// activation is how strongly frame s shows action a relative to base, in
// units of the action's threshold (>= 1 means the action is under way).
func activation(a Action, s, base signals, lp LivenessParams) float64 {
	offAxis := math.Abs(s.yaw-base.yaw) > lp.OffAxisYaw
	switch a {
	case ActionBlink:
		// A smile narrows the eyes too; a blink keeps the mouth still.
		if offAxis || s.mouth/base.mouth-1 > lp.SmileRise/2 {
			return 0
		}
		return (base.ear - s.ear) / base.ear / lp.BlinkDrop
	case ActionSmile:
		if offAxis {
			return 0
		}
		return (s.mouth/base.mouth - 1) / lp.SmileRise
	case ActionTurnLeft:
		return (s.yaw - base.yaw) / lp.TurnShift
	case ActionTurnRight:
		return (base.yaw - s.yaw) / lp.TurnShift
	}
	return 0
}

// judgeSteps looks for each action, in order, as an excursion from the
// neutral baseline and back, each after the previous one ended. reason is
// "ok", "action_missing" or "wrong_order".
func judgeSteps(sig []signals, base signals, actions []Action, lp LivenessParams) (steps []StepScore, reason string) {
	reason = "ok"
	cursor := min(1, len(sig))
	for _, a := range actions {
		st := StepScore{Action: a, FirstFrame: -1, LastFrame: -1, PeakFrame: -1}
		x := findExcursion(sig, a, base, lp, cursor)
		st.Score = x.peak
		if x.start >= 0 && x.end >= 0 {
			st.Passed, st.FirstFrame, st.LastFrame, st.PeakFrame = true, x.start, x.end-1, x.peakAt
			cursor = x.end
		} else if reason == "ok" {
			reason = "action_missing"
			if y := findExcursion(sig[:cursor], a, base, lp, 1); y.start >= 0 && y.end >= 0 {
				reason = "wrong_order"
			}
		}
		steps = append(steps, st)
	}
	return steps, reason
}

// excursion is where an action was seen: the first frame where it is under
// way, the first frame after it where the signal has recovered (-1 when
// not found), and the peak activation seen and its frame.
type excursion struct {
	start, end int
	peak       float64
	peakAt     int
}

// findExcursion looks for action a at or after frame from.
func findExcursion(sig []signals, a Action, base signals, lp LivenessParams, from int) excursion {
	x := excursion{start: -1, end: -1, peakAt: -1}
	for t := from; t < len(sig); t++ {
		v := activation(a, sig[t], base, lp)
		if x.start >= 0 && v < lp.Recover {
			x.end = t
			return x
		}
		if v > x.peak || x.peakAt < 0 {
			x.peak, x.peakAt = math.Max(x.peak, v), t
		}
		if x.start < 0 && v >= 1 {
			x.start = t
		}
	}
	return x
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func sortFloats(v []float64) { sort.Float64s(v) }

// activityOf is, per frame, the strongest activation of any action
// (non-rigid facial movement in threshold units).
func activityOf(sig []signals, base signals, lp LivenessParams) []float64 {
	act := make([]float64, len(sig))
	for i, s := range sig {
		for _, a := range AllActions {
			act[i] = math.Max(act[i], activation(a, s, base, lp))
		}
	}
	return act
}

// liveness is the landmark analysis of a challenge.
type liveness struct {
	sig  []signals
	base signals // the sequence's neutral baseline
	// activity is activityOf(sig); a frame whose activity is under
	// LivenessParams.Recover shows the face at rest.
	activity []float64
	steps    []StepScore
	reason   string
}

func judgeLiveness(obs []frameObs, actions []Action, opt Options) liveness {
	lp := DefaultLivenessParams()
	sig := make([]signals, len(obs))
	for i := range obs {
		sig[i] = signalsOf(obs[i].pts, opt.Mirrored)
	}
	base := baseline(sig, lp.BaselineFrames)
	steps, reason := judgeSteps(sig, base, actions, lp)
	return liveness{sig: sig, base: base, activity: activityOf(sig, base, lp), steps: steps, reason: reason}
}

// facialActivity is the strongest activation of any action anywhere in
// the sequence.
func (l liveness) facialActivity() float64 {
	var peak float64
	for _, a := range l.activity {
		peak = math.Max(peak, a)
	}
	return peak
}

// atRest reports whether frame i shows the face at rest: every action
// signal under the fraction of its threshold at which an action ends.
func (l liveness) atRest(i int) bool {
	return l.activity[i] < DefaultLivenessParams().Recover
}
