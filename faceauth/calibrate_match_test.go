package faceauth

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	face "github.com/Kagami/go-face"

	"github.com/faceidp/faceidp/internal/fixtures"
)

// baldGuysPath is dlib's clustering example image (Debian libdlib19.1).
const baldGuysPath = "/usr/share/doc/libdlib19.1/examples/faces/bald_guys.jpg"

// confirmedFaces are the labels go-face's own tests confirm
// (../shared/faces/README.md); other photos are not used for genuine pairs.
var confirmedFaces = map[string]string{
	"jimin.jpg": "jimin", "jimin2.jpg": "jimin", "jimin4.jpg": "jimin",
	"chaeyeon.jpg": "chaeyeon", "chaeyeon3.jpg": "chaeyeon",
	"sejeong.jpg": "sejeong", "meiqi.jpg": "meiqi", "joy.jpg": "joy",
}

type labelled struct {
	label, name string
	desc        Descriptor
}

// faceDescriptors returns one descriptor per single-face photo of
// ../shared/faces, labelled by file name without its trailing digits.
// confirmedOnly keeps the confirmed labels only.
func faceDescriptors(t testing.TB) []labelled {
	t.Helper()
	e := testEngine(t)
	files, _ := filepath.Glob(filepath.Join(fixtures.SharedDir(t), "faces", "*.jpg"))
	sort.Strings(files)
	trail := regexp.MustCompile(`[0-9]*\.jpg$`)
	var out []labelled
	for _, f := range files {
		obs, err := e.analyseFrames(t.Context(), [][]byte{fixtures.ReadFile(t, f)}, e.cfg.EnrolImageLimits, enrolSide, nil)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if obs[0].faces != 1 {
			continue
		}
		base := filepath.Base(f)
		out = append(out, labelled{label: trail.ReplaceAllString(base, ""), name: base, desc: obs[0].desc})
	}
	return out
}

// baldGuys returns the descriptors of the faces in bald_guys.jpg.
func baldGuys(t testing.TB) []Descriptor {
	t.Helper()
	e := testEngine(t)
	var faces []face.Face
	err := e.withWorker(t.Context(), func(w *worker) (err error) {
		faces, err = w.rec.Recognize(fixtures.ReadFile(t, baldGuysPath))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []Descriptor
	for _, f := range faces {
		out = append(out, Descriptor(f.Descriptor))
	}
	return out
}

// clusters groups descriptors into connected components at threshold (the
// rule of dlib's clustering example, which finds the 4 actors at 0.6).
func clusters(ds []Descriptor, threshold float64) []int {
	label := make([]int, len(ds))
	for i := range label {
		label[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for label[i] != i {
			i = label[i]
		}
		return i
	}
	for i := range ds {
		for j := i + 1; j < len(ds); j++ {
			if Distance(ds[i], ds[j]) < threshold {
				label[find(i)] = find(j)
			}
		}
	}
	for i := range label {
		label[i] = find(i)
	}
	return label
}

type dist2 struct{ same, diff []float64 }

func (d dist2) report(thresholds []float64) string {
	sort.Float64s(d.same)
	sort.Float64s(d.diff)
	q := func(v []float64, p float64) float64 {
		if len(v) == 0 {
			return 0
		}
		return v[int(p*float64(len(v)-1))]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "same n=%d min/med/max %.3f/%.3f/%.3f; different n=%d min/p5/med %.3f/%.3f/%.3f\n",
		len(d.same), q(d.same, 0), q(d.same, 0.5), q(d.same, 1), len(d.diff), q(d.diff, 0), q(d.diff, 0.05), q(d.diff, 0.5))
	for _, th := range thresholds {
		var fnm, fm int
		for _, v := range d.same {
			if v > th {
				fnm++
			}
		}
		for _, v := range d.diff {
			if v <= th {
				fm++
			}
		}
		fmt.Fprintf(&b, "  threshold %.2f: FNMR %d/%d = %.1f%%, FMR %d/%d = %.1f%%\n", th, fnm, len(d.same), 100*float64(fnm)/float64(max(1, len(d.same))), fm, len(d.diff), 100*float64(fm)/float64(max(1, len(d.diff))))
	}
	return b.String()
}

// TestCalibrateMatching prints same-person and different-person distance
// distributions and error rates per data set. Run with
// FACEIDP_CALIBRATE=1 go test -run CalibrateMatching -v.
func TestCalibrateMatching(t *testing.T) {
	if os.Getenv("FACEIDP_CALIBRATE") == "" {
		t.Skip("set FACEIDP_CALIBRATE=1 to print calibration figures")
	}
	ths := []float64{0.4, 0.45, 0.5, 0.55, 0.6}

	// ../shared/faces: genuine pairs only among confirmed labels;
	// impostor pairs between different file-name labels.
	var fd dist2
	ds := faceDescriptors(t)
	for i := range ds {
		for j := i + 1; j < len(ds); j++ {
			d := Distance(ds[i].desc, ds[j].desc)
			li, ci := confirmedFaces[ds[i].name]
			lj, cj := confirmedFaces[ds[j].name]
			switch {
			case ci && cj && li == lj:
				fd.same = append(fd.same, d)
			case ds[i].label != ds[j].label:
				fd.diff = append(fd.diff, d)
			}
		}
	}
	t.Logf("../shared/faces (%d single-face photos):\n%s", len(ds), fd.report(ths))

	// bald_guys.jpg: identities from connected components at 0.6 (as
	// dlib's example); the test asserts there are exactly 4.
	bg := baldGuys(t)
	lab := clusters(bg, 0.6)
	var bd dist2
	for i := range bg {
		for j := i + 1; j < len(bg); j++ {
			if lab[i] == lab[j] {
				bd.same = append(bd.same, Distance(bg[i], bg[j]))
			} else {
				bd.diff = append(bd.diff, Distance(bg[i], bg[j]))
			}
		}
	}
	t.Logf("bald_guys.jpg (%d faces):\n%s", len(bg), bd.report(ths))

	// ../shared/liveness: each live clip (every 2nd frame, as the capture
	// page's 5 fps, every frame described) against every person's
	// enrolment template; the decision distance is Verify's: the median
	// over the at-rest frames of the distance to the nearest template
	// sample.
	var ld dist2
	persons := []string{"p01", "p02", "p03", "p04", "p05", "p06", "p07", "p08"}
	for _, c := range fixtures.LoadManifest(t).Clips {
		if c.Kind != "live" {
			continue
		}
		obs := analyseClip(t, c, 2)
		rest := matchFrames(obs, judgeLiveness(obs, actionsOf(c), Options{}))
		for _, p := range persons {
			d := templateDistance(enrolled(t, p), rest)
			if p == c.Person {
				ld.same = append(ld.same, d)
			} else {
				ld.diff = append(ld.diff, d)
			}
		}
	}
	t.Logf("../shared/liveness clips vs enrol templates:\n%s", ld.report(ths))
}
