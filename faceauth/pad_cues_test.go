package faceauth

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/faceidp/faceidp/internal/fixtures"
)

// synthetic is a 256x256 "skin" patch: smooth shading plus mild noise, and
// optionally a screen's RGB stripe grid of the given pitch (camera pixels
// per screen pixel) at strength grid.
func synthetic(pitch, grid float64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	rng := rand.New(rand.NewPCG(1, 2))
	for y := range 256 {
		for x := range 256 {
			base := [3]float64{190, 140, 120}
			shade := 0.8 + 0.2*math.Sin(float64(x)/40)*math.Cos(float64(y)/55)
			var stripe [3]float64
			if grid > 0 {
				u := float64(x) / pitch
				c := int(3*(u-math.Floor(u))) % 3
				stripe[c] = 3
			}
			p := img.Pix[y*img.Stride+x*4:]
			// sensor noise as it survives JPEG's chroma subsampling: in luma
			noise := rng.NormFloat64() * 2
			for c := range 3 {
				v := base[c] * shade
				if grid > 0 {
					v *= (1 - grid) + grid*stripe[c]
				}
				p[c] = uint8(math.Max(0, math.Min(255, v+noise)))
			}
			p[3] = 255
		}
	}
	return img
}

// Both cues stay low on a smooth, noisy face-like patch and rise on the
// same patch behind a screen's sub-pixel grid, at pitches the camera
// resolves and at one it aliases into moire.
func TestPADCuesSeeAScreenGrid(t *testing.T) {
	box := image.Rect(32, 32, 224, 224)
	plain := measurePAD(synthetic(0, 0), box, 256, nil)
	if plain.chroma > maxChromaFringes || plain.periodic > maxPeriodic {
		t.Fatalf("plain patch scored as a screen: %+v", plain)
	}
	for _, pitch := range []float64{0.45, 1.3, 2.5} {
		s := measurePAD(synthetic(pitch, 0.3), box, 256, nil)
		if s.chroma <= maxChromaFringes && s.periodic <= maxPeriodic {
			t.Errorf("pitch %.2f: grid not seen: %+v (plain %+v)", pitch, s, plain)
		}
	}
	// measured at native resolution: a box found on a half-size analysis
	// copy is scaled up, not the image down
	if got := measurePAD(synthetic(0, 0), image.Rect(16, 16, 112, 112), 128, nil).nativeFace; got != 192 {
		t.Errorf("native face side = %d, want 192", got)
	}
}

// The fast 4:2:0 halving gives what converting and area-averaging gives,
// to within rounding and clipping, on a camera frame.
func TestAnalysisCopyFastPathMatchesDownscale(t *testing.T) {
	b := fixtures.ReadFile(t, filepath.Join(fixtures.SharedDir(t), "liveness", "p01_blink", "frame_000.jpg"))
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := img.(*image.YCbCr); !ok {
		t.Fatalf("fixture decodes as %T, want *image.YCbCr", img)
	}
	fast, slow := analysisCopy(img, challengeSide, nil), downscale(toRGBA(img), challengeSide)
	if fast.Rect != slow.Rect {
		t.Fatalf("sizes %v and %v", fast.Rect, slow.Rect)
	}
	// They differ only where converting a pixel clips a channel at 0 or
	// 255 before the averaging.
	var sum int
	for i := range fast.Pix {
		sum += absInt(int(fast.Pix[i]) - int(slow.Pix[i]))
	}
	if mean := float64(sum) / float64(len(fast.Pix)); mean > 0.6 {
		t.Fatalf("fast path differs by %.2f levels on average", mean)
	}
}
