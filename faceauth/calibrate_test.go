package faceauth

import (
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/faceidp/faceidp/internal/fixtures"
)

// analyseClip runs the engine's frame analysis on a clip (every step-th
// frame).
func analyseClip(t testing.TB, c fixtures.Clip, step int) []frameObs {
	t.Helper()
	e := testEngine(t)
	frames := fixtures.ClipFrames(t, c, step)
	lim := e.cfg.Limits
	lim.MaxFrames = 1000
	obs, err := e.analyseFrames(t.Context(), frames, lim, challengeSide, nil)
	if err != nil {
		t.Fatalf("%s: %v", c.ID, err)
	}
	return obs
}

// TestCalibrateLiveness prints the signals the liveness thresholds were
// chosen from. Run with FACEIDP_CALIBRATE=1 go test -run CalibrateLiveness -v.
func TestCalibrateLiveness(t *testing.T) {
	if os.Getenv("FACEIDP_CALIBRATE") == "" {
		t.Skip("set FACEIDP_CALIBRATE=1 to print calibration figures")
	}
	lp := DefaultLivenessParams()
	e := testEngine(t)
	for _, p := range []string{"p01", "p02", "p03", "p04", "p05", "p06", "p07", "p08"} {
		obs, err := e.analyseFrames(t.Context(), fixtures.EnrolPhotos(t, p), e.cfg.EnrolImageLimits, enrolSide, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range obs {
			if o.faces != 1 {
				t.Logf("enrol %s/%d: %d faces", p, o.index+1, o.faces)
				continue
			}
			s := signalsOf(o.pts, false)
			roll := math.Atan2(o.pts[45].Y-o.pts[36].Y, o.pts[45].X-o.pts[36].X)
			t.Logf("enrol %s/%d: %dx%d box=%d yaw=%s roll=%s bright=%s sharp=%s quality=%v", p, o.index+1, o.width, o.height, o.box.Dx(), f2(s.yaw), f2(roll), f2(o.brightness), f2(o.sharpness), enrolQuality(&o, Options{}))
		}
	}
	for _, c := range fixtures.LoadManifest(t).Clips {
		for _, step := range []int{1, 2} {
			obs := analyseClip(t, c, step)
			if err := checkFaces(obs, minFaceSide); err != nil {
				t.Logf("%-40s step %d: %v", c.ID, step, err)
				continue
			}
			live := judgeLiveness(obs, actionsOf(c), Options{})
			base := live.base
			var peaks []string
			for _, a := range AllActions {
				p := findExcursion(live.sig, a, base, lp, 1).peak
				peaks = append(peaks, string(a)[:4]+"="+f2(p))
			}
			m := motionOf(obs)
			var jump float64
			for i := 1; i < len(obs); i++ {
				jump = math.Max(jump, Distance(obs[i-1].desc, obs[i].desc))
			}
			var bright, sharp, chroma []float64
			for _, o := range obs {
				bright = append(bright, o.brightness)
				sharp = append(sharp, o.sharpness)
				chroma = append(chroma, o.pad.chroma)
			}
			rest := matchFrames(obs, live)
			own := templateDistance(enrolled(t, c.Person), rest)
			var others []string
			for _, p := range []string{"p01", "p02", "p03", "p04", "p05", "p06", "p07", "p08"} {
				if p != c.Person {
					others = append(others, p[1:]+":"+f2(templateDistance(enrolled(t, p), rest)))
				}
			}
			t.Logf("%-38s s%d n=%d %s steps=%s rigid=%s nonrigid=%s spread=%s jump=%s own=%s others=[%s] bright=%s sharp=%s chroma=%s base=%s/%s/%s",
				c.ID, step, len(obs), strings.Join(peaks, " "), live.reason, f2(m.rigid), f3(m.nonRigid), f2(func() float64 { _, s := identityChange(obs); return s }()), f2(jump), f2(own),
				strings.Join(others, " "), f2(median(bright)), f2(median(sharp)), f2(median(chroma)),
				f2(base.ear), f2(base.mouth), f2(base.yaw))
		}
	}
}

func actionsOf(c fixtures.Clip) []Action {
	switch c.ActionName() {
	case "", "neutral":
		return nil
	}
	return []Action{Action(c.ActionName())}
}

func f2(v float64) string { return strings.TrimRight(strings.TrimRight(fmtF(v, 2), "0"), ".") }
func f3(v float64) string { return fmtF(v, 3) }

func fmtF(v float64, prec int) string {
	return strconvF(v, prec)
}

var _ = sort.Float64s

func strconvF(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
