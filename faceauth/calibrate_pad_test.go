package faceauth

import (
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/faceidp/faceidp/internal/fixtures"
	"github.com/faceidp/faceidp/internal/spoofgen"
)

// The screen-replay calibration: person-split cross-validation of the cue
// thresholds on ../shared/liveness and on screen replays generated from its
// live clips (internal/spoofgen). Run with
//
//	FACEIDP_CALIBRATE=1 go test ./faceauth/ -run CalibratePAD -v -timeout 30m
//
// docs/face-engine.md ("Presentation-attack detection") holds its tables.

// padHalves split the fixture people in two; each half holds one of the
// two fixture screen replays (p01, p05).
var padHalves = [2][]string{{"p01", "p02", "p03", "p04"}, {"p05", "p06", "p07", "p08"}}

// padSample is one clip's cue scores.
type padSample struct {
	id, person string
	// group is "live", a fixture spoof type, or "gen/<family>"
	group   string
	spoof   bool
	refused string // an InputError code when the frames were refused before the cues
	cues    map[string]float64
}

// padClipFrames is the frames a calibration clip is scored on: every 3rd
// (10 of the 30), enough for the median over frames.
const padClipStep = 3

// scorePAD analyses frames for landmarks only and scores the cues as
// decide would.
func scorePAD(t *testing.T, e *Engine, frames [][]byte) (map[string]float64, string) {
	t.Helper()
	lim := e.cfg.Limits
	lim.MaxFrames, lim.MinFrames = 1000, 1
	obs, err := e.analyseFrames(t.Context(), frames, lim, challengeSide, make([]bool, len(frames)))
	if err != nil {
		if ie, ok := err.(*InputError); ok {
			return nil, ie.Code
		}
		t.Fatal(err)
	}
	if ie := checkFaces(obs, minFaceSide); ie != nil {
		return nil, ie.Code
	}
	if ie := checkNativeFace(obs); ie != nil {
		return nil, ie.Code
	}
	out := map[string]float64{}
	for _, c := range screenCues(obs) {
		out[c.Name] = c.Score
	}
	return out, ""
}

// padSamples scores every fixture clip and every generated variant of one
// live clip per person.
func padSamples(t *testing.T) []padSample {
	e := testEngine(t)
	m := fixtures.LoadManifest(t)
	var out []padSample
	firstLive := map[string]fixtures.Clip{}
	for _, c := range m.Clips {
		if c.Kind == "spoof" && c.SpoofName() != "screen_replay" {
			continue // swaps and photos are the motion and identity rules' (and a swap has two people)
		}
		s := padSample{id: c.ID, person: c.Person, group: "live", spoof: c.Kind == "spoof"}
		if s.spoof {
			s.group = c.SpoofName()
		} else if _, ok := firstLive[c.Person]; !ok && c.ActionName() != "neutral" {
			firstLive[c.Person] = c
		}
		s.cues, s.refused = scorePAD(t, e, fixtures.ClipFrames(t, c, padClipStep))
		out = append(out, s)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for _, v := range spoofgen.Families() {
		for _, half := range padHalves {
			for _, p := range half {
				c := firstLive[p]
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer func() { <-sem; wg.Done() }()
					h := fnv.New64a()
					fmt.Fprint(h, v.Name, "/", c.ID)
					frames, err := spoofgen.Clip(fixtures.ClipFrames(t, c, padClipStep), v, h.Sum64())
					if err != nil {
						t.Error(err)
						return
					}
					s := padSample{id: v.Name + "/" + c.ID, person: p, group: "gen/" + v.Family, spoof: true}
					s.cues, s.refused = scorePAD(t, e, frames)
					mu.Lock()
					out = append(out, s)
					mu.Unlock()
				}()
			}
		}
	}
	wg.Wait()
	slices.SortStableFunc(out, func(a, b padSample) int { return strings.Compare(a.group+a.id, b.group+b.id) })
	return out
}

var padCueNames = []string{CueChromaFringes, CuePeriodicSpectrum}

// tunePAD picks each cue's threshold on the samples: halfway between the
// highest live score and the lowest score of the spoofs above it, but at
// least padLiveMargin times the highest live score, so that live clips
// keep a margin. A cue no spoof gets above the live maximum gets the
// margin alone.
func tunePAD(samples []padSample) map[string]float64 {
	th := map[string]float64{}
	for _, name := range padCueNames {
		liveMax := 0.0
		for _, s := range samples {
			if !s.spoof && s.refused == "" {
				liveMax = math.Max(liveMax, s.cues[name])
			}
		}
		floor := liveMax * padLiveMargin
		spoofMin := math.Inf(1)
		for _, s := range samples {
			if s.spoof && s.refused == "" && s.cues[name] > floor {
				spoofMin = math.Min(spoofMin, s.cues[name])
			}
		}
		th[name] = floor
		if !math.IsInf(spoofMin, 1) {
			th[name] = math.Max(floor, (liveMax+spoofMin)/2)
		}
	}
	return th
}

// padLiveMargin: a threshold is at least this multiple of the highest live
// score it was tuned on.
const padLiveMargin = 1.3

// judgePAD says whether thresholds th refuse s as a screen.
func judgePAD(s padSample, th map[string]float64) bool {
	for _, name := range padCueNames {
		if s.cues[name] > th[name] {
			return true
		}
	}
	return false
}

// padTable counts, per group, spoofs accepted and live clips refused by th
// among samples of the people in persons.
func padTable(samples []padSample, persons []string, th map[string]float64) string {
	type count struct{ n, wrong, refused int }
	counts := map[string]*count{}
	var groups []string
	for _, s := range samples {
		if !slices.Contains(persons, s.person) {
			continue
		}
		c := counts[s.group]
		if c == nil {
			c = &count{}
			counts[s.group] = c
			groups = append(groups, s.group)
		}
		c.n++
		switch {
		case s.refused != "":
			c.refused++
		case judgePAD(s, th) != s.spoof:
			c.wrong++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| group | clips | live refused as screen / spoofs accepted (of those judged) | refused before the cues (input code) |\n|---|---|---|---|\n")
	for _, g := range groups {
		c := counts[g]
		fmt.Fprintf(&b, "| %s | %d | %d/%d | %d |\n", g, c.n, c.wrong, c.n-c.refused, c.refused)
	}
	return b.String()
}

func TestCalibratePAD(t *testing.T) {
	if os.Getenv("FACEIDP_CALIBRATE") == "" {
		t.Skip("set FACEIDP_CALIBRATE=1 to run the screen-replay calibration")
	}
	samples := padSamples(t)
	for _, s := range samples {
		t.Logf("%-52s %-6s %-16s refused=%-14s chroma=%6.2f periodic=%5.2f", s.id, s.person, s.group, s.refused, s.cues[CueChromaFringes], s.cues[CuePeriodicSpectrum])
	}
	ranges := map[string][2][2]float64{}
	var order []string
	for _, s := range samples {
		if s.refused != "" {
			continue
		}
		r, ok := ranges[s.group]
		if !ok {
			order = append(order, s.group)
			r = [2][2]float64{{math.Inf(1), math.Inf(-1)}, {math.Inf(1), math.Inf(-1)}}
		}
		for i, name := range padCueNames {
			r[i][0], r[i][1] = math.Min(r[i][0], s.cues[name]), math.Max(r[i][1], s.cues[name])
		}
		ranges[s.group] = r
	}
	var rb strings.Builder
	fmt.Fprintf(&rb, "| group | %s min-max | %s min-max |\n|---|---|---|\n", CueChromaFringes, CuePeriodicSpectrum)
	for _, g := range order {
		r := ranges[g]
		fmt.Fprintf(&rb, "| %s | %.2f-%.2f | %.2f-%.2f |\n", g, r[0][0], r[0][1], r[1][0], r[1][1])
	}
	t.Logf("\n### cue scores per group, every person\n%s", rb.String())
	halfOf := func(i int) []padSample {
		var out []padSample
		for _, s := range samples {
			if slices.Contains(padHalves[i], s.person) {
				out = append(out, s)
			}
		}
		return out
	}
	for tune := range 2 {
		th := tunePAD(halfOf(tune))
		test := 1 - tune
		t.Logf("\n### tuned on %v, reported on %v: thresholds %s=%.2f %s=%.2f\n%s", padHalves[tune], padHalves[test],
			CueChromaFringes, th[CueChromaFringes], CuePeriodicSpectrum, th[CuePeriodicSpectrum], padTable(samples, padHalves[test], th))
	}
	final := map[string]float64{CueChromaFringes: maxChromaFringes, CuePeriodicSpectrum: maxPeriodic}
	t.Logf("\n### the constants in code (%s=%.2f %s=%.2f), every person\n%s", CueChromaFringes, maxChromaFringes, CuePeriodicSpectrum, maxPeriodic,
		padTable(samples, append(append([]string{}, padHalves[0]...), padHalves[1]...), final))
}
