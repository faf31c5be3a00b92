package faceauth

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"testing"

	"github.com/faceidp/faceidp/internal/fixtures"
)

// A similarity transform is recovered exactly from points it moved, and
// its inverse undoes it.
func TestEstimateSimilarityRecoversTransform(t *testing.T) {
	want := similarity{a: 0.8 * math.Cos(0.3), b: 0.8 * math.Sin(0.3), tx: -12.5, ty: 40}
	src := []point{{10, 20}, {60, 22}, {35, 50}, {15, 80}, {55, 78}}
	dst := make([]point, len(src))
	for i, p := range src {
		dst[i] = want.apply(p)
	}
	got, err := estimateSimilarity(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []float64{got.a - want.a, got.b - want.b, got.tx - want.tx, got.ty - want.ty} {
		if math.Abs(d) > 1e-9 {
			t.Fatalf("estimated %+v, want %+v", got, want)
		}
	}
	back := got.inverse().apply(got.apply(point{3, -7}))
	if math.Abs(back.X-3) > 1e-9 || math.Abs(back.Y+7) > 1e-9 {
		t.Errorf("inverse(apply(p)) = %v", back)
	}
	if _, err := estimateSimilarity([]point{{1, 1}, {1, 1}}, []point{{0, 0}, {5, 5}}); err == nil {
		t.Error("collapsed points accepted")
	}
}

// Bilinear sampling interpolates between pixels and is black outside.
func TestSampleBilinear(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 2, 1))
	copy(img.Pix, []uint8{0, 100, 200, 255, 100, 200, 0, 255})
	var px [3]uint8
	sampleBilinear(img, 0.5, 0, px[:])
	if px != [3]uint8{50, 150, 100} {
		t.Errorf("half way = %v", px)
	}
	sampleBilinear(img, -5, 0, px[:])
	if px != [3]uint8{} {
		t.Errorf("outside = %v, want black", px)
	}
}

// The alignment on real photos: the five points taken from dlib's 68
// landmarks fit the ArcFace template (a least-squares similarity leaves
// small residuals on a near-frontal face), and the warp really moves the
// face there: dlib finds the face again in a padded warp, with its eye
// centres, nose tip and mouth corners within 2.5 px (at 112x112) of where
// the transform put them.
func TestAlignmentLandsOnTheTemplate(t *testing.T) {
	e := testEngine(t)
	var photos [][]byte
	var names []string
	for _, p := range []string{"p01", "p03", "p05", "p08"} {
		for k, ph := range fixtures.EnrolPhotos(t, p) {
			photos = append(photos, ph)
			names = append(names, fmt.Sprintf("%s-%d", p, k+1))
		}
	}
	obs, err := e.analyseFrames(t.Context(), photos, e.cfg.EnrolImageLimits, enrolSide, nil)
	if err != nil {
		t.Fatal(err)
	}
	const (
		size = 112
		// The warp is checked on a 3x canvas with the template scaled by 2
		// in its middle, so that dlib's detector sees the whole head.
		canvas = 3 * size
		scale  = 2.0
		offset = (canvas - scale*size) / 2
	)
	checked := 0
	defer func() {
		if checked < 4 {
			t.Errorf("only %d photos with one face checked", checked)
		}
	}()
	for i, o := range obs {
		if o.faces != 1 {
			continue // enrolment leaves such photos out too
		}
		checked++
		img := decodeRGBA(t, photos[i], enrolSide)
		five, err := fivePoints(o.pts)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := arcfaceTemplate(size)
		fwd, err := estimateSimilarity(five[:], tmpl[:])
		if err != nil {
			t.Fatal(err)
		}
		for k := range five {
			if d := dist(fwd.apply(five[k]), tmpl[k]); d > fitTolerance[k] {
				t.Errorf("%s: point %d lands %.1f px from the 112x112 template (tolerance %.0f)", names[i], k, d, fitTolerance[k])
			}
		}
		rgb, _, err := alignFace(img, o.pts, size)
		if err != nil || len(rgb) != size*size*3 {
			t.Fatalf("%s: alignFace = %d bytes, %v", names[i], len(rgb), err)
		}

		big := similarity{a: fwd.a * scale, b: fwd.b * scale, tx: fwd.tx*scale + offset, ty: fwd.ty*scale + offset}
		warped := rgbToJPEG(t, warpSimilarity(img, big, canvas), canvas)
		n, faces, err := func() (n int, f []faceAt, err error) {
			err = e.withWorker(t.Context(), func(w *worker) error {
				var gf []faceAt
				cnt, ff, err := w.lm.detect(warped)
				for _, x := range ff {
					gf = append(gf, faceAt{pts: pointsOf(x.Shapes)})
				}
				n, f = cnt, gf
				return err
			})
			return
		}()
		if err != nil || n != 1 {
			t.Fatalf("%s: dlib finds %d faces in the warped face (%v)", names[i], n, err)
		}
		got, _ := fivePoints(faces[0].pts)
		for k := range got {
			want := big.apply(five[k])
			if d := dist(got[k], want) / scale; d > 2.5 {
				t.Errorf("%s: dlib finds warped point %d %.1f px (112x112 scale) from where the transform put it", names[i], k, d)
			}
		}
	}
}

type faceAt struct{ pts []point }

// fitTolerance is how far (112x112 pixels) each of the five points of a
// photo of the enrolment set may land from the template after the
// least-squares fit: the eyes fix the fit; the nose tip and mouth corners
// move with the head's yaw, pitch and expression.
var fitTolerance = [5]float64{5, 5, 10, 7, 7}

// decodeRGBA decodes a JPEG and downscales it as the engine does.
func decodeRGBA(t testing.TB, b []byte, side int) *image.RGBA {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return downscale(toRGBA(img), side)
}

func rgbToJPEG(t testing.TB, rgb []uint8, size int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for i := 0; i < size*size; i++ {
		copy(img.Pix[i*4:i*4+3], rgb[i*3:i*3+3])
		img.Pix[i*4+3] = 255
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A known photo's embedding is stable: the same frame gives the same
// embedding on every worker, and a re-encoded, slightly shifted copy of the
// photo stays very close to it.
func TestONNXEmbeddingIsStable(t *testing.T) {
	photo := fixtures.EnrolPhotos(t, "p02")[0]
	a := describeBoth(t, photo)
	b := describeBoth(t, photo)
	if len(a) != 1 || len(b) != 1 || len(a[0].emb) != DefaultONNXOutputDim {
		t.Fatalf("faces %d/%d, embedding length %d", len(a), len(b), len(a[0].emb))
	}
	if s := Similarity(a[0].emb, b[0].emb); s < 0.99999 {
		t.Errorf("same photo twice: similarity %.6f", s)
	}
	var n float64
	for _, x := range a[0].emb {
		n += float64(x) * float64(x)
	}
	if math.Abs(n-1) > 1e-4 {
		t.Errorf("embedding norm² %.6f, want 1", n)
	}
	// Re-encoded at quality 70 and shifted by 7 pixels.
	img := decodeRGBA(t, photo, 4096)
	shifted := image.NewRGBA(img.Rect)
	for y := 0; y < img.Rect.Dy(); y++ {
		for x := 7; x < img.Rect.Dx(); x++ {
			copy(shifted.Pix[shifted.PixOffset(x, y):shifted.PixOffset(x, y)+4], img.Pix[img.PixOffset(x-7, y):])
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, shifted, &jpeg.Options{Quality: 70}); err != nil {
		t.Fatal(err)
	}
	c := describeBoth(t, buf.Bytes())
	if len(c) != 1 {
		t.Fatalf("%d faces in the shifted copy", len(c))
	}
	s := Similarity(a[0].emb, c[0].emb)
	t.Logf("shifted, re-encoded copy: similarity %.4f, dlib distance %.4f", s, Distance(a[0].desc, c[0].desc))
	if s < 0.9 {
		t.Errorf("shifted, re-encoded copy: similarity %.4f, want ≥ 0.9", s)
	}
}
