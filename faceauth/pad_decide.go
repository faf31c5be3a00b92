package faceauth

import "fmt"

// Screen-replay cue names, as recorded in Result.Cues and the audit event.
const (
	CueChromaFringes    = "chroma_fringes"
	CuePeriodicSpectrum = "periodic_spectrum"
)

// Screen-replay thresholds, chosen by the person-split calibration in
// docs/face-engine.md ("Presentation-attack detection"; the tables and the
// command that produced them are there). A cue decides when the median of
// its per-frame score over the challenge exceeds its threshold.
const (
	// maxChromaFringes bounds CueChromaFringes (mean absolute colour
	// difference between neighbouring native pixels of the face region):
	// live clips 1.22-3.44; the person halves chose 3.60 and 4.48.
	maxChromaFringes = 4.5
	// maxPeriodic bounds CuePeriodicSpectrum (log10 power ratio): live
	// clips 0.68-0.96; the person halves chose 1.16 and 1.25.
	maxPeriodic = 1.25
	// minNativeFace is the shorter side, in native pixels, the face box
	// must have for the cues to see the screen's structure; smaller faces
	// (a 320x240 capture, a face far from the camera) are refused with
	// CodeLowResolution rather than judged blind.
	minNativeFace = 128
)

// CueScore is how one presentation-attack cue judged a challenge: its
// score (median over frames), the threshold it is compared with, and
// whether it found a screen (Decided).
type CueScore struct {
	Name      string  `json:"name"`
	Score     float64 `json:"score"`
	Threshold float64 `json:"threshold"`
	Decided   bool    `json:"decided"`
}

// screenCues scores every screen-replay cue over the frames.
func screenCues(obs []frameObs) []CueScore {
	chroma := make([]float64, len(obs))
	periodic := make([]float64, len(obs))
	for i, o := range obs {
		chroma[i], periodic[i] = o.pad.chroma, o.pad.periodic
	}
	cue := func(name string, v []float64, max float64) CueScore {
		m := median(v)
		return CueScore{Name: name, Score: round3(m), Threshold: max, Decided: m > max}
	}
	return []CueScore{
		cue(CueChromaFringes, chroma, maxChromaFringes),
		cue(CuePeriodicSpectrum, periodic, maxPeriodic),
	}
}

// screenDecided reports whether any cue found a screen.
func screenDecided(cues []CueScore) bool {
	for _, c := range cues {
		if c.Decided {
			return true
		}
	}
	return false
}

// checkNativeFace refuses frames whose face is too small at native
// resolution for the screen-replay cues.
func checkNativeFace(obs []frameObs) *InputError {
	for _, o := range obs {
		if o.pad.nativeFace < minNativeFace {
			return inputError(CodeLowResolution, o.index, fmt.Sprintf("the face is %d pixels across, at least %d are needed", o.pad.nativeFace, minNativeFace))
		}
	}
	return nil
}

func round3(v float64) float64 {
	return float64(int64(v*1000+0.5)) / 1000
}
